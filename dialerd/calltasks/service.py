"""One calltask import, from a parsed request to the answer the API gives.

Used by the synchronous endpoint and by the worker of async imports, so that both answer alike.
The caller owns the transaction: an import is all-or-nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from dialerd.api.errors import CalltaskError
from dialerd.calltasks.validate import (
    Plan,
    Setup,
    Task,
    TaskChecker,
    check_request,
    latest_per_key,
    lookup_keys,
    request_error,
)
from dialerd.store import calltasks as store

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)

CHUNK = 10_000
"""Tasks checked (in a thread) while the previous chunk is written: Python and Postgres then
work at the same time, on the two cores of the machine."""


@dataclass(frozen=True, slots=True)
class Answer:
    http_status: int
    body: dict[str, Any]


async def load_setup(conn: Conn, client_id: int, body: dict[str, Any]) -> Setup:
    system, call = lookup_keys(body)
    return Setup(
        system_known=system is not None and await store.system_known(conn, system),
        campaign=await store.campaign(conn, call, client_id) if call is not None else None,
        info_fields=await store.info_field_ids(conn),
    )


async def precheck(conn: Conn, client_id: int, body: dict[str, Any]) -> None:
    """The request-level checks that need no look into the tasks (before accepting async)."""
    check_request(body, await load_setup(conn, client_id, body))


async def import_calltasks(
    conn: Conn, client_id: int, body: dict[str, Any], *, return_tasks: bool
) -> Answer:
    """Validates and writes; a request-level error is an answer too (nothing written then)."""
    started = time.perf_counter()
    try:
        setup = await load_setup(conn, client_id, body)
        checker = TaskChecker(setup)
        error = request_error(body, setup)
        if error is not None:
            # A malformed task (code 2) comes before it in the table: look through the tasks.
            raise await asyncio.to_thread(checker.malformed_task, body) or error
        async with conn.transaction():  # a savepoint: an error found in a late chunk undoes all
            written = await _check_and_write(conn, checker, body)
    except CalltaskError as exc:
        log.info("calltask_import_refused", client_id=client_id, status_code=exc.status_code)
        return Answer(exc.http_status, exc.body())
    plan = checker.plan(body)
    created = sum(w.created for w in written.values())
    log.info(
        "calltask_import_written",
        client_id=client_id,
        campaign_id=plan.campaign_id,
        system_code=plan.system_code,
        created=created,
        updated=len({w.id for w in written.values()}) - created,
        task_errors=len(plan.errors),
        ms=round((time.perf_counter() - started) * 1000),
    )
    return Answer(200, _result(plan, written, return_tasks))


async def _check_and_write(
    conn: Conn, checker: TaskChecker, body: dict[str, Any]
) -> dict[int, store.Written]:
    """Checks the tasks chunk by chunk in a thread, writing each chunk while the next is checked.

    Of two tasks with one extCustId in different chunks, the later one updates the row the
    earlier one created, so the later one wins as it does within a chunk."""
    plan = checker.plan(body)
    raw_tasks: list[Any] = body["callTasks"]
    await store.lock_import(conn, plan.campaign_id, plan.system_code)
    written: dict[int, store.Written] = {}

    async def write(tasks: list[Task]) -> None:
        if tasks:
            written.update(
                await store.upsert(
                    conn,
                    campaign_id=plan.campaign_id,
                    system_code=plan.system_code,
                    max_attempts=plan.max_attempts,
                    min_call_interval_h=plan.min_call_interval_h,
                    tasks=tasks,
                )
            )

    writing: asyncio.Task[None] | None = None
    try:
        for start in range(0, len(raw_tasks), CHUNK):
            valid = await asyncio.to_thread(checker.check_range, raw_tasks, start, start + CHUNK)
            if writing is not None:
                await writing
            writing = asyncio.create_task(write(latest_per_key(valid)))
        if writing is not None:
            await writing
    finally:
        if writing is not None:  # the connection is busy until the write ends, even on error
            await asyncio.gather(writing, return_exceptions=True)
    unknown = checker.unknown_fields_error()
    if unknown is not None:
        raise unknown
    # "created" means: by this request, also when a later chunk updated the row.
    created_ids = {w.id for w in written.values() if w.created}
    return {i: store.Written(w.id, w.id in created_ids) for i, w in written.items()}


def _result(plan: Plan, written: dict[int, store.Written], return_tasks: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"callTaskErrors": [e.body() for e in plan.errors]}
    if return_tasks:
        winner: dict[str | None, Task] = {t.ext_cust_id: t for t in plan.tasks if t.ext_cust_id}
        body["callTasks"] = [
            _task_body(task.index, winner.get(task.ext_cust_id, task), written)
            for task in plan.tasks
        ]
    return body


def _task_body(index: int, stored: Task, written: dict[int, store.Written]) -> dict[str, Any]:
    """A task as stored; an earlier task with a later one's extCustId shows the later one."""
    row = written[stored.index]
    return {
        "callTaskIndex": index,
        "callTaskId": row.id,
        "created": row.created,
        "callReceiverName": stored.name,
        "callNumberList": stored.numbers,
        "extCustId": stored.ext_cust_id,
        "systemLookupCode": stored.system_lookup_code,
        "properties": [{"emprId": int(k), "value": v} for k, v in stored.properties.items()],
    }
