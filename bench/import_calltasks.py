"""Benchmark: one calltask import request of 100,000 tasks (two numbers each), end to end.

Starts ``dialerd serve`` on a free port against a fresh database, posts the request over HTTP
and prints tasks/s next to the rows/s of a raw asyncpg ``copy_records_to_table`` of the same
rows, measured in the same run. Not a test: it prints figures.

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
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from yarl import URL

from dialerd.api.auth import create_token
from dialerd.calltasks.validate import CampaignSetup, Setup, parse_body, validate
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect

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
    session: aiohttp.ClientSession, base: str, server: asyncio.subprocess.Process
) -> None:
    for _ in range(200):
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


async def prepare(dsn: str) -> str:
    conn = await connect(dsn)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO calling_systems (code) VALUES ($1)", SYSTEM)
        await conn.execute(
            "INSERT INTO campaigns (id, name, queue, dial_string) VALUES ($1, 'Bench', 'q', $2)",
            CAMPAIGN,
            "PJSIP/{number}@trunk",
        )
        return await create_token(conn, 1)
    finally:
        await conn.close()


async def post(session: aiohttp.ClientSession, url: str, body: bytes, token: str) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as resp:
        answer = await resp.read()
    elapsed = time.perf_counter() - started
    result = orjson.loads(answer)
    if resp.status != 200 or result.get("callTaskErrors"):
        raise SystemExit(f"import failed: {resp.status} {answer[:300]!r}")
    return elapsed


async def raw_copy(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> float:
    started = time.perf_counter()
    await conn.copy_records_to_table("contacts", records=rows, columns=COPY_COLUMNS)
    return time.perf_counter() - started


async def bench(n: int, runs: int) -> None:
    request = build_request(n)
    body = orjson.dumps(request)
    rows = copy_rows(request)

    started = time.perf_counter()
    validate(
        parse_body(body), Setup(True, CampaignSetup(CAMPAIGN, "q", "d{number}", None), frozenset())
    )
    validate_s = time.perf_counter() - started

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
        token = await prepare(dsn)
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialerd.cli", "serve", env=env, cwd=ROOT
        )
        conn = await asyncpg.connect(dsn)  # default codecs: binary COPY of jsonb as text
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/itxdialer/calltaskimport"
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await wait_healthy(session, base, server)
            imports, copies = [], []
            for _ in range(runs):
                await conn.execute("TRUNCATE contacts CASCADE")
                imports.append(await post(session, url, body, token))
                await conn.execute("TRUNCATE contacts CASCADE")
                copies.append(await raw_copy(conn, rows))
            await conn.execute("TRUNCATE contacts CASCADE")
            await post(session, url, body, token)
            reimport = await post(session, url, body, token)  # every task updates its open one
        assert await conn.fetchval("SELECT count(*) FROM contacts") == n
    finally:
        if conn is not None:
            await conn.close()
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    best_import, best_copy = min(imports), min(copies)
    print(f"calltask import, {n} tasks x 2 numbers, one request over HTTP ({runs} runs)")
    print(f"  body                    {len(body) / 1e6:8.1f} MB")
    median = statistics.median(imports)
    print(f"  end to end (best)       {best_import:8.2f} s   median {median:.2f} s")
    print(f"  import                  {n / best_import:8.0f} tasks/s")
    print(f"  raw COPY of the rows    {n / best_copy:8.0f} rows/s  ({best_copy:.2f} s)")
    print(f"  ratio import / COPY     {best_copy / best_import:8.2f}")
    print(f"  re-import (all updates) {reimport:8.2f} s   {n / reimport:.0f} tasks/s")
    print(f"  parse + validate (CPU)  {validate_s:8.2f} s   (in-process, part of end to end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(bench(args.tasks, args.runs))


if __name__ == "__main__":
    main()
