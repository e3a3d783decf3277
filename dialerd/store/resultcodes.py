"""Result codes and recorded results in the store, through the named queries of
resultcodes.sql: a campaign's codes as ``dialerd.domain.ResultCode``, the attempt a result is
recorded for with its contact, and the writes of a result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from dialerd.domain import (
    Contact,
    ContactState,
    ResultCode,
    ResultCodeType,
    ResultUpdate,
)
from dialerd.store.slots import slots_of
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

COLUMNS = ("name", "type_id", "retry_minutes", "position", "active")
"""The settable columns, in the parameter order of result_code_insert and _update."""


def _code(row: asyncpg.Record) -> ResultCode:
    return ResultCode(
        id=row["id"],
        campaign_id=row["campaign_id"],
        name=row["name"],
        type=ResultCodeType(row["type_id"]),
        retry_minutes=row["retry_minutes"],
        position=row["position"],
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _params(values: Mapping[str, Any]) -> list[Any]:
    return [values[column] for column in COLUMNS]


async def codes(conn: Conn, campaign_id: int) -> list[ResultCode]:
    return [_code(row) for row in await conn.fetch(q("result_codes"), campaign_id)]


async def code(conn: Conn, client_id: int, code_id: int) -> ResultCode | None:
    """The client's result code (of any of its campaigns)."""
    row = await conn.fetchrow(q("result_code"), code_id, client_id)
    return None if row is None else _code(row)


async def copy(conn: Conn, from_id: int, to_id: int) -> int:
    """Campaign ``to_id`` gets a copy of every result code of ``from_id``; how many."""
    return int(await conn.fetchval(q("result_codes_copy"), from_id, to_id))


async def insert(conn: Conn, campaign_id: int, values: Mapping[str, Any]) -> ResultCode:
    """Raises asyncpg.UniqueViolationError for a name the campaign has already."""
    row = await conn.fetchrow(q("result_code_insert"), campaign_id, *_params(values))
    assert row is not None  # INSERT … RETURNING
    return _code(row)


async def update(
    conn: Conn, campaign_id: int, code_id: int, values: Mapping[str, Any]
) -> ResultCode | None:
    """None if the campaign has no such code; raises asyncpg.UniqueViolationError."""
    row = await conn.fetchrow(q("result_code_update"), code_id, campaign_id, *_params(values))
    return None if row is None else _code(row)


async def delete(conn: Conn, campaign_id: int, code_id: int) -> bool:
    """Whether it was deleted; raises asyncpg.ForeignKeyViolationError for a code recorded
    for an attempt."""
    return await conn.fetchval(q("result_code_delete"), code_id, campaign_id) is not None


@dataclass(frozen=True)
class AttemptForResult:
    """An attempt a result is to be recorded for, with its contact (locked)."""

    attempt_id: int
    campaign_id: int
    closed: bool
    recorded: bool  # it has a result already
    last: bool  # its contact's latest attempt
    contact: Contact
    slot: int | None  # the attempt's number on the contact (0-based); None if no longer there
    now: datetime  # the database's clock


async def attempt_for_result(
    conn: Conn, client_id: int, attempt_id: int
) -> AttemptForResult | None:
    """The client's attempt, its contact locked for the rest of the transaction."""
    if await conn.fetchval(q("attempt_lock_contact"), attempt_id, client_id) is None:
        return None
    row = await conn.fetchrow(q("attempt_for_result"), attempt_id, client_id)
    if row is None:
        return None
    slots = slots_of(row)
    index = row["phone_number_offset"] - 1
    on_contact = 0 <= index < len(slots) and slots[index].number == row["phone_number"]
    return AttemptForResult(
        attempt_id=row["attempt_id"],
        campaign_id=row["campaign_id"],
        closed=row["status"] == "closed",
        recorded=row["recorded_code_id"] is not None,
        last=row["last"],
        contact=Contact(
            id=row["id"],
            slots=slots,
            state=ContactState(row["state"]),
            attempts=row["attempts"],
            max_attempts=row["max_attempts"],
            min_call_interval_h=row["min_call_interval_h"],
            next_number=row["next_number"],
        ),
        slot=index if on_contact else None,
        now=row["now"],
    )


async def write_result(
    conn: Conn,
    attempt_id: int,
    code: ResultCode,
    user_id: int,
    contact_id: int,
    update: ResultUpdate,
) -> None:
    """The result on the attempt's history row and its contact moved on (in the caller's
    transaction, with the contact locked by attempt_for_result). Raises
    asyncpg.UniqueViolationError when the contact would be a second open call task of its
    calling system and customer in the campaign."""
    await conn.execute(q("record_attempt_result"), attempt_id, code.id, int(code.type), user_id)
    await conn.execute(
        q("contact_after_result"),
        contact_id,
        [s.invalid for s in update.slots],
        update.next_number,
        update.state.value,
        update.dt_next_try,
        code.id,
        update.callback_at,
        update.callback_user_id,
    )


@dataclass(frozen=True)
class Callback:
    """A callback an agent promised, due now."""

    contact_id: int
    name: str
    number: str | None  # the number to call (the one that reached the callee)
    callback_at: datetime


async def next_callback_for_agent(conn: Conn, campaign_id: int, user_id: int) -> Callback | None:
    row = await conn.fetchrow(q("next_callback_for_agent"), campaign_id, user_id)
    if row is None:
        return None
    numbers = row["phone_numbers"]
    return Callback(row["id"], row["name"], numbers[row["next_number"]], row["callback_at"])
