"""Benchmark: the campaign list's figures, the reports and the exports on a large store.

A fresh database gets client 1's campaigns with ``--contacts`` contacts between them (and
client 2's with a fifth as many, which the figures must skip), 30 days of history at
``--attempts-per-day`` (a third answered by a person, 2% of those abandoned) and a day's
agent minutes (8 hours) of 3 agents per campaign for every one of the 30 days. Then, each the median
of ``--runs`` after one warm-up: ``campaign_figures`` (one statement for all of client 1's
campaigns), the 30-day report of all its campaigns and of one; then the CSV and .xlsx export
of the last ``--export-days`` days once each (several: ``--export-days 3,30``), with the
rows/s and the process's peak RSS over its RSS at the export's start, and as the reference
the same workbook built in memory (xlsxwriter without constant_memory). Not a test: it prints
figures.

    .venv/bin/python bench/reports.py [--contacts 1000000] [--attempts-per-day 40000]

DIALERD_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the
server; a database ``dialerd_bench_<random>`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import xlsxwriter
from yarl import URL

from dialerd.reports import export, service
from dialerd.reports.figures import Period
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect, create_pool

ADMIN_DSN = os.environ.get(
    "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CAMPAIGNS = 20
AGENTS = 3  # per campaign
MIGRATION_0011_INDEXES = ("contact_history_live_answers",)  # its only index (see the migration)

# Contacts of client 1's campaigns, then client 2's (a fifth as many), each campaign's in one
# run as an import writes them: 55% open (a third of them due later, one in twenty locked,
# 200 with a call in progress: a full DIALERD_MAX_CALLS_IN_FLIGHT), 30% done, 15% finished;
# one or two numbers.
CONTACTS = """
INSERT INTO contacts (campaign_id, name, user_data, phone_numbers, number_tries,
                      number_last_cause, number_end_reason, number_invalid, max_attempts,
                      min_call_interval_h, state, locked, attempts, dt_next_try, open_attempt_id)
SELECT CASE WHEN g > $1 THEN $2 + 1 + (g - $1 - 1) * 4 / ($1 / 5)
            ELSE 1 + (g - 1) * $2 / $1 END, 'Customer ' || g, 'C' || g,
       n.numbers, f.tries, f.last_cause, f.end_reason, f.invalid, 3, 12,
       CASE WHEN g % 20 < 11 THEN 'open' WHEN g % 20 < 17 THEN 'done' ELSE 'finished' END,
       g % 20 = 3, g % 3,
       CASE WHEN g % 3 = 0 THEN now() + interval '2 hours'
            WHEN g % 3 = 1 THEN now() - interval '1 hour' END,
       CASE WHEN g % 6000 = 7 THEN g END
FROM generate_series(1, $1::int + $1 / 5) g
CROSS JOIN LATERAL (
    SELECT CASE WHEN g % 2 = 0 THEN ARRAY['+4791' || lpad(g::text, 6, '0')]
                ELSE ARRAY['+4791' || lpad(g::text, 6, '0'), '+4792' || lpad(g::text, 6, '0')]
           END AS numbers
) n
CROSS JOIN LATERAL fresh_number_state(n.numbers) f
"""

# Attempts of the last 30 days, on the contacts of their campaign: a third answered by a
# person (one in fifty of those abandoned), one in twenty a machine.
HISTORY = """
INSERT INTO contact_history (contact_id, campaign_id, client_id, user_data, phone_number,
                             phone_number_offset, status, dt_call_start, dt_call_alert,
                             dt_call_connect, dt_agent_connect, dt_call_end, connres,
                             cause_code, agent, abandoned, machine)
SELECT c.id, c.campaign_id, cp.client_id, c.user_data, c.phone_numbers[1], 1, 'closed',
       t.end_at - interval '40 s', t.end_at - interval '35 s',
       CASE WHEN g % 3 = 0 OR g % 20 = 1 THEN t.end_at - interval '30 s' END,
       CASE WHEN g % 3 = 0 AND g % 150 <> 0 THEN t.end_at - interval '28 s' END, t.end_at,
       CASE WHEN g % 3 = 0 AND g % 150 <> 0 THEN 1 WHEN g % 3 = 0 OR g % 20 = 1 THEN 4
            WHEN g % 3 = 1 THEN 2 ELSE 3 END,
       CASE WHEN g % 3 = 1 THEN 19 WHEN g % 3 = 2 AND g % 20 <> 1 THEN 17 ELSE 16 END,
       CASE WHEN g % 3 = 0 AND g % 150 <> 0 THEN 'PJSIP/agent' || (g % 50) END,
       g % 150 = 0, g % 20 = 1 AND g % 3 <> 0
FROM generate_series(1, $1::int) g
CROSS JOIN LATERAL (SELECT now() - (g::float8 / $1 * 30) * interval '1 day' AS end_at) t
JOIN contacts c ON c.id = 1 + (g::bigint * 7919) % $2
JOIN campaigns cp ON cp.id = c.campaign_id
"""

AGENT_MINUTES = """
INSERT INTO agent_minutes (minute, instance_id, campaign_id, agent, talk_s, wrapup_s, ready_s,
                           paused_s)
SELECT date_trunc('minute', now()) - m * interval '1 minute' - d * interval '1 day', 'bench',
       cp.id, 'PJSIP/agent' || a, 40, 5, 10, 5
FROM campaigns cp, generate_series(0, 29) d, generate_series(0, 479) m,
     generate_series(1, $1::int) a
"""


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(median, best) seconds of ``runs`` runs after a warm-up."""
    await work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def ms(median: float, best: float) -> str:
    return f"median {median * 1000:.0f} ms, best {best * 1000:.0f} ms"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def restart_peak_rss() -> float:
    """Starts the peak RSS (VmHWM) again from the RSS now (Linux: clear_refs 5); the RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_rss_mb()


async def xlsx_in_memory(batches: AsyncIterable[Sequence[Any]], path: Path) -> None:
    """The reference: the same sheet with every cell held until the workbook is closed."""
    book = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    sheet = book.add_worksheet("attempts")
    sheet.write_row(0, 0, export.COLUMNS)
    row = 1
    async for rows in batches:
        for r in rows:
            sheet.write_row(row, 0, export.attempt_values(r))
            row += 1
    book.close()


async def export_once(pool: asyncpg.Pool, period: Period, label: str, kind: str) -> None:
    """One export of client 1's attempts in ``period``: its time, rate and peak RSS growth."""
    before = restart_peak_rss()
    start = time.perf_counter()
    rows = 0

    async def counted(batches: AsyncIterable[Sequence[Any]]) -> AsyncIterator[Sequence[Any]]:
        nonlocal rows
        async for batch in batches:
            rows += len(batch)
            yield batch

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attempts.xlsx"
        async with service.attempts(pool, 1, None, period) as batches:
            if kind == "CSV":
                async for _ in export.csv_chunks(counted(batches)):
                    pass
            elif kind == ".xlsx":
                await export.write_xlsx(counted(batches), path)
            else:
                await xlsx_in_memory(counted(batches), path)
        took = time.perf_counter() - start
        size = f", {path.stat().st_size / 2**20:.1f} MiB" if kind != "CSV" else ""
    print(
        f"{kind} export, {label}: {rows} attempts in {took:.1f} s ({rows / took:,.0f}/s){size},"
        f" peak RSS +{peak_rss_mb() - before:.1f} MiB"
    )


async def fill(dsn: str, contacts: int, attempts: int) -> None:
    conn = await connect(dsn)
    try:
        await migrate(conn)
        for i in range(1, CAMPAIGNS + 5):
            client = 1 if i <= CAMPAIGNS else 2
            await conn.execute(
                "INSERT INTO campaigns (id, client_id, name, timezone) VALUES ($1, $2, $3, $4)",
                i,
                client,
                f"Campaign {i}",
                "Europe/Oslo" if i % 2 else "America/New_York",
            )
        start = time.perf_counter()
        await conn.execute(CONTACTS, contacts, CAMPAIGNS)
        await conn.execute(HISTORY, attempts, contacts)
        await conn.execute(AGENT_MINUTES, AGENTS)
        await conn.execute("VACUUM ANALYZE")
        sizes = await conn.fetch(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables"
            " WHERE relname IN ('contacts', 'contact_history', 'agent_minutes') ORDER BY 1"
        )
        print(f"filled in {time.perf_counter() - start:.0f} s:", {r[0]: r[1] for r in sizes})
    finally:
        await conn.close()


async def measure(dsn: str, runs: int, export_days: list[int]) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            figures = await service.campaign_figures(conn, 1)
            due = sum(f.due_now for f in figures.values())
            print(f"campaign_figures: {len(figures)} campaigns, {due} contacts due now")
            median, best = await timed(runs, lambda: service.campaign_figures(conn, 1))
            print(f"campaign_figures, client 1: {ms(median, best)}")
            without = conn.transaction()
            await without.start()
            try:
                await conn.execute(f"DROP INDEX {', '.join(MIGRATION_0011_INDEXES)}")
                median, best = await timed(runs, lambda: service.campaign_figures(conn, 1))
                print(f"campaign_figures without migration 0011's indexes: {ms(median, best)}")
            finally:
                await without.rollback()
            today = datetime.now(UTC).date()
            month = Period(today - timedelta(days=29), today)
            for label, campaign in (("all campaigns", None), ("campaign 1", 1)):
                median, best = await timed(runs, partial(service.report, conn, 1, campaign, month))
                print(f"report, 30 days, {label}: {ms(median, best)}")
        for days in export_days:
            period = Period(today - timedelta(days=days - 1), today)
            for kind in ("CSV", ".xlsx", ".xlsx in memory (reference)"):
                await export_once(pool, period, f"{days} days", kind)
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--attempts-per-day", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--export-days",
        type=lambda v: [int(d) for d in v.split(",")],
        default=[30],
        help="days to export, several with commas: 3,30",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (its name is printed)"
    )
    args = parser.parse_args()
    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    print("database", name)
    try:
        await fill(dsn, args.contacts, args.attempts_per_day * 30)
        await measure(dsn, args.runs, args.export_days)
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
