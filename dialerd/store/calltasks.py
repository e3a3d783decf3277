"""Call tasks and import jobs in the store, through the named queries of calltasks.sql."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import asyncpg
import orjson

from dialerd.calltask import Task
from dialerd.domain import MAX_PHONE_NUMBERS, NumberSlot
from dialerd.store.slots import columns
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn


async def lock_import(conn: Conn, campaign_id: int, system_code: str) -> None:
    """One import at a time per campaign and calling system, until the transaction ends: two
    imports re-sending the same customers wait for each other instead of deadlocking."""
    await conn.execute(q("calltask_import_lock"), campaign_id, system_code)


async def lock_parents(conn: Conn, campaign_id: int, system_code: str) -> tuple[bool, bool]:
    """Keeps the campaign and the calling system from being deleted until the transaction
    ends (contacts have no foreign keys to them: migration 0005); whether each still exists."""
    row = await conn.fetchrow(q("calltask_lock_parents"), campaign_id, system_code)
    assert row is not None
    return bool(row["campaign"]), bool(row["system"])


async def system_known(conn: Conn, code: str) -> bool:
    known: bool = await conn.fetchval(q("calltask_system_known"), code)
    return known


async def info_field_ids(conn: Conn) -> frozenset[int]:
    return frozenset(await conn.fetchval(q("calltask_info_field_ids")))


class Written(NamedTuple):  # a tuple: 100,000 of them are made per large import
    id: int
    created: bool  # False: an open call task with the same extCustId was updated


@dataclass(frozen=True, slots=True)
class Target:
    """Where an import writes: one campaign, one calling system, the request's attempt rules."""

    campaign_id: int
    system_code: str
    max_attempts: int
    min_call_interval_h: int


async def new_ids(conn: Conn, count: int) -> list[int]:
    """``count`` fresh contact ids: an import knows which task becomes which row."""
    if count == 0:
        return []
    ids: list[int] = await conn.fetchval(q("calltask_new_ids"), count)
    return ids


async def has_open_keys(conn: Conn, to: Target) -> bool:
    found: bool = await conn.fetchval(q("calltask_has_open_keys"), to.campaign_id, to.system_code)
    return found


async def open_ids(conn: Conn, to: Target, keys: list[str]) -> dict[str | None, int]:
    """The ids of the open call tasks with these extCustIds."""
    if not keys:
        return {}
    found = await conn.fetchrow(q("calltask_open_ids"), to.campaign_id, to.system_code, keys)
    return _ids_by_ext(found)


async def copy_new(conn: Conn, rows: bytes) -> None:
    """Adds new call tasks given as rows of COPY's text format (``CopyRows``), the fastest way
    into Postgres. A unique violation means one of them has an open call task after all."""
    await conn.copy_to_table("contacts", source=_once(rows), columns=CopyRows.COLUMNS)


async def upsert(
    conn: Conn,
    to: Target,
    tasks: Sequence[Task],
    ids: Sequence[int],
    rows: bytes,
    known: Mapping[str | None, int] | None = None,
) -> dict[int, Written]:
    """Writes tasks whose extCustIds are unique among them, given also as rows of COPY's text
    format (``CopyRows``, each with its id from ``ids``): a task becomes that row, or updates
    the open call task with its extCustId (``known``: the ids of such call tasks already looked
    up). What became of each task, by task index."""
    await conn.execute(q("calltask_staging"))
    await conn.copy_to_table("calltask_staging", source=_once(rows), columns=CopyRows.COLUMNS)
    returned = await conn.fetchrow(q("calltask_upsert"))
    # A task that changes nothing is not returned: its id is known, or looked up.
    by_ext = dict(known or {}) | _ids_by_ext(returned)
    unchanged = [t.ext_cust_id for t in tasks if t.ext_cust_id and t.ext_cust_id not in by_ext]
    by_ext.update(await open_ids(conn, to, unchanged))
    written = {}
    for task, new_id in zip(tasks, ids, strict=True):
        row_id = new_id if task.ext_cust_id is None else by_ext[task.ext_cust_id]
        written[task.index] = Written(row_id, row_id == new_id)
    return written


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _copy_text(value: str | None) -> str:
    """A value in COPY's text format: NULL as \\N, and backslash, tab, newline, CR escaped."""
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def _copy_array(values: Sequence[int | bool | None]) -> str:
    """An array of ints, booleans or NULLs in COPY's text format."""

    def item(v: int | bool | None) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "t" if v else "f"
        return str(v)

    return "{" + ",".join(map(item, values)) + "}"


class CopyRows:
    """New call tasks as rows of COPY's text format, one line each: cheap to make in Python and
    quick for Postgres to parse."""

    COLUMNS: ClassVar[list[str]] = [
        "id", "name", "user_data", "ext_cust_id", "system_lookup_code", "properties",
        "phone_numbers", "campaign_id", "system_code", "max_attempts", "min_call_interval_h",
        "number_tries", "number_last_cause", "number_end_reason", "number_invalid",
    ]  # fmt: skip

    def __init__(self, to: Target) -> None:
        self._constant = "\t".join(
            (
                str(to.campaign_id),
                _copy_text(to.system_code),
                str(to.max_attempts),
                str(to.min_call_interval_h),
            )
        )
        # Fresh per-number state, by the number of numbers.
        self._state = [
            "\t".join(_copy_array(a) for a in columns([NumberSlot(None)] * k)[1:])
            for k in range(MAX_PHONE_NUMBERS + 1)
        ]

    def line(self, task: Task, row_id: int) -> str:
        ext = _copy_text(task.ext_cust_id)
        properties = orjson.dumps(task.properties).decode() if task.properties else "{}"
        return (
            f"{row_id}\t{_copy_text(task.name)}\t{ext}\t{ext}\t"
            f"{_copy_text(task.system_lookup_code)}\t{_copy_text(properties)}\t"
            f"{{{','.join(task.numbers)}}}\t{self._constant}\t{self._state[len(task.numbers)]}\n"
        )


def _ids_by_ext(row: asyncpg.Record | None) -> dict[str | None, int]:
    assert row is not None  # an aggregate always gives a row
    return dict(zip(row["ext_cust_ids"] or [], row["ids"] or [], strict=True))


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID
    client_id: int
    return_tasks: bool
    request: dict[str, Any]
    starts: int  # how often a worker started it before, interrupted each time


async def insert_job(
    conn: Conn, client_id: int, return_tasks: bool, request: dict[str, Any]
) -> uuid.UUID:
    job_id = uuid.uuid4()
    await conn.execute(q("calltask_job_insert"), job_id, client_id, return_tasks, request)
    return job_id


async def claim_job(conn: Conn) -> Job | None:
    """The oldest queued job, locked for this transaction; None if there is none free."""
    row = await conn.fetchrow(q("calltask_job_claim"))
    if row is None:
        return None
    return Job(row["id"], row["client_id"], row["return_tasks"], row["request"], row["starts"])


async def count_start(conn: Conn, job_id: uuid.UUID) -> None:
    """Records that a worker starts ``job_id``; ``conn`` is not the import's own connection."""
    await conn.execute(q("calltask_job_start"), job_id)


async def finish_job(
    conn: Conn, job_id: uuid.UUID, http_status: int, result: dict[str, Any]
) -> None:
    status = "done" if http_status == 200 else "failed"
    await conn.execute(q("calltask_job_finish"), job_id, status, http_status, result)


async def get_job(conn: Conn, job_id: uuid.UUID, client_id: int) -> tuple[str, int | None, Any]:
    """(status, HTTP status, result) of a job of the client; status "" if there is none."""
    row = await conn.fetchrow(q("calltask_job_get"), job_id, client_id)
    if row is None:
        return "", None, None
    return row["status"], row["http_status"], row["result"]
