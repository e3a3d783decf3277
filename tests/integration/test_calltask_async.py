"""importAsync=true: stored before the answer, imported by the worker, polled at statusUrl; a
restart or a lost connection in the middle of an import loses nothing and imports nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dialerd.api.app import init_app
from dialerd.api.calltasks import IMPORT_WORKER
from dialerd.calltasks.worker import MAX_STARTS, ImportWorker
from dialerd.config import Settings
from tests.conftest import Api
from tests.integration.test_calltask_import import (  # setup: the fixture
    PATH,
    SPEC_EXAMPLE,
    request,
    setup,  # noqa: F401
    task,
)

pytestmark = pytest.mark.usefixtures("setup")

ASYNC = f"{PATH}?importAsync=true"


async def wait_until_finished(api: Api, url: str) -> tuple[int, Any]:
    for _ in range(100):
        status, body = await api.request("GET", url)
        if status != 202:
            return status, body
        assert body["status"] == "queued"
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish within 5 s")


async def test_async_import_answers_at_once_and_the_poll_gives_the_sync_answer(
    api: Api, pool: asyncpg.Pool
) -> None:
    status, queued = await api.request(
        "POST", f"{ASYNC}&returnImportedCallTasks=true", json=SPEC_EXAMPLE
    )
    assert status == 200 and queued["status"] == "queued"
    assert queued["statusUrl"] == f"{PATH}/{queued['importId']}"
    status, result = await wait_until_finished(api, queued["statusUrl"])
    assert status == 200 and result["status"] == "done"
    assert result["importId"] == queued["importId"]
    assert result["callTaskErrors"] == [
        {"callTaskIndex": 1, "errorCodes": [102], "errorText": "callNumberList is missing/empty"}
    ]
    [returned] = result["callTasks"]
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM contacts")]
    assert ids == [returned["callTaskId"]]


async def test_what_is_checked_before_accepting_and_what_the_worker_reports(
    api: Api, pool: asyncpg.Pool
) -> None:
    status, body = await api.request("POST", ASYNC, json=request(task(), systemCode="NOPE"))
    assert (status, body["statusCode"]) == (400, 4)
    status, body = await api.request("POST", ASYNC, json=request(task(), maxCallAttempts=0))
    assert (status, body["statusCode"]) == (400, 8)
    assert await pool.fetchval("SELECT count(*) FROM import_jobs") == 0
    # Inside the tasks: found by the worker, reported by the poll like the sync call would.
    status, queued = await api.request("POST", ASYNC, json=request(task(), "not a task"))  # type: ignore[arg-type]
    assert status == 200
    status, result = await wait_until_finished(api, queued["statusUrl"])
    assert (status, result["statusCode"], result["status"]) == (400, 2, "failed")
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0
    # A NUL in a name (which jsonb could not store) is a per-task error, as in the sync call.
    status, queued = await api.request("POST", ASYNC, json=request(task("A\u0000"), task("B")))
    status, result = await wait_until_finished(api, queued["statusUrl"])
    assert (status, [e["errorCodes"] for e in result["callTaskErrors"]]) == (200, [[101]])
    assert await pool.fetchval("SELECT name FROM contacts") == "B"


async def test_unknown_or_foreign_imports_are_404(api: Api, pool: asyncpg.Pool) -> None:
    _, queued = await api.request("POST", ASYNC, json=SPEC_EXAMPLE)
    await wait_until_finished(api, queued["statusUrl"])
    await pool.execute("UPDATE import_jobs SET client_id = 2")
    for url in (queued["statusUrl"], f"{PATH}/not-a-uuid", f"{PATH}/{'0' * 32}"):
        status, body = await api.request("GET", url)
        assert (status, body["statusCode"]) == (404, 1)


@asynccontextmanager
async def app_running(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[web.Application]:
    """A dialerd API process (with its import worker) that can be stopped and started again."""
    async with TestClient(TestServer(init_app(settings, pool))) as client:
        yield client.app


@asynccontextmanager
async def campaign_locked(pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Holds campaign 123's row: an import into it blocks inside its transaction, on the key-share
    lock it takes of the campaign (what a foreign-key check would take; migration 0005)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM campaigns WHERE id = 123 FOR UPDATE")
        yield


async def blocked_importer(pool: asyncpg.Pool, other_than: list[int] | None = None) -> int:
    """The backend of the worker, once it waits inside its import transaction (not one of
    ``other_than``, terminated but maybe not yet gone)."""
    for _ in range(100):
        pid = await pool.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
            " AND query LIKE '%FROM campaigns WHERE id = $1 FOR KEY SHARE%'"
            " AND NOT pid = ANY($1::int[])",
            other_than or [],
        )
        if pid:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError("the worker never reached its campaign lock")


async def test_a_restart_mid_import_loses_nothing_and_imports_once(
    api: Api, pool: asyncpg.Pool, settings: Settings
) -> None:
    payload = request(*[task(f"T{i}", extCustId=str(i)) for i in range(50)])
    async with campaign_locked(pool):
        async with app_running(settings, pool):
            status, queued = await api.request("POST", ASYNC, json=payload)
            assert status == 200
            await blocked_importer(pool)
            # Another worker (another dialerd) skips the job that is being imported.
            assert await ImportWorker(pool).run_one() is False
        # Stopped mid-transaction: rolled back, still queued.
        assert await pool.fetchval("SELECT status FROM import_jobs") == "queued"
        assert await pool.fetchval("SELECT count(*) FROM contacts") == 0
    async with app_running(settings, pool):
        status, result = await wait_until_finished(api, queued["statusUrl"])
        assert (status, result["status"], result["callTaskErrors"]) == (200, "done", [])
    async with app_running(settings, pool):
        assert await ImportWorker(pool).run_one() is False
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 50


async def test_a_lost_connection_mid_import_is_retried(api: Api, pool: asyncpg.Pool) -> None:
    async with campaign_locked(pool):
        _, queued = await api.request("POST", ASYNC, json=SPEC_EXAMPLE)
        pid = await blocked_importer(pool)
        await pool.execute("SELECT pg_terminate_backend($1)", pid)
        await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT status FROM import_jobs") == "queued"
    api.client.app[IMPORT_WORKER].wake()
    status, result = await wait_until_finished(api, queued["statusUrl"])
    assert (status, result["status"]) == (200, "done")
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1


async def test_a_job_interrupted_at_every_start_is_failed_with_its_reason(
    api: Api, pool: asyncpg.Pool
) -> None:
    worker = api.client.app[IMPORT_WORKER]
    async with campaign_locked(pool):
        _, queued = await api.request("POST", ASYNC, json=SPEC_EXAMPLE)
        terminated: list[int] = []
        for _ in range(MAX_STARTS):
            terminated.append(await blocked_importer(pool, terminated))
            await pool.execute("SELECT pg_terminate_backend($1)", terminated[-1])
            worker.wake()
        # The next claim gives up, without the campaign's lock that blocked the others.
        status, result = await wait_until_finished(api, queued["statusUrl"])
    assert (status, result["status"], result["statusCode"]) == (500, "failed", 1)
    assert result["statusText"] == (
        f"The import was started {MAX_STARTS} times and interrupted each time (dialerd stopped,"
        " or lost its database, in the middle of it); nothing of it was imported"
    )
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0
    assert await pool.fetchval("SELECT count(*) FROM import_job_starts") == MAX_STARTS
    assert await worker.run_one() is False
