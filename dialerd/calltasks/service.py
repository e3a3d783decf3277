"""One calltask import, from a parsed request to the answer the API gives.

Used by the synchronous endpoint and by the worker of async imports, so that both answer alike.
The caller owns the transaction: an import is all-or-nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from dialerd.api.errors import CalltaskError
from dialerd.calltasks.validate import Plan, Setup, Task, check_request, lookup_keys, validate
from dialerd.store import calltasks as store

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)


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
    try:
        setup = await load_setup(conn, client_id, body)
        # ~1 s of CPU for 100,000 tasks: in a thread, so that the event loop keeps serving.
        plan = await asyncio.to_thread(validate, body, setup)
    except CalltaskError as exc:
        log.info("calltask_import_refused", client_id=client_id, status_code=exc.status_code)
        return Answer(exc.http_status, exc.body())
    to_write = plan.to_write()
    written = (
        await store.upsert(
            conn,
            campaign_id=plan.campaign_id,
            system_code=plan.system_code,
            max_attempts=plan.max_attempts,
            min_call_interval_h=plan.min_call_interval_h,
            tasks=to_write,
        )
        if to_write
        else {}
    )
    created = sum(w.created for w in written.values())
    log.info(
        "calltask_import_written",
        client_id=client_id,
        campaign_id=plan.campaign_id,
        system_code=plan.system_code,
        created=created,
        updated=len(written) - created,
        task_errors=len(plan.errors),
    )
    return Answer(200, _result(plan, written, return_tasks))


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
