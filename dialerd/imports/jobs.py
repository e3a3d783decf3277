"""The worker that runs started imports in the background.

An import is one transaction: its call tasks, the campaign's remembered mapping and the job's
result commit together, or nothing does. That transaction holds the job's advisory lock from
before the job is marked running; progress (rows done of total) is written on a second
connection, outside it, so that every process sees it while the import runs. If dialerd dies
mid-import, Postgres rolls the transaction back and frees the lock: the job still says
running, and the next look at it (any dialerd's worker, at start and every poll, or a reader
of its progress) finds the lock free and marks it failed. Nothing is ever half-written.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from dialerd.calltasks.errors import CalltaskError
from dialerd.calltasks.service import import_tasks
from dialerd.calltasks.worker import JobWorker
from dialerd.imports import mapping
from dialerd.imports.preview import reason
from dialerd.imports.reader import Cell, FileRefused, Sheet
from dialerd.imports.service import Refused, open_file, refused_file, request_body, stored_file
from dialerd.store import campaigns
from dialerd.store import imports as store
from dialerd.store.calltasks import Written

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)

STALE_UPLOAD_HOURS = 24
"""Uploads never started are removed after this."""
CHUNK = 10_000
"""Rows read into tasks and imported at a time."""


class ImportJobs(JobWorker):
    name = "file_import_worker"

    async def run_one(self) -> bool:
        """Runs the oldest import no other worker runs; False if there was none. Imports whose
        dialerd died are failed first, and uploads never started are dropped."""
        async with self._pool.acquire() as conn:
            failed = await store.fail_abandoned(conn)
            if failed:
                log.warning("file_import_abandoned", import_ids=failed)
            await store.drop_stale_uploads(conn, STALE_UPLOAD_HOURS)
            for import_id in await store.queued_ids(conn):
                if await self._run(conn, import_id):
                    return True
        return False

    async def _run(self, conn: Conn, import_id: int) -> bool:
        async with conn.transaction():
            if not await store.try_lock(conn, import_id):
                return False  # another worker runs it
            async with self._pool.acquire() as side:
                work = await store.mark_running(side, import_id)
                if work is None:
                    return False  # it ran and ended before we took the lock
                with structlog.contextvars.bound_contextvars(file_import_id=import_id):
                    await self._import(conn, side, import_id, work)
        return True

    async def _import(self, conn: Conn, side: Conn, import_id: int, work: store.Work) -> None:
        log.info("file_import_started", campaign_id=work.campaign_id)
        try:
            async with conn.transaction():  # a savepoint: a failed import keeps the lock
                counts = await _run_import(conn, side, import_id, work)
        except (Refused, FileRefused, mapping.MappingError, CalltaskError) as exc:
            text = exc.status_text if isinstance(exc, CalltaskError) else str(exc)
            log.info("file_import_refused", error=text)
            await store.fail(conn, import_id, text)
            return
        except Exception:
            if conn.is_closed():
                raise  # the transaction is gone: a later look fails the job
            log.exception("file_import_crashed")
            await store.fail(conn, import_id, "internal error, nothing was imported (see the log)")
            return
        log.info("file_import_done", imported=counts[0], updated=counts[1], refused=counts[2])


async def _run_import(
    conn: Conn, side: Conn, import_id: int, work: store.Work
) -> tuple[int, int, int]:
    """The import of the stored file, copied to a scratch file of this process for as long as
    it runs (``_import_file``)."""
    async with stored_file(conn, import_id) as path:
        return await _import_file(conn, side, import_id, work, path)


async def _import_file(
    conn: Conn, side: Conn, import_id: int, work: store.Work, path: Path
) -> tuple[int, int, int]:
    """Reads the rows and imports them CHUNK at a time, in the one transaction, then records
    the result: (created, updated, refused). The sheet is gone through twice: once to count
    its rows (the progress's total), then to import them. An .xlsx or CSV sheet is streamed
    both times, so only a chunk's rows and tasks are held (an .xls/.ods sheet is held whole,
    by calamine); a chunk's tasks are let go once it is written."""
    campaign = await campaigns.get(conn, work.client_id, work.campaign_id)
    if campaign is None:
        raise Refused(f"campaign {work.campaign_id} is no longer a campaign of this client")
    chosen = work.chosen
    reader = mapping.RowReader(chosen.mapping, campaign.default_region)

    def load() -> tuple[Sheet, list[Cell], int]:
        sheet = open_file(path).sheet(chosen.sheet)
        header, rows = mapping.header_and_rows(sheet.rows(), chosen.sheet)
        return sheet, header, sum(1 for _ in rows)

    sheet, header, total = await asyncio.to_thread(load)
    await store.progress(side, import_id, total, 0)
    rows = mapping.header_and_rows(sheet.rows(), chosen.sheet)[1]
    counts = _Counts()
    reasons: dict[int, str] = {}  # row number -> why it was refused
    done = 0
    while True:
        tasks, numbers = await asyncio.to_thread(
            mapping.read_tasks, itertools.islice(rows, CHUNK), reader
        )
        if not tasks:
            break
        # The calltask import as one request per chunk: a later chunk finds the call tasks an
        # earlier one wrote (same transaction), so a repeated extCustId updates, as in one.
        imported = await import_tasks(
            conn,
            work.client_id,
            request_body(campaign.id, chosen, tasks),
            refuse_malformed_tasks=True,
        )
        counts.add(imported.written.values())
        reasons.update((numbers[e.index], reason(e)) for e in imported.plan.errors)
        done += len(tasks)
        del tasks, numbers, imported  # before the next chunk is read: one chunk at a time
        await store.progress(side, import_id, total, done)
    refused = (
        await asyncio.to_thread(refused_file, path, chosen.sheet, reasons) if reasons else None
    )
    await store.save_mapping(conn, campaign.id, mapping.remember(header, chosen.mapping))
    result = (counts.created, len(counts.updated_ids), len(reasons))
    if not await store.finish(conn, import_id, result, refused):
        raise RuntimeError(f"import {import_id} is no longer running")
    return result


class _Counts:
    """Call tasks created and updated over the chunks of one import; one that an earlier chunk
    created and a later one updated counts as created (by this import), as in one request.

    The created ids are kept as bits from the first one (new ids come from one sequence, in
    order, so 100,000 of them take about 12 kB, not the 7 MB of a set of ints); an id below
    the first, which the sequence does not give, goes to a set. The updated ids (any ids) are
    a sorted array, 8 bytes each: 0.8 MB for 100,000, where a set takes 7 MB."""

    def __init__(self) -> None:
        self._base: int | None = None
        self._bits = bytearray()
        self._below: set[int] = set()
        self.created = 0
        self.updated_ids = array("q")  # sorted, each once

    def _was_created(self, task_id: int) -> bool:
        if self._base is None or task_id < self._base:
            return task_id in self._below
        offset = task_id - self._base
        byte = offset >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (offset & 7)))

    def _add_created(self, task_id: int) -> None:
        if self._was_created(task_id):
            return
        self.created += 1
        if self._base is None:
            self._base = task_id
        if task_id < self._base:
            self._below.add(task_id)
            return
        offset = task_id - self._base
        byte = offset >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte + 1 - len(self._bits)))
        self._bits[byte] |= 1 << (offset & 7)

    def add(self, written: Iterable[Written]) -> None:
        """One chunk's call tasks."""
        updated = set()  # of this chunk only
        for row in written:
            if row.created:
                self._add_created(row.id)
            elif not self._was_created(row.id):
                updated.add(row.id)
        known = self.updated_ids
        new = sorted(i for i in updated if not _within(known, i))
        if new:
            self.updated_ids = array("q", heapq.merge(known, new))


def _within(values: array[int], value: int) -> bool:
    """Whether the sorted ``values`` hold ``value``."""
    at = bisect.bisect_left(values, value)
    return at < len(values) and values[at] == value
