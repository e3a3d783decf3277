"""The worker of async calltask imports (``importAsync=true``).

A job is claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` and imported and marked finished in that
same transaction: if dialerd dies or loses its connection mid-import, everything rolls back, the
job is queued again and the next worker (after a restart, or another dialerd) imports it once.
Each start is recorded on a second connection, committed at once, so that it outlives the
rollback: a job interrupted ``MAX_STARTS`` times is failed rather than started again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import asyncpg
import structlog

from dialerd.calltasks.errors import UNKNOWN_ERROR, CalltaskError
from dialerd.calltasks.service import Answer, import_calltasks
from dialerd.store import calltasks as store
from dialerd.store.pool import database_unavailable

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)

MAX_STARTS = 5
"""Starts of one job, each interrupted (dialerd killed or stopped, its database lost, a statement
timed out), after which the next claim fails it instead: a job that brings its dialerd down
would otherwise do so again at every start, and its poll would answer queued for ever."""


class JobWorker:
    """Runs the jobs ``run_one`` finds, one after the other, until cancelled: at once when
    woken, else every ``poll_seconds``; a lost connection is retried at the next poll."""

    name = "job_worker"  # names its log lines

    def __init__(self, pool: asyncpg.Pool, *, poll_seconds: float = 2.0) -> None:
        self._pool = pool
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.run_one():
                    pass
            except Exception as exc:
                # The database is gone (down, restarting): the transaction is lost with it and
                # the job stays queued. Anything else is a bug, and not retried for ever.
                if not database_unavailable(exc):
                    raise
                log.warning(f"{self.name}_disconnected", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):  # not wait_for: see pbx/ami.py
                    await self._wake.wait()

    async def run_one(self) -> bool:
        """Runs one job; False if there was none."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Runs the worker in the background for as long as the block (an app's cleanup_ctx)."""
        task = asyncio.create_task(self.run(), name=self.name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ImportWorker(JobWorker):
    name = "calltask_import_worker"

    async def run_one(self) -> bool:
        """Imports the oldest free job; False if there was none."""
        async with self._pool.acquire() as conn, conn.transaction():
            job = await store.claim_job(conn)
            if job is None:
                return False
            # Every line of the job, the import's own too, carries its import_id.
            with structlog.contextvars.bound_contextvars(import_id=str(job.id)):
                if job.starts >= MAX_STARTS:
                    answer = _given_up(job)
                else:
                    async with self._pool.acquire() as side:
                        await store.count_start(side, job.id)
                    answer = await self._import(conn, job)
                await store.finish_job(conn, job.id, answer.http_status, answer.body)
        log.info("calltask_import_job_finished", import_id=str(job.id), http=answer.http_status)
        return True

    async def _import(self, conn: Conn, job: store.Job) -> Answer:
        log.info("calltask_import_job_started", client_id=job.client_id)
        try:
            async with conn.transaction():  # a savepoint: a failed import keeps the claim
                answer = await import_calltasks(
                    conn, job.client_id, job.request, return_tasks=job.return_tasks
                )
        except Exception as exc:
            if database_unavailable(exc) or conn.is_closed():
                raise
            # What the synchronous call would have answered: 500, nothing imported.
            log.exception("calltask_import_job_crashed")
            error = CalltaskError(UNKNOWN_ERROR, "Internal server error")
            answer = Answer(500, error.body())
        return answer


def _given_up(job: store.Job) -> Answer:
    """The answer of a job interrupted at each of its starts: failed, nothing imported."""
    log.warning("calltask_import_job_given_up", client_id=job.client_id, starts=job.starts)
    text = (
        f"The import was started {job.starts} times and interrupted each time (dialerd"
        " stopped, or lost its database, in the middle of it); nothing of it was imported"
    )
    return Answer(500, CalltaskError(UNKNOWN_ERROR, text).body())
