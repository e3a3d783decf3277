"""A ``dialerd serve`` killed with SIGKILL while its worker is inside a large async calltask
import, and started again each time: the import is finished by a later process, or reported
failed with nothing of it written; never a part of it, never twice.

A real ``dialerd serve`` (API only: no AMI host, no engine) gets the import over HTTP with a
token from ``dialerd token create``. The moments of the kills are read from Postgres, not
guessed: the worker's backend in its import transaction with its start counted, then in
the COPY of a middle chunk and of the last but one or later with rows going in
(``pg_stat_progress_copy``); in a re-import that updates every call task, its update
statements. After each kill the killed process's transaction must have rolled back (nothing of
the import there, the job queued) before the next process starts. The middle chunk is drawn
from a seed, printed (``DIALERD_FAULT_SEED`` repeats it). A job killed at each of its
``MAX_STARTS`` starts is reported failed, with its reason, by the next process. Each test
prints its counts (README, "Faults").
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
# (its claim of the job row) once the POST has been answered, what it runs, and its COPY's
# progress if it runs one.
_WORKER = """
SELECT a.pid, a.state, a.query, a.query_start, c.tuples_processed
FROM pg_stat_activity a LEFT JOIN pg_stat_progress_copy c USING (pid)
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND a.backend_xid IS NOT NULL AND NOT a.pid = ANY($1::int[])
"""
_STARTS = "SELECT count(*) FROM import_job_starts"


def payload(n: int, name: str) -> dict[str, Any]:
    """``n`` tasks with the extCustIds C0, C1, … named ``name`` and their number."""
    return {
        "systemCode": SYSTEM,
        "callCode": CAMPAIGN,
        "maxCallAttempts": 3,
        "minCallIntervalHours": 12,
        "callTasks": [
            {
                "callReceiverName": f"{name} {i}",
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
    counted; ("writing", k), rows going in by the k-th COPY (of one chunk)
    or a later one; ("updating", k), the k-th statement (or a later one) that updates open call
    tasks from the staged rows. (its pid, rows of that COPY in so far, or 0)."""
    kind, chunk = moment
    seen: dict[str, set[Any]] = {"writing": set(), "updating": set()}  # statements, by start
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        row = await conn.fetchrow(_WORKER, dead)
        if row is not None:
            rows = row["tuples_processed"]
            now = None
            if rows is not None:
                now = "writing" if rows > 0 else None
            elif row["state"] == "active" and "FROM calltask_staging" in row["query"]:
                now = "updating"
            if kind == "started" and await conn.fetchval(_STARTS) > kills:
                # Seen late (a loaded machine), it may be writing already: still inside.
                return row["pid"], rows or 0
            if now is not None:
                seen[now].add(row["query_start"])
                if now == kind and len(seen[now]) >= chunk:
                    return row["pid"], rows or 0
        assert await conn.fetchval("SELECT status FROM import_jobs") == "queued", (
            f"the import finished before the worker was seen at {moment}"
        )
        await asyncio.sleep(0.005)
    raise AssertionError(f"the worker did not reach {moment} within 300 s")


async def rolled_back(conn: asyncpg.Connection, dead: list[int], name: str, before: int) -> float:
    """Waits until the killed process's backends are gone; how long that took (s). Nothing of
    the import (tasks named ``name``) may be there then, the ``before`` contacts of earlier
    imports as they were, and the job must be queued again."""
    started = time.monotonic()
    while await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", dead
    ):
        assert time.monotonic() - started < 120, "the killed process's transaction never ended"
        await asyncio.sleep(0.05)
    row = await conn.fetchrow(
        "SELECT count(*) AS all, count(*) FILTER (WHERE name LIKE $1) AS named FROM contacts",
        f"{name} %",
    )
    assert row is not None
    assert (row["named"], row["all"]) == (0, before), "a part was left"
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
    named: int  # contacts as this import names them
    duplicates: int  # contacts beyond one per extCustId
    writers: int  # transactions that wrote the contacts' current rows
    starts: int
    jobs: list[str]  # the statuses of import_jobs

    def line(self, tasks: int, s: Serves, seconds: float) -> str:
        return (
            f"restarted import (seed {SEED}): {tasks} tasks, {len(self.kills)} kills"
            f" ({'; '.join(self.kills)}), status {self.result['status']}, {self.contacts}"
            f" contacts ({self.named} as it names them), {self.duplicates} duplicates,"
            f" {self.starts} starts, transactions"
            f" that wrote them: {self.writers}, {len(s.procs)} processes, {seconds:.0f} s"
        )


async def killed_at(
    s: Serves,
    token: str,
    db_dsn: str,
    tasks: int,
    moments: list[tuple[str, int]],
    *,
    before: str | None = None,
) -> Outcome:
    """Posts an async import of ``tasks`` tasks (after a synchronous one of the same tasks named
    ``before``, if given: the async one then updates them), kills the process at each of
    ``moments`` and starts a new one, then polls until the import is done or failed."""
    chunks = math.ceil(tasks / CHUNK)
    name = "Customer" if before is None else "Renamed"
    conn = await connect(db_dsn)
    base = f"http://127.0.0.1:{s.env['DIALERD_HTTP_PORT']}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(base, headers=headers) as http:
            proc = await s.start(http)
            if before is not None:
                async with http.post(PATH, json=payload(tasks, before)) as resp:
                    assert resp.status == 200, await resp.text()
            earlier = await conn.fetchval("SELECT count(*) FROM contacts")
            async with http.post(f"{PATH}?importAsync=true", json=payload(tasks, name)) as resp:
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
                gone = await rolled_back(conn, dead, name, earlier)
                kind, chunk = moment
                at = {
                    "started": f"started{f' (COPY at {rows} rows)' if rows else ''}",
                    "writing": f"COPY ≥{chunk}/{chunks} at {rows} rows",
                    "updating": f"update ≥{chunk}/{chunks}",
                }[kind]
                seen.append(f"{at}, rolled back in {gone:.1f} s")
                proc = await s.start(http)
                status, _ = await poll_once(http, queued["statusUrl"])
                if len(seen) < MAX_STARTS:  # else the new process may have given it up already
                    assert status == 202, "a restarted dialerd answers the killed import queued"
            status, result = await poll(http, queued["statusUrl"], within=300)
        row = await conn.fetchrow(
            "SELECT count(*) AS contacts, count(DISTINCT ext_cust_id) AS keys,"
            " count(*) FILTER (WHERE name LIKE $3) AS named,"
            " count(DISTINCT xmin::text) AS writers,"
            " count(*) FILTER (WHERE campaign_id <> $1 OR system_code <> $2) AS elsewhere"
            " FROM contacts",
            CAMPAIGN,
            SYSTEM,
            f"{name} %",
        )
        assert row is not None
        assert row["elsewhere"] == 0
        return Outcome(
            status,
            result,
            seen,
            row["contacts"],
            row["named"],
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
    # The k-th statement seen is the k-th or a later one (one the test's polls missed on a
    # loaded machine): the last kill aims at the last but one, to land inside the import.
    middle = random.Random(SEED).randint(2, chunks - 3)
    moments = [("started", 0), ("writing", middle), ("writing", chunks - 1)]
    started = time.monotonic()
    out = await killed_at(s, token, db_dsn, TASKS, moments)
    print(out.line(TASKS, s, time.monotonic() - started))
    assert (out.status, out.result["status"], out.result["callTaskErrors"]) == (200, "done", [])
    assert (out.contacts, out.named, out.duplicates) == (TASKS, TASKS, 0)
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


async def test_killed_mid_update_every_call_task_is_updated_once_after_restart(
    serves: tuple[Serves, str], db_dsn: str
) -> None:
    """The same tasks again, renamed: every one updates its open call task, in the staged
    statement of each chunk; a kill in it leaves every call task as it was."""
    s, token = serves
    tasks = 3 * CHUNK
    moments = [("updating", 1), ("updating", 2)]
    started = time.monotonic()
    out = await killed_at(s, token, db_dsn, tasks, moments, before="Customer")
    print(out.line(tasks, s, time.monotonic() - started))
    assert (out.status, out.result["status"], out.result["callTaskErrors"]) == (200, "done", [])
    assert (out.contacts, out.named, out.duplicates) == (tasks, tasks, 0)
    assert (out.writers, out.jobs, out.starts) == (1, ["done"], len(moments) + 1)
