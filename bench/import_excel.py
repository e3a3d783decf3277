"""Benchmark: the import from Excel of 100,000 rows, end to end, next to the calltask API import
of the same rows in the same run; and the import's peak memory for 10,000 and 100,000 rows.

The .xlsx has the calltask benchmark's tasks (bench/import_calltasks.py), a row each: name,
extCustId, systemLookupCode and the two numbers as numeric cells, as spreadsheets keep them
(4791000000, the leading + lost: the campaign's default region NO puts it back). It is written
in two kinds: texts in the cells (``inline``, xlsxwriter's constant-memory mode), and texts in a
shared strings table (``shared``, as Excel saves a workbook: 300,000 distinct texts for 100,000
rows). Both imports go over HTTP to ``dialerd serve``: the Excel import as a console user does
it (sign in, upload to /console/imports, start with the guessed mapping, then until the job's
row says done), the calltask import as one request. Memory: for each size and kind a fresh
``dialerd serve`` imports one file through the console; its peak RSS (VmHWM, reset after
sign-in) is compared with its RSS before the upload.
Not a test: it prints figures.

    .venv/bin/python bench/import_excel.py [--rows 100000] [--runs 3]

DIALERD_BENCH_DATABASE_URL as in bench/import_calltasks.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
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

from dialerd.domain import Role
from dialerd.store.pool import connect
from dialerd.users.service import add_user

HEADER = ["Name", "Kundennummer", "Referenz", "Telefon", "Mobil"]
MAPPING = ["name", "extCustId", "systemLookupCode", "phone1", "phone2"]
LOGIN = "bench"
PASSWORD = "bench password, not secret"


KINDS = ("inline", "shared")


def write_xlsx(request: dict[str, Any], path: Path, kind: str) -> None:
    """The tasks as a sheet, its texts in the cells (inline) or in a shared strings table."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": kind == "inline"})
    sheet = book.add_worksheet("Kunden")
    sheet.write_row(0, 0, HEADER)
    for row, task in enumerate(request["callTasks"], start=1):
        sheet.write_string(row, 0, task["callReceiverName"])
        sheet.write_string(row, 1, task["extCustId"])
        sheet.write_string(row, 2, task["systemLookupCode"])
        for column, number in enumerate(task["callNumberList"], start=3):
            sheet.write_number(row, column, int(number[1:]))  # stored as a number: + lost
    book.close()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(session: aiohttp.ClientSession, base: str) -> str:
    """Signs the console user in (the session keeps the cookie); the session's CSRF token."""
    form = {"login": LOGIN, "password": PASSWORD}
    async with session.post(f"{base}/console/signin", data=form, allow_redirects=False) as resp:
        if resp.status != 303:
            raise SystemExit(f"console sign-in failed: {resp.status}")
    async with session.get(f"{base}/console/imports") as resp:
        found = _CSRF.search(await resp.text())
    if found is None:
        raise SystemExit("no CSRF token on /console/imports")
    return found.group(1)


async def console_import(
    session: aiohttp.ClientSession, base: str, csrf: str, conn: asyncpg.Connection, data: bytes
) -> None:
    """Upload, start with the guessed mapping, and wait for the job's row to say done."""
    form = aiohttp.FormData()
    form.add_field("campaign", str(CAMPAIGN))
    form.add_field("file", data, filename="bench.xlsx")
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    async with session.post(f"{base}/console/imports", data=form, headers=headers) as resp:
        target = resp.headers.get("HX-Redirect")
        if resp.status != 204 or target is None:
            raise SystemExit(f"upload failed: {resp.status} {(await resp.text())[:300]}")
    import_id = int(target.rsplit("/", 1)[1])
    start = {"csrf_token": csrf, "sheet": "Kunden", "width": str(len(MAPPING))}
    start |= {f"map.{c}": field for c, field in enumerate(MAPPING)}
    start |= {"system": SYSTEM, "attempts": "3", "interval": "12"}
    async with session.post(f"{base}{target}/start", data=start, allow_redirects=False) as resp:
        if resp.status != 303:
            raise SystemExit(f"start failed: {resp.status} {(await resp.text())[:300]}")
    while True:
        row = await conn.fetchrow(
            "SELECT status, error, refused FROM file_imports WHERE id = $1", import_id
        )
        assert row is not None
        if row["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.02)
    if row["status"] != "done" or row["refused"]:
        raise SystemExit(f"excel import failed: {row['status']} {row['error']} {row['refused']}")


def status_kb(pid: int, field: str) -> int:
    """A figure of /proc/<pid>/status in kB: VmRSS now, VmHWM the peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for process {pid}")


@contextlib.asynccontextmanager
async def serving(dsn: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``dialerd serve`` on a free port: (the process, its base URL), until the block ends."""
    port = free_port()
    env = os.environ | {
        "DIALERD_DATABASE_URL": dsn,
        "DIALERD_HTTP_PORT": str(port),
        "DIALERD_LOG_LEVEL": "warning",
        "DIALERD_IMPORT_MAX_BYTES": str(1 << 30),
    }
    env.pop("DIALERD_AMI_HOST", None)  # the HTTP API and the console only
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialerd.cli", "serve", env=env, cwd=ROOT
    )
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)


def _session() -> aiohttp.ClientSession:
    # unsafe: keep the session cookie of a server addressed by IP (127.0.0.1)
    jar = aiohttp.CookieJar(unsafe=True)
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300), cookie_jar=jar)


async def memory(
    rows: int, kind: str, dsn: str, conn: asyncpg.Connection, folder: Path
) -> dict[str, int]:
    """A fresh server's RSS before and its peak after importing ``rows`` rows, and the file's
    size."""
    path = folder / f"rows{rows}-{kind}.xlsx"
    await asyncio.to_thread(write_xlsx, build_request(rows), path, kind)
    data = await asyncio.to_thread(path.read_bytes)
    await conn.execute("TRUNCATE contacts CASCADE")
    async with serving(dsn) as (server, base), _session() as session:
        await wait_healthy(session, base, server)
        csrf = await sign_in(session, base)
        # The peak from here on: signing in (argon2, memory-hard) has its own, larger one.
        await asyncio.to_thread(Path(f"/proc/{server.pid}/clear_refs").write_text, "5")
        before = status_kb(server.pid, "VmRSS")
        await console_import(session, base, csrf, conn, data)
        peak = status_kb(server.pid, "VmHWM")
    return {"before_kb": before, "peak_kb": peak, "file_bytes": len(data)}


async def bench(n: int, runs: int, sizes: list[int]) -> None:
    request = build_request(n)
    body = orjson.dumps(request)
    folder = Path(tempfile.mkdtemp(prefix="dialerd_bench_"))
    files = {}
    for kind in KINDS:
        write_xlsx(request, folder / f"bench-{kind}.xlsx", kind)
        files[kind] = (folder / f"bench-{kind}.xlsx").read_bytes()

    name = f"dialerd_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    conn = None
    try:
        token, _ = await prepare(dsn)
        conn = await connect(dsn)
        await conn.execute("UPDATE campaigns SET default_region = 'NO' WHERE id = $1", CAMPAIGN)
        await add_user(conn, 1, LOGIN, PASSWORD, Role.SUPERVISOR)
        excel: dict[str, list[Timing]] = {kind: [] for kind in KINDS}
        api: list[Timing] = []
        async with serving(dsn) as (server, base), _session() as session:
            await wait_healthy(session, base, server)
            csrf = await sign_in(session, base)
            meter = Meter(conn, name, server.pid)
            url = f"{base}/itxdialer/calltaskimport"
            for _ in range(runs):
                for kind, data in files.items():
                    await conn.execute("TRUNCATE contacts CASCADE")
                    work = console_import(session, base, csrf, conn, data)
                    excel[kind].append(await meter.run(work))
                await conn.execute("TRUNCATE contacts CASCADE")
                api.append(await meter.run(post(session, url, body, token)))
        assert await conn.fetchval("SELECT count(*) FROM contacts") == n
        numbers = await conn.fetchval("SELECT phone_numbers FROM contacts ORDER BY id LIMIT 1")
        rss = {
            (rows, kind): await memory(rows, kind, dsn, conn, folder)
            for kind in KINDS
            for rows in sizes
        }
    finally:
        if conn is not None:
            await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    best_api = min(api, key=lambda t: t.wall)
    load = os.getloadavg()
    sizes_mb = ", ".join(f"{kind} {len(data) / 1e6:.1f} MB" for kind, data in files.items())
    print(f"{n} rows x 2 numbers: .xlsx ({sizes_mb}; numbers as numeric cells,")
    print(
        f"stored as {numbers}), and the same tasks as one {len(body) / 1e6:.1f} MB calltask request"
    )
    print(
        f"best of {runs} runs; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
        f" on {os.cpu_count()} cores"
    )
    rows: list[tuple[str, list[Timing]]] = [
        *((f"Excel import ({kind}), end to end", runs_) for kind, runs_ in excel.items()),
        ("calltask API import (HTTP)", api),
    ]
    for label, all_runs in rows:
        best = min(all_runs, key=lambda t: t.wall)
        median = statistics.median(t.wall for t in all_runs)
        print(
            f"  {label:<35} {best.wall:6.2f} s  (median {median:.2f} s)  "
            f"{n / best.wall:8.0f} rows/s  CPU {best.cpu:.2f} s"
            f"  ({best.wall / best_api.wall:.2f} x API)"
        )
    print("peak RSS of a fresh dialerd serve importing one file (kB: peak, before, growth):")
    for (count, kind), fig in rss.items():
        growth = fig["peak_kb"] - fig["before_kb"]
        print(
            f"  {count:>7} rows {kind:<6} ({fig['file_bytes'] / 1e6:.1f} MB)  "
            f"peak {fig['peak_kb']:>7}  before {fig['before_kb']:>7}  growth {growth:>7}  "
            f"({growth / count:.2f} kB/row)"
        )


def main() -> None:
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
