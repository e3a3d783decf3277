"""Benchmark: a do-not-call file of 1,000,000 numbers loaded into the installation's list,
the way ``dialerd dnc load`` does it (``dialerd.dnc.service.read_file`` then ``load_file``),
and the claim of due contacts with that list in place.

Writes the file (random US numbers: E.164, or ``--national`` as the US registry ships them,
ten digits read with region US; ``--xlsx`` an Excel sheet instead of CSV), loads it into a
fresh database, loads it again (every number already listed), then times claims of 50
contacts of which a tenth have a listed number. Not a test: it prints a Markdown table.

    .venv/bin/python bench/dnc_load.py [--numbers 1000000] [--national] [--xlsx]

The database is made for the run, and dropped after it, on the server
DIALERD_BENCH_DATABASE_URL names (default: the local one, user postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import xlsxwriter
from yarl import URL

from dialerd.dnc import service
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect, create_pool

CONTACTS = 10_000  # due, a tenth of them with a listed number
CLAIMS = 20


def numbers(n: int) -> list[str]:
    """``n`` distinct ten-digit US numbers (area and exchange codes start with 2-9)."""
    rng = random.Random(7)
    found: set[str] = set()
    while len(found) < n:
        found.add(f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}")
    return sorted(found)


def write(path: Path, rows: list[str], xlsx: bool) -> None:
    if not xlsx:
        path.write_text("PhoneNumber\n" + "\n".join(rows) + "\n")
        return
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write(0, 0, "PhoneNumber")
    for i, number in enumerate(rows, start=1):
        sheet.write_string(i, 0, number)
    book.close()


async def run(dsn: str, n: int, national: bool, xlsx: bool) -> None:
    conn = await connect(dsn)
    await migrate(conn)
    listed = numbers(n)
    rows = listed if national else ["+1" + x for x in listed]
    region = "US" if national else None
    out: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("dnc.xlsx" if xlsx else "dnc.csv")
        write(path, rows, xlsx)
        out.append(("file", f"{path.suffix}, {path.stat().st_size / 1e6:.1f} MB, {n:,} rows"))
        for run_name in ("first load", "again (all listed)"):
            started = time.perf_counter()
            found = await asyncio.to_thread(service.read_file, path, region)
            read_s = time.perf_counter() - started
            loaded = await service.load_file(conn, None, found, path.name)
            total_s = time.perf_counter() - started
            out.append(
                (
                    run_name,
                    f"{total_s:.1f} s ({read_s:.1f} s reading and normalising, "
                    f"{total_s - read_s:.1f} s into Postgres), {loaded.added:,} added",
                )
            )
    campaign = await conn.fetchval(
        "INSERT INTO campaigns (name, queue, dial_string, window_start, window_end,"
        " window_days) VALUES ('bench', 'q', 'PJSIP/{number}@t', '00:00', '23:59:59',"
        " '{1,2,3,4,5,6,7}') RETURNING id"
    )
    await conn.execute(
        "INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries,"
        " number_last_cause, number_end_reason, number_invalid, max_attempts,"
        " min_call_interval_h)"
        " SELECT $1, 'x', ARRAY[CASE WHEN g % 10 = 0 THEN ($2::text[])[g] ELSE '+4930' || g END],"
        " '{0}', '{0}', '{0}', '{f}', 3, 0 FROM generate_series(1, $3::int) g",
        campaign,
        ["+1" + x for x in listed[:CONTACTS]],
        CONTACTS,
    )
    await conn.execute("ANALYZE")
    pool = await create_pool(dsn)
    store = PostgresDialerStore(pool, "bench", 60)
    times = []
    for _ in range(CLAIMS):
        started = time.perf_counter()
        claimed = await store.claim(campaign, 50)
        times.append(time.perf_counter() - started)
        await store.release([(c.id, await conn.fetchval("SELECT now()")) for c in claimed])
    listed_slots = sum(s.dnc for c in claimed for s in c.slots)
    times.sort()
    out.append(
        (
            "claim of 50 due contacts",
            f"median {times[len(times) // 2] * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms "
            f"({listed_slots} of the last 50 on the list)",
        )
    )
    await pool.close()
    await conn.close()
    print("| | |\n| --- | --- |")
    for name, value in out:
        print(f"| {name} | {value} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--national", action="store_true", help="ten digits, region US")
    parser.add_argument("--xlsx", action="store_true", help="an Excel sheet instead of CSV")
    args = parser.parse_args()
    server = os.environ.get(
        "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = str(URL(server).with_path("/" + name))
        await run(dsn, args.numbers, args.national, args.xlsx)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
