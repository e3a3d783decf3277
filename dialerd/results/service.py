"""Recording a result for one attempt, and an agent's next callback: the services the agent
workspace calls. Every refusal is a ResultError whose message says why; nothing is written
then."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog

from dialerd.dialer.results import ResultRefused, after_result
from dialerd.domain import ResultChoice, ResultCode, ResultUpdate
from dialerd.store import resultcodes
from dialerd.store.resultcodes import Callback

log = structlog.get_logger(__name__)


class ResultError(Exception):
    """A result that cannot be recorded; the message says why."""


class ResultRejected(ResultError):
    """Bad input: a code of another campaign or inactive, a callback time missing or past, a
    wrong number with no number."""


class ResultNotFound(ResultError):
    """No such attempt or result code for this client."""


class ResultConflict(ResultError):
    """The attempt is not in a state to take a result (in progress, has one, superseded), or
    the contact cannot be reopened."""


@dataclass(frozen=True)
class RecordedResult:
    attempt_id: int
    contact_id: int
    code: ResultCode
    update: ResultUpdate


async def record_result(
    pool: asyncpg.Pool,
    client_id: int,
    attempt_id: int,
    code_id: int,
    user_id: int,
    choice: ResultChoice | None = None,
) -> RecordedResult:
    """Records result code ``code_id`` for the client's attempt ``attempt_id`` by the agent
    ``user_id`` (users.id), with the agent's ``choice`` for a callback, and moves the contact
    on by it: the history row and the contact in one transaction. The attempt must be closed,
    without a result, and its contact's last."""
    choice = choice or ResultChoice()
    async with pool.acquire() as conn, conn.transaction():
        attempt = await resultcodes.attempt_for_result(conn, client_id, attempt_id)
        if attempt is None:
            raise ResultNotFound(f"no attempt with ID {attempt_id}")
        code = await resultcodes.code(conn, client_id, code_id)
        if code is None:
            raise ResultNotFound(f"no result code with ID {code_id}")
        if code.campaign_id != attempt.campaign_id:
            raise ResultRejected(
                f"result code {code_id} is not one of campaign {attempt.campaign_id}'s"
            )
        if not code.active:
            raise ResultRejected(f"result code {code_id} is not active")
        if not attempt.closed:
            raise ResultConflict(f"attempt {attempt_id} is still in progress")
        if attempt.recorded:
            raise ResultConflict(f"attempt {attempt_id} has a result already")
        if not attempt.last:
            raise ResultConflict(
                f"attempt {attempt_id} is not its contact's last: a later call has moved it on"
            )
        try:
            update = after_result(
                attempt.contact,
                slot=attempt.slot,
                code=code,
                choice=choice,
                user_id=user_id,
                now=attempt.now,
            )
        except ResultRefused as exc:
            raise ResultRejected(str(exc)) from None
        try:
            await resultcodes.write_result(
                conn, attempt_id, code, user_id, attempt.contact.id, update
            )
        except asyncpg.UniqueViolationError:
            raise ResultConflict(
                "the contact cannot be reopened: another open call task of the same system "
                "and customer exists in this campaign"
            ) from None
    log.info(
        "result_recorded",
        client_id=client_id,
        attempt_id=attempt_id,
        contact_id=attempt.contact.id,
        code_id=code.id,
        type=int(code.type),
        user_id=user_id,
        callback_at=update.callback_at.isoformat() if update.callback_at else None,
    )
    return RecordedResult(attempt_id, attempt.contact.id, code, update)


async def next_callback_for_agent(
    pool: asyncpg.Pool, campaign_id: int, user_id: int
) -> Callback | None:
    """The earliest callback of the campaign the agent promised whose time has come; the
    dialer leaves it to them for the campaign's callback grace, then anyone may make it."""
    async with pool.acquire() as conn:
        return await resultcodes.next_callback_for_agent(conn, campaign_id, user_id)
