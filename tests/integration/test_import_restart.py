"""A ``dialerd serve`` killed with SIGKILL while its worker is inside a large async calltask
import, and started again each time: the import is finished by a later process, or reported
failed with nothing of it written; never a part of it, never twice.

A real ``dialerd serve`` (API only: no AMI host, no engine) gets the import over HTTP with a
token from ``dialerd token create``. The moments of the kills are read from Postgres, not
guessed: the worker's backend in its import transaction before any row is written, then in
the COPY of a middle chunk and of the last chunk with rows going in (``pg_stat_progress_copy``).
After each kill the killed process's transaction must have rolled back (no contact, the job
queued) before the next process starts. The middle chunk is drawn from a seed, printed
(``DIALERD_FAULT_SEED`` repeats it). A job killed at each of its ``MAX_STARTS`` starts is
reported failed, with its reason, by the next process. Each test prints its counts (README,
"Faults").
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from dialerd.calltasks.service import CHUNK
from dialerd.calltasks.worker import MAX_STARTS
from dialerd.store.pool import connect
from tests.pbx.harness import free_port

TASKS = 100_000  # 13 MB of JSON, 10 chunks: 22-60 s in all on the 2-core machine (load 6-25)
SEED = int(os.environ.get("DIALERD_FAULT_SEED", str(time.time_ns() % 1_000_000)))
BIN = Path(sys.executable).parent
PATH = "/itxdialer/calltaskimport"
SYSTEM = "RESTART"
CAMPAIGN = 123

# The worker's backend: the one transaction of the test database that holds a transaction id
# (its claim of the job row) once the POST has been answered, and the COPY it runs, if any.
_WORKER = """
SELECT a.pid, a.query_start, c.tuples_processed
FROM pg_stat_activity a LEFT JOIN pg_stat_progress_copy c USING (pid)
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND a.backend_xid IS NOT NULL AND NOT a.pid = ANY($1::int[])
"""
_STARTS = "SELECT count(*) FROM import_job_starts"


def payload(n: int) -> dict[str, Any]:
    return {
        "systemCode": SYSTEM,
        "callCode": CAMPAIGN,
        "maxCallAttempts": 3,
        "minCallIntervalHours": 12,
        "callTasks": [
            {
                "callReceiverName": f"Customer {i}",
                "extCustId": f"C{i}",
                "callNumberList": [f"+4791{i:06d}", f"+4792{i:06d}"],
            }
            for i in range(n)
        ],
    }


def dialerd(env: dict[str, str], *args: str) -> str:
    """The ``dialerd`` command's output; it must succeed."""
    run = subprocess.run([str(BIN / "dialerd"), *args], env=env, capture_output=True, check=False)
    assert run.returncode == 0, (args, run.stdout, run.stderr)
    return run.stdout.decode().strip()


@dataclass
class Serves:
    """``dialerd serve`` processes one after the other on one database and port, each logging
    to its own file; what still runs at the end is killed."""

    env: dict[str, str]
    logs: Path
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start(self, http: aiohttp.ClientSession) -> asyncio.subprocess.Process:
        with (self.logs / f"serve-{len(self.procs)}.log").open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                str(BIN / "dialerd"), "serve", env=self.env, stdout=out, stderr=out
            )
        self.procs.append(proc)
        # A loaded machine took 26 s to start one: the deadline is for a serve that hangs.
        deadline = time.monotonic() + 90
        while True:
            try:
                async with http.get("/health") as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientConnectionError:
                pass
            assert proc.returncode is None, f"dialerd serve exited ({proc.returncode})"
            assert time.monotonic() < deadline, "dialerd serve did not answer /health"
            await asyncio.sleep(0.1)

    def log_lines(self, event: str) -> int:
        """How many lines of every process's log are ``event``."""
        count = 0
        for path in self.logs.glob("serve-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("{") and json.loads(line).get("event") == event:
                    count += 1
        return count

    async def kill_all(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.fixture
async def serves(db_dsn: str, tmp_path: Path) -> AsyncIterator[tuple[Serves, str]]:
    """(the processes, a token of client 1) over a database with the campaign and system."""
    env = os.environ | {
        "DIALERD_DATABASE_URL": db_dsn,
        "DIALERD_HTTP_PORT": str(free_port()),
        "DIALERD_LOG_FORMAT": "json",
    }
    env.pop("DIALERD_AMI_HOST", None)  # API only: no engine, nobody is called
    token = dialerd(env, "token", "create", "--client", "1")
    dialerd(env, "system", "add", SYSTEM)
    dials = ("--dial-string", "PJSIP/{number}@trunk", "--caller-id", '"R" <+4722334455>')
    dialerd(env, "campaign", "create", "--id", str(CAMPAIGN), "--name", "R", "--queue", "q", *dials)
    s = Serves(env, tmp_path)
    try:
        yield s, token
    finally:
        await s.kill_all()


async def worker_at(
    conn: asyncpg.Connection, moment: tuple[str, int], dead: list[int], kills: int
) -> tuple[int, int]:
    """Waits for the worker's backend (not one of the ``kills`` killed processes' ``dead``
    backends) to reach ``moment``: ("started", 0), inside its import transaction with its start
    counted and no row written, or ("writing", k), rows going in by the k-th COPY (of one
    chunk) or a later one. (its pid, rows of that COPY in so far)."""
    kind, chunk = moment
    copies: set[Any] = set()  # the COPYs seen, by their start
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        row = await conn.fetchrow(_WORKER, dead)
        if row is not None:
            copying = row["tuples_processed"] is not None
            if kind == "started" and await conn.fetchval(_STARTS) > kills:
                assert not copies and not copying, "the worker wrote before it was seen"
                return row["pid"], 0
            if copying:
                copies.add(row["query_start"])
                if len(copies) >= chunk and row["tuples_processed"] > 0:
                    return row["pid"], int(row["tuples_processed"])
        assert await conn.fetchval("SELECT status FROM import_jobs") == "queued", (
            f"the import finished before the worker was seen at {moment}"
        )
        await asyncio.sleep(0.005)
    raise AssertionError(f"the worker did not reach {moment} within 300 s")


async def rolled_back(conn: asyncpg.Connection, dead: list[int]) -> float:
    """Waits until the killed process's backends are gone; how long that took (s). Nothing of
    the import may be there then, and the job must be queued again."""
    started = time.monotonic()
    while await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", dead
    ):
        assert time.monotonic() - started < 120, "the killed process's transaction never ended"
        await asyncio.sleep(0.05)
    assert await conn.fetchval("SELECT count(*) FROM contacts") == 0, "a part was left"
    assert await conn.fetchval("SELECT status FROM import_jobs") == "queued"
    return time.monotonic() - started


async def poll_once(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def poll(http: aiohttp.ClientSession, url: str, within: float) -> tuple[int, Any]:
    """Polls the status URL until it answers something other than 202 queued."""
    deadline = time.monotonic() + within
    while True:
        status, body = await poll_once(http, url)
        if status != 202:
            return status, body
        assert body["status"] == "queued", body
        assert time.monotonic() < deadline, f"the import was not finished within {within} s"
        await asyncio.sleep(0.2)


@dataclass
class Outcome:
    """What the poll answered after the last restart, and what the database holds then."""

    status: int
    result: dict[str, Any]
    kills: list[str]  # where each kill found the worker
    contacts: int
    duplicates: int  # contacts beyond one per extCustId
    writers: int  # transactions that wrote the contacts' current rows
    starts: int
    jobs: list[str]  # the statuses of import_jobs

    def line(self, tasks: int, s: Serves, seconds: float) -> str:
        return (
            f"restarted import (seed {SEED}): {tasks} tasks, {len(self.kills)} kills"
            f" ({'; '.join(self.kills)}), status {self.result['status']}, {self.contacts}"
            f" contacts, {self.duplicates} duplicates, {self.starts} starts, transactions"
            f" that wrote them: {self.writers}, {len(s.procs)} processes, {seconds:.0f} s"
        )


async def killed_at(
    s: Serves, token: str, db_dsn: str, tasks: int, moments: list[tuple[str, int]]
) -> Outcome:
    """Posts an async import of ``tasks`` tasks, kills the process at each of ``moments`` and
    starts a new one, then polls until the import is done or failed."""
    chunks = math.ceil(tasks / CHUNK)
    conn = await connect(db_dsn)
    base = f"http://127.0.0.1:{s.env['DIALERD_HTTP_PORT']}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(base, headers=headers) as http:
            proc = await s.start(http)
            async with http.post(f"{PATH}?importAsync=true", json=payload(tasks)) as resp:
                queued = await resp.json()
                assert resp.status == 200, queued
            dead: list[int] = []
            seen: list[str] = []
            for moment in moments:
                pid, rows = await worker_at(conn, moment, dead, len(seen))
                # Its backends: the process's pool (nothing else connects meanwhile).
                dead += [
                    r["pid"]
                    for r in await conn.fetch(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()"
                    )
                ]
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                assert pid in dead
                gone = await rolled_back(conn, dead)
                kind, chunk = moment
                at = "started" if kind == "started" else f"COPY {chunk}/{chunks} at {rows} rows"
                seen.append(f"{at}, rolled back in {gone:.1f} s")
                proc = await s.start(http)
                status, _ = await poll_once(http, queued["statusUrl"])
                if len(seen) < MAX_STARTS:  # else the new process may have given it up already
                    assert status == 202, "a restarted dialerd answers the killed import queued"
            status, result = await poll(http, queued["statusUrl"], within=300)
        row = await conn.fetchrow(
            "SELECT count(*) AS contacts, count(DISTINCT ext_cust_id) AS keys,"
            " count(DISTINCT xmin::text) AS writers,"
            " count(*) FILTER (WHERE campaign_id <> $1 OR system_code <> $2) AS elsewhere"
            " FROM contacts",
            CAMPAIGN,
            SYSTEM,
        )
        assert row is not None
        assert row["elsewhere"] == 0
        return Outcome(
            status,
            result,
            seen,
            row["contacts"],
            row["contacts"] - row["keys"],
            row["writers"],
            await conn.fetchval("SELECT count(*) FROM import_job_starts"),
            [r["status"] for r in await conn.fetch("SELECT status FROM import_jobs")],
        )
    finally:
        await conn.close()


async def test_killed_mid_import_the_import_is_done_once_after_restart(
    serves: tuple[Serves, str], db_dsn: str
) -> None:
    s, token = serves
    chunks = math.ceil(TASKS / CHUNK)
    middle = random.Random(SEED).randint(2, chunks - 1)
    moments = [("started", 0), ("writing", middle), ("writing", chunks)]
    started = time.monotonic()
    out = await killed_at(s, token, db_dsn, TASKS, moments)
    print(out.line(TASKS, s, time.monotonic() - started))
    assert (out.status, out.result["status"], out.result["callTaskErrors"]) == (200, "done", [])
    assert (out.contacts, out.duplicates) == (TASKS, 0)
    # One transaction wrote every row and none was written again: the job was done once.
    assert out.writers == 1
    assert out.jobs == ["done"]
    assert out.starts == len(moments) + 1  # each start was counted, none gave the job up
    assert s.log_lines("calltask_import_job_finished") == 1


async def test_killed_at_every_start_the_import_is_failed_with_nothing_written(
    serves: tuple[Serves, str], db_dsn: str
) -> None:
    s, token = serves
    tasks = CHUNK  # one chunk: the kills come before its first row
    started = time.monotonic()
    out = await killed_at(s, token, db_dsn, tasks, [("started", 0)] * MAX_STARTS)
    print(out.line(tasks, s, time.monotonic() - started))
    assert (out.status, out.result["status"], out.result["statusCode"]) == (500, "failed", 1)
    assert out.result["statusText"].startswith(f"The import was started {MAX_STARTS} times")
    assert (out.contacts, out.starts, out.jobs) == (0, MAX_STARTS, ["failed"])
    assert s.log_lines("calltask_import_job_given_up") == 1
