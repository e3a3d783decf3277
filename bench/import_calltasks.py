"""Benchmark: one calltask import request of 100,000 tasks (two numbers each), end to end.

Starts ``dialerd serve`` on a free port against a fresh database, posts the request over HTTP
and prints tasks/s next to the rows/s of a raw asyncpg ``copy_records_to_table`` of the same
rows, measured in the same run, and the VACUUM after each (the merge of the numbers' index that
autovacuum does after an import). Not a test: it prints figures.

    .venv/bin/python bench/import_calltasks.py [--tasks 100000] [--runs 3]

DIALERD_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the
server; a database ``dialerd_bench_<random>`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from yarl import URL

from dialerd.calltasks.validate import Setup, validate
from dialerd.domain import Campaign
from dialerd.store import campaigns
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect
from dialerd.users.tokens import create_token

ADMIN_DSN = os.environ.get(
    "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = 123
SYSTEM = "BENCH"


def build_request(n: int) -> dict[str, Any]:
    return {
        "systemCode": SYSTEM,
        "callCode": CAMPAIGN,
        "maxCallAttempts": 3,
        "minCallIntervalHours": 12,
        "callTasks": [
            {
                "callReceiverName": f"Customer {i}",
                "extCustId": f"C{i}",
                "systemLookupCode": f"L{i}",
                "callNumberList": [f"+4791{i:06d}", f"+4792{i:06d}"],
            }
            for i in range(n)
        ],
    }


def copy_rows(request: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows the import writes, for the raw COPY baseline."""
    return [
        (
            CAMPAIGN,
            t["callReceiverName"],
            t["extCustId"],
            SYSTEM,
            t["extCustId"],
            t["systemLookupCode"],
            "{}",
            t["callNumberList"],
            [0, 0],
            [None, None],
            [None, None],
            [False, False],
            request["maxCallAttempts"],
            request["minCallIntervalHours"],
        )
        for t in request["callTasks"]
    ]


COPY_COLUMNS = [
    "campaign_id",
    "name",
    "user_data",
    "system_code",
    "ext_cust_id",
    "system_lookup_code",
    "properties",
    "phone_numbers",
    "number_tries",
    "number_last_cause",
    "number_end_reason",
    "number_invalid",
    "max_attempts",
    "min_call_interval_h",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(
    session: aiohttp.ClientSession,
    base: str,
    server: asyncio.subprocess.Process,
    seconds: float = 10,
) -> None:
    for _ in range(int(seconds / 0.05)):
        if server.returncode is not None:
            raise SystemExit("dialerd serve exited")
        try:
            async with session.get(f"{base}/health") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("dialerd serve did not answer /health")


async def prepare(dsn: str) -> tuple[str, Campaign]:
    """A token and the campaign to import into."""
    conn = await connect(dsn)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO calling_systems (code) VALUES ($1)", SYSTEM)
        await conn.execute(
            "INSERT INTO campaigns (id, name, queue, dial_string) VALUES ($1, 'Bench', 'q', $2)",
            CAMPAIGN,
            "PJSIP/{number}@trunk",
        )
        campaign = await campaigns.get(conn, 1, CAMPAIGN)
        assert campaign is not None
        return await create_token(conn, 1), campaign
    finally:
        await conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    wall: float
    client_cpu: float  # this process
    server_cpu: float  # dialerd serve
    db_cpu: float  # the Postgres backends of the database

    @property
    def cpu(self) -> float:
        return self.client_cpu + self.server_cpu + self.db_cpu


class Meter:
    """Wall time, and CPU time of every process taking part: on a busy machine the wall time
    is inflated by other work, the CPU time much less."""

    def __init__(self, conn: asyncpg.Connection, database: str, server_pid: int) -> None:
        self.conn = conn
        self.database = database
        self.server_pid = server_pid

    async def run(self, work: Awaitable[None]) -> Timing:
        rows = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
        )
        groups = [[os.getpid()], [self.server_pid], [r["pid"] for r in rows]]
        before = [cpu_seconds(pids) for pids in groups]
        started = time.perf_counter()
        await work
        wall = time.perf_counter() - started
        client, server, db = (cpu_seconds(p) - b for p, b in zip(groups, before, strict=True))
        return Timing(wall, client, server, db)


async def post(session: aiohttp.ClientSession, url: str, body: bytes, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with session.post(url, data=body, headers=headers) as resp:
        answer = await resp.read()
    result = orjson.loads(answer)
    if resp.status != 200 or result.get("callTaskErrors"):
        raise SystemExit(f"import failed: {resp.status} {answer[:300]!r}")


async def raw_copy(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table("contacts", records=rows, columns=COPY_COLUMNS)


async def vacuum(conn: asyncpg.Connection) -> float:
    """What autovacuum does after an import (migration 0012), among it the merge of the
    numbers' GIN pending list, done here and timed, so that it is not done in the middle of
    the next measurement."""
    started = time.perf_counter()
    await conn.execute("VACUUM contacts")
    return time.perf_counter() - started


async def bench(n: int, runs: int) -> None:
    request = build_request(n)
    body = orjson.dumps(request)
    rows = copy_rows(request)

    name = f"dialerd_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    port = free_port()
    env = os.environ | {
        "DIALERD_DATABASE_URL": dsn,
        "DIALERD_HTTP_PORT": str(port),
        "DIALERD_LOG_LEVEL": "warning",
    }
    env.pop("DIALERD_AMI_HOST", None)  # the HTTP API only
    server = None
    conn = None
    try:
        token, campaign = await prepare(dsn)
        started = time.perf_counter()
        validate(orjson.loads(body), Setup(True, campaign, frozenset()))
        validate_s = time.perf_counter() - started
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialerd.cli", "serve", env=env, cwd=ROOT
        )
        conn = await asyncpg.connect(dsn)  # default codecs: binary COPY of jsonb as text
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/itxdialer/calltaskimport"
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_healthy(session, base, server)
            meter = Meter(conn, name, server.pid)
            imports, copies = [], []
            merges: list[float] = []
            for _ in range(runs):
                await conn.execute("TRUNCATE contacts CASCADE")
                imports.append(await meter.run(post(session, url, body, token)))
                merges.append(await vacuum(conn))
                await conn.execute("TRUNCATE contacts CASCADE")
                copies.append(await meter.run(raw_copy(conn, rows)))
                await vacuum(conn)
            await conn.execute("TRUNCATE contacts CASCADE")
            await post(session, url, body, token)
            # The same request again: every task matches its open call task, unchanged.
            reimport = await meter.run(post(session, url, body, token))
        assert await conn.fetchval("SELECT count(*) FROM contacts") == n
    finally:
        if conn is not None:
            await conn.close()
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    best_import = min(imports, key=lambda t: t.wall)
    best_copy = min(copies, key=lambda t: t.wall)
    median = statistics.median(t.wall for t in imports)
    load = os.getloadavg()[0]
    print(f"calltask import, {n} tasks x 2 numbers, one {len(body) / 1e6:.1f} MB request over HTTP")
    print(f"best of {runs} runs; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"  end to end              {best_import.wall:6.2f} s  (median {median:.2f} s)")
    print(f"  import                  {n / best_import.wall:8.0f} tasks/s")
    print(f"  raw COPY of the rows    {n / best_copy.wall:8.0f} rows/s   ({best_copy.wall:.2f} s)")
    print(f"  ratio import / COPY     {best_copy.wall / best_import.wall:8.2f}")
    print(f"  re-send, all unchanged  {reimport.wall:6.2f} s  ({n / reimport.wall:.0f} tasks/s)")
    merge = statistics.median(merges)
    print(f"  VACUUM after an import  {min(merges):6.2f} s  (median {merge:.2f} s)")
    print("CPU seconds (what a quiet machine would take):")
    for label, t in (("import", best_import), ("raw COPY", best_copy), ("re-send", reimport)):
        print(
            f"  {label:<10} {t.cpu:5.2f} s = client {t.client_cpu:.2f} + dialerd serve "
            f"{t.server_cpu:.2f} + Postgres {t.db_cpu:.2f}"
        )
    print(f"  ratio import / COPY by CPU {best_copy.cpu / best_import.cpu:.2f}")
    print(f"  parse + validate in-process: {validate_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(bench(args.tasks, args.runs))


if __name__ == "__main__":
    main()
