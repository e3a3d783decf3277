"""Benchmark: the import from Excel of 100,000 rows, end to end, next to the calltask API import
of the same rows in the same run; and the import's peak memory for 10,000 and 100,000 rows.

The .xlsx has the calltask benchmark's tasks (bench/import_calltasks.py), a row each: name,
extCustId, systemLookupCode and the two numbers as numeric cells, as spreadsheets keep them
(4791000000, the leading + lost: the campaign's default region NO puts it back). The Excel
import runs in this process through dialerd.imports (upload, start, the background job); the
calltask import is one request over HTTP to ``dialerd serve``. Memory: each size is imported
by a child process of its own, which reports its peak RSS (VmHWM) and its RSS before it
read the file. Not a test: it prints figures.

    .venv/bin/python bench/import_excel.py [--rows 100000] [--runs 3]

DIALERD_BENCH_DATABASE_URL as in bench/import_calltasks.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import xlsxwriter
from import_calltasks import (  # bench/ is this script's folder
    ADMIN_DSN,
    CAMPAIGN,
    ROOT,
    SYSTEM,
    Meter,
    Timing,
    build_request,
    free_port,
    post,
    prepare,
    wait_healthy,
)
from yarl import URL

from dialerd.imports import service
from dialerd.imports.jobs import ImportJobs
from dialerd.store.imports import Settings, Uploader
from dialerd.store.pool import create_pool

HEADER = ["Name", "Kundennummer", "Referenz", "Telefon", "Mobil"]
MAPPING = ["name", "extCustId", "systemLookupCode", "phone1", "phone2"]
WHO = Uploader(None, "bench")


def write_xlsx(request: dict[str, Any], path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Kunden")
    sheet.write_row(0, 0, HEADER)
    for row, task in enumerate(request["callTasks"], start=1):
        sheet.write_string(row, 0, task["callReceiverName"])
        sheet.write_string(row, 1, task["extCustId"])
        sheet.write_string(row, 2, task["systemLookupCode"])
        for column, number in enumerate(task["callNumberList"], start=3):
            sheet.write_number(row, column, int(number[1:]))  # stored as a number: + lost
    book.close()


async def excel_import(pool: asyncpg.Pool, data: bytes) -> None:
    """Upload, start and run one import to its end, every row imported."""
    async with pool.acquire() as conn:
        import_id = await service.upload(conn, 1, CAMPAIGN, WHO, "bench.xlsx", data, 1 << 30)
        chosen = Settings("Kunden", MAPPING, SYSTEM, 3, 12)
        await service.start(conn, 1, import_id, chosen, WHO)
    assert await ImportJobs(pool).run_one()
    async with pool.acquire() as conn:
        job = await service.get(conn, 1, import_id)
    assert job is not None
    if job.status != "done" or job.refused:
        raise SystemExit(f"excel import failed: {job.status} {job.error} refused={job.refused}")


async def child(path: str, dsn: str) -> None:
    """Imports one file and prints its RSS figures (kB) as JSON: peak and before reading."""
    pool = await create_pool(dsn, min_size=2, max_size=3)
    try:
        before = _status_kb("VmRSS")
        data = await asyncio.to_thread(Path(path).read_bytes)
        await excel_import(pool, data)
    finally:
        await pool.close()
    peak = _status_kb("VmHWM")
    print(orjson.dumps({"before_kb": before, "peak_kb": peak, "file_bytes": len(data)}).decode())


def _status_kb(field: str) -> int:
    """A figure of /proc/self/status in kB: VmRSS now, VmHWM the peak (ru_maxrss would carry
    the parent's peak over the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")


async def memory(rows: int, dsn: str, conn: asyncpg.Connection, folder: Path) -> dict[str, Any]:
    path = folder / f"rows{rows}.xlsx"
    write_xlsx(build_request(rows), path)
    await conn.execute("TRUNCATE contacts CASCADE")
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--child",
        str(path),
        dsn,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await done.communicate()
    if done.returncode != 0:
        raise SystemExit(f"memory child for {rows} rows failed")
    figures: dict[str, Any] = orjson.loads(out.splitlines()[-1])
    return figures


async def bench(n: int, runs: int, sizes: list[int]) -> None:
    request = build_request(n)
    body = orjson.dumps(request)
    folder = Path(tempfile.mkdtemp(prefix="dialerd_bench_"))
    xlsx = folder / "bench.xlsx"
    write_xlsx(request, xlsx)
    data = xlsx.read_bytes()

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
    env.pop("DIALERD_AMI_HOST", None)
    server = None
    conn = None
    pool = None
    try:
        token, _ = await prepare(dsn)
        conn = await asyncpg.connect(dsn)
        await conn.execute("UPDATE campaigns SET default_region = 'NO' WHERE id = $1", CAMPAIGN)
        pool = await create_pool(dsn, min_size=2, max_size=4)
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialerd.cli", "serve", env=env, cwd=ROOT
        )
        base = f"http://127.0.0.1:{port}"
        url = f"{base}/itxdialer/calltaskimport"
        excel: list[Timing] = []
        api: list[Timing] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            await wait_healthy(session, base, server)
            meter = Meter(conn, name, server.pid)
            for _ in range(runs):
                await conn.execute("TRUNCATE contacts CASCADE")
                excel.append(await meter.run(excel_import(pool, data)))
                await conn.execute("TRUNCATE contacts CASCADE")
                api.append(await meter.run(post(session, url, body, token)))
        assert await conn.fetchval("SELECT count(*) FROM contacts") == n
        numbers = await conn.fetchval("SELECT phone_numbers FROM contacts ORDER BY id LIMIT 1")
        rss = {rows: await memory(rows, dsn, conn, folder) for rows in sizes}
    finally:
        if pool is not None:
            await pool.close()
        if conn is not None:
            await conn.close()
        if server is not None:
            server.terminate()
            await asyncio.wait_for(server.wait(), 10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    best_excel = min(excel, key=lambda t: t.wall)
    best_api = min(api, key=lambda t: t.wall)
    load = os.getloadavg()[0]
    print(f"{n} rows x 2 numbers: .xlsx of {len(data) / 1e6:.1f} MB (numbers as numeric cells,")
    print(
        f"stored as {numbers}), and the same tasks as one {len(body) / 1e6:.1f} MB calltask request"
    )
    print(f"best of {runs} runs; load average {load:.1f} on {os.cpu_count()} cores")
    for label, best, all_runs in (
        ("Excel import, end to end", best_excel, excel),
        ("calltask API import (HTTP)", best_api, api),
    ):
        median = statistics.median(t.wall for t in all_runs)
        print(
            f"  {label:<28} {best.wall:6.2f} s  (median {median:.2f} s)  "
            f"{n / best.wall:8.0f} rows/s  CPU {best.cpu:.2f} s"
        )
    print(f"  ratio Excel / API          {best_excel.wall / best_api.wall:6.2f}")
    print("peak RSS of a process that imports one file (kB: peak, before reading, growth):")
    for rows, fig in rss.items():
        growth = fig["peak_kb"] - fig["before_kb"]
        print(
            f"  {rows:>7} rows ({fig['file_bytes'] / 1e6:.1f} MB)  peak {fig['peak_kb']:>7}  "
            f"before {fig['before_kb']:>7}  growth {growth:>7}  ({growth / rows:.2f} kB/row)"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(bench(args.rows, args.runs, args.memory_rows))
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
