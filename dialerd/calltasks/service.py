"""One calltask import, from a parsed request to the answer the API gives.

Used by the synchronous endpoint and by the worker of async imports, so that both answer alike.
The caller owns the transaction: an import is all-or-nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from dialerd import metrics
from dialerd.calltask import Task
from dialerd.calltasks import errors as codes
from dialerd.calltasks.errors import CalltaskError
from dialerd.calltasks.schema import (
    CallTaskError,
    CalltaskImportResult,
    ImportedCallTask,
    StoredProperty,
)
from dialerd.calltasks.validate import (
    Plan,
    Setup,
    TaskChecker,
    check_request,
    latest_per_key,
    lookup_keys,
    request_error,
)
from dialerd.store import calltasks as store
from dialerd.store import campaigns

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)

CHUNK = 10_000
"""Tasks checked (in a thread) while the previous chunk is written: Python and Postgres then
work at the same time, on the two cores of the machine."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What an import answers: the synchronous call sends it, an async job keeps it for the poll."""

    http_status: int
    body: dict[str, Any]


async def load_setup(conn: Conn, client_id: int, body: dict[str, Any]) -> Setup:
    system, call = lookup_keys(body)
    return Setup(
        system_known=system is not None and await store.system_known(conn, system),
        campaign=await campaigns.get(conn, client_id, call) if call is not None else None,
        info_fields=await store.info_field_ids(conn),
    )


async def precheck(conn: Conn, client_id: int, body: dict[str, Any]) -> None:
    """The request-level checks that need no look into the tasks (before accepting async)."""
    check_request(body, await load_setup(conn, client_id, body))


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import wrote: the plan (valid tasks and per-task errors) and each task's row."""

    plan: Plan
    written: dict[int, store.Written]

    def counts(self) -> tuple[int, int]:
        """(call tasks created, open call tasks updated): rows, not tasks, so that several tasks
        with one extCustId count once."""
        rows = {w.id for w in self.written.values()}
        created = len({w.id for w in self.written.values() if w.created})
        return created, len(rows) - created


async def import_calltasks(
    conn: Conn, client_id: int, body: dict[str, Any], *, return_tasks: bool
) -> Answer:
    """Validates and writes; a request-level error is an answer too (nothing written then)."""
    try:
        imported = await import_tasks(conn, client_id, body)
    except CalltaskError as exc:
        return Answer(400, exc.body())
    return Answer(200, _result(imported.plan, imported.written, return_tasks))


async def import_tasks(
    conn: Conn,
    client_id: int,
    body: dict[str, Any],
    *,
    refuse_malformed_tasks: bool = False,
) -> Imported:
    """Validates and writes, or raises CalltaskError with nothing written. The API refuses a
    request with a malformed task; a file import (``refuse_malformed_tasks``) refuses that row
    alone, as a per-task error."""
    started = time.perf_counter()
    try:
        setup = await load_setup(conn, client_id, body)
        checker = TaskChecker(setup, refuse_malformed_tasks=refuse_malformed_tasks)
        error = request_error(body, setup)
        if error is not None:
            # A malformed task (code 2) comes before it in the table: look through the tasks.
            raise await asyncio.to_thread(checker.malformed_task, body) or error
        try:
            async with conn.transaction():  # a savepoint: an error in a late chunk undoes all
                written = await _check_and_write(conn, checker, body, by_copy=True)
        except asyncpg.UniqueViolationError:
            # A call task was reopened with one of the keys while this import ran (a reset
            # through the contacts API): do it again, updating where the COPY could only add.
            log.info("calltask_import_redone_without_copy", client_id=client_id)
            checker = TaskChecker(setup, refuse_malformed_tasks=refuse_malformed_tasks)
            async with conn.transaction():
                written = await _check_and_write(conn, checker, body, by_copy=False)
    except CalltaskError as exc:
        log.info("calltask_import_refused", client_id=client_id, status_code=exc.status_code)
        raise
    imported = Imported(checker.plan(body), written)
    created, updated = imported.counts()
    metrics.count_import(created, updated, len(imported.plan.errors), time.perf_counter() - started)
    log.info(
        "calltask_import_written",
        client_id=client_id,
        campaign_id=imported.plan.campaign_id,
        system_code=imported.plan.system_code,
        created=created,
        updated=updated,
        task_errors=len(imported.plan.errors),
        ms=round((time.perf_counter() - started) * 1000),
    )
    return imported


async def _check_and_write(
    conn: Conn, checker: TaskChecker, body: dict[str, Any], *, by_copy: bool
) -> dict[int, store.Written]:
    """Checks the tasks chunk by chunk in a thread, writing each chunk while the next is checked.

    Each task index has its row id from the start, so the thread also turns the tasks into
    COPY rows; Postgres then only adds them (COPY) or, for an extCustId with an open call task,
    stages them by COPY too and updates that (calltask_upsert). A campaign with no open call
    task of the calling system, as in a first import, needs no lookup of the keys. Of two tasks
    with one extCustId in different chunks, the later one updates the row the earlier one
    created, so the later one wins as it does within a chunk."""
    plan = checker.plan(body)
    raw_tasks: list[Any] = body["callTasks"]
    await store.lock_import(conn, plan.campaign_id, plan.system_code)
    campaign_there, system_there = await store.lock_parents(
        conn, plan.campaign_id, plan.system_code
    )
    if not system_there:  # removed by hand since load_setup read it
        raise CalltaskError(codes.INVALID_SYSTEM_CODE, "systemCode is no longer registered")
    if not campaign_there:
        raise CalltaskError(codes.INVALID_CALL_CODE, "callCode is no longer a campaign")
    to = store.Target(
        plan.campaign_id, plan.system_code, plan.max_attempts, plan.min_call_interval_h
    )
    ids = await store.new_ids(conn, len(raw_tasks))
    writer = _Writer(conn, to, ids, look_up=await store.has_open_keys(conn, to), by_copy=by_copy)
    copy_rows = store.CopyRows(to)

    def check(start: int) -> tuple[list[Task], list[str]]:
        tasks = latest_per_key(checker.check_range(raw_tasks, start, start + CHUNK))
        return tasks, [copy_rows.line(t, ids[t.index]) for t in tasks]

    writing: asyncio.Task[None] | None = None
    try:
        for start in range(0, len(raw_tasks), CHUNK):
            tasks, lines = await asyncio.to_thread(check, start)
            if writing is not None:
                await writing
            writing = asyncio.create_task(writer.write(tasks, lines))
        if writing is not None:
            await writing
    finally:
        if writing is not None:  # the connection is busy until the write ends, even on error
            await asyncio.gather(writing, return_exceptions=True)
    unknown = checker.unknown_fields_error()
    if unknown is not None:
        raise unknown
    return writer.result()


class _Writer:
    """Writes the checked chunks of one import, in order, on its connection."""

    def __init__(
        self, conn: Conn, to: store.Target, ids: list[int], *, look_up: bool, by_copy: bool
    ) -> None:
        self.conn = conn
        self.to = to
        self.ids = ids
        self.look_up = look_up
        self.by_copy = by_copy
        self.written: dict[int, store.Written] = {}
        self.row_of_key: dict[str | None, int] = {}  # extCustId -> row written by this import

    async def write(self, tasks: list[Task], lines: list[str]) -> None:
        known: dict[str | None, int] = {}
        if self.look_up:
            keys = [t.ext_cust_id for t in tasks if t.ext_cust_id is not None]
            known = await store.open_ids(self.conn, self.to, keys)
        new_lines: list[str] = []
        new: list[Task] = []
        other_lines: list[str] = []
        other: list[Task] = []
        for task, line in zip(tasks, lines, strict=True):
            key = task.ext_cust_id
            if not self.by_copy or (key is not None and (key in known or key in self.row_of_key)):
                other.append(task)
                other_lines.append(line)
            else:
                new.append(task)
                new_lines.append(line)
        if new:
            await store.copy_new(self.conn, "".join(new_lines).encode())
            ids = self.ids
            self.written.update((t.index, store.Written(ids[t.index], True)) for t in new)
        if other:
            other_ids = [self.ids[t.index] for t in other]
            rows: dict[str | None, int] = {}  # the ids of the other tasks' rows, where known
            for t in other:
                row = known.get(t.ext_cust_id) or self.row_of_key.get(t.ext_cust_id)
                if row is not None:
                    rows[t.ext_cust_id] = row
            staged = "".join(other_lines).encode()
            self.written.update(
                await store.upsert(self.conn, self.to, other, other_ids, staged, rows)
            )
        for task in tasks:
            if task.ext_cust_id is not None:
                self.row_of_key[task.ext_cust_id] = self.written[task.index].id

    def result(self) -> dict[int, store.Written]:
        """What became of each task; "created" means by this request, also where a later chunk
        updated the row an earlier one created."""
        created = {w.id for w in self.written.values() if w.created}
        written = self.written
        for index, w in written.items():
            if not w.created and w.id in created:
                written[index] = store.Written(w.id, True)
        return written


def _result(plan: Plan, written: dict[int, store.Written], return_tasks: bool) -> dict[str, Any]:
    errors = [
        CallTaskError(callTaskIndex=e.index, errorCodes=e.codes, errorText=e.text)
        for e in plan.errors
    ]
    tasks = None
    if return_tasks:
        winner: dict[str | None, Task] = {t.ext_cust_id: t for t in plan.tasks if t.ext_cust_id}
        tasks = [
            _task(task.index, winner.get(task.ext_cust_id, task), written) for task in plan.tasks
        ]
    return CalltaskImportResult.of(errors, tasks)


def _task(index: int, stored: Task, written: dict[int, store.Written]) -> ImportedCallTask:
    """A task as stored; an earlier task with a later one's extCustId shows the later one."""
    row = written[stored.index]
    return ImportedCallTask(
        callTaskIndex=index,
        callTaskId=row.id,
        created=row.created,
        callReceiverName=stored.name,
        callNumberList=stored.numbers,
        extCustId=stored.ext_cust_id,
        systemLookupCode=stored.system_lookup_code,
        properties=[StoredProperty(emprId=int(k), value=v) for k, v in stored.properties.items()],
    )
