"""Benchmark: the call task search's page time with 1,000,000 contacts in one campaign.

Loads a million contacts (random names, one to three numbers, states, outcomes and next
tries as a campaign has them after some days of dialling) into one campaign of a fresh
database, then, for every filter of the screen and every sort (id, name, next try, each
both ways), times the first page and a deep one (a cursor 90% of the way through the
campaign in that order) through ``dialerd.contacts.service.search``, the console's own call,
and reads the page query's plan with EXPLAIN ANALYZE. Also the count an action's
confirmation shows. Not a test: it prints a Markdown table.

    .venv/bin/python bench/contact_search.py [--contacts 1000000] [--runs 3]

DIALERD_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the
server; a database ``dialerd_bench_<random>`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
from yarl import URL

from dialerd.contacts import service
from dialerd.contacts.search import Cursor, Search, encode_cursor, parse_search
from dialerd.domain import ContactAction
from dialerd.store.contact_search import arguments
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect, create_pool
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

ADMIN_DSN = os.environ.get(
    "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CAMPAIGN = 123
CLIENT = 1
NOW = datetime.now(UTC)
FIRST = [
    "Ola",
    "Kari",
    "Per",
    "Anne",
    "Jon",
    "Nina",
    "Erik",
    "Lise",
    "Hans",
    "Ingrid",
    "Lars",
    "Marit",
    "Knut",
    "Sofie",
    "Emil",
    "Nora",
]
LAST = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
]
# (weight, state, last CONNRES): untried, then what attempts left behind.
OUTCOMES = [
    (40, "open", None),
    (18, "open", 2),
    (12, "open", 3),
    (3, "open", 5),
    (2, "open", 6),
    (12, "done", 1),
    (6, "finished", 2),
    (4, "finished", 3),
    (2, "finished", 4),
    (1, "finished", 7),
]
COLUMNS = [
    "campaign_id",
    "name",
    "user_data",
    "system_code",
    "ext_cust_id",
    "phone_numbers",
    "number_tries",
    "number_last_cause",
    "number_end_reason",
    "number_invalid",
    "max_attempts",
    "min_call_interval_h",
    "state",
    "locked",
    "attempts",
    "dt_next_try",
    "dt_last_try",
    "last_connres",
]
SORTS = ["id", "-id", "name", "-name", "next_try", "-next_try"]
IMPORT = 100_000  # contacts imported after the others, for the pending list's case


def contacts(n: int, rng: random.Random, first: int = 0) -> Iterator[tuple[Any, ...]]:
    """Contacts ``first`` to ``first + n``; the first number of contact i is +479 and i."""
    weights = [w for w, _, _ in OUTCOMES]
    for i in range(first, first + n):
        _, state, connres = rng.choices(OUTCOMES, weights)[0]
        numbers = [f"+479{i:07d}"] + [f"+474{rng.randrange(10**7):07d}"] * rng.randrange(3)
        tried = connres is not None
        attempts = rng.randint(1, 3) if tried else 0
        last = NOW - timedelta(hours=rng.uniform(1, 72)) if tried else None
        due = None  # never tried: due at once
        if state == "open" and tried:
            due = NOW + timedelta(seconds=rng.uniform(-2 * 86400, 3 * 86400))
        elif last is not None:  # the dialer sets a next try on every close
            due = last + timedelta(hours=12)
        size = len(numbers)
        yield (
            CAMPAIGN,
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            f"C{i}",
            "BENCH",
            f"C{i}",
            numbers,
            [attempts] + [0] * (size - 1),
            [None] * size,
            [None] * size,
            [False] * size,
            3,
            12.0,
            state,
            rng.random() < 0.003,
            attempts,
            due,
            last,
            connres,
        )


FILTERS: list[tuple[str, dict[str, str]]] = [
    ("none", {}),
    ("name starts with 'ola'", {"name": "ola"}),
    ("name 'ola hansen' (0.3%)", {"name": "ola hansen"}),
    ("number, local format", {"number": "90 00 12 34"}),
    ("customer (UserData/extCustId)", {"customer": "C765432"}),
    ("state open", {"state": "open"}),
    ("state locked (0.3%)", {"state": "locked"}),
    ("state done", {"state": "done"}),
    ("state finished", {"state": "finished"}),
    ("state due now", {"state": "due"}),
    ("last CONNRES busy", {"outcome": "3"}),
    ("last CONNRES error (1%)", {"outcome": "7"}),
    ("finished and busy", {"state": "finished", "outcome": "3"}),
    ("next try in the next hour", {"next_from": "NOW", "next_to": "NOW+1h"}),
]


def form_of(fields: dict[str, str], sort: str) -> dict[str, str]:
    times = {"NOW": NOW, "NOW+1h": NOW + timedelta(hours=1)}
    form = {k: times[v].isoformat() if v in times else v for k, v in fields.items()}
    return {**form, "sort": sort}


async def deep_cursor(conn: Conn, campaign: int, sort: str, total: int) -> Cursor:
    """A cursor 90% of the way through the campaign (``total`` contacts) in ``sort``'s order."""
    name = sort.removeprefix("-")
    at = total // 10 if sort.startswith("-") else total * 9 // 10
    row = await conn.fetchrow(
        f"""SELECT c.id, lower(c.name) AS name,
                   coalesce(c.dt_next_try, '-infinity')::text AS next_try
            FROM contacts c WHERE c.campaign_id = $1
            ORDER BY {dict(id="c.id", name='lower(c.name) COLLATE "C", c.id',
                           next_try="coalesce(c.dt_next_try, '-infinity'), c.id")[name]}
            OFFSET $2 LIMIT 1""",  # the bench's own way to a deep row; the screen never skips
        campaign,
        at,
    )  # fmt: skip
    assert row is not None
    return Cursor(sort, False, None if name == "id" else row[name], row["id"])


async def plan_of(conn: asyncpg.Connection, s: Search) -> tuple[float, str]:
    """The page query's execution time by EXPLAIN ANALYZE, and the indexes it read."""
    cursor = s.cursor
    ascending = s.ascending_walk
    name = f"contact_page_{s.sort.value}_{'asc' if ascending else 'desc'}"
    at: tuple[Any, ...] = (None,) if s.sort.value == "id" else (None, None)
    if cursor is not None:
        at = (cursor.id,) if s.sort.value == "id" else (cursor.key, cursor.id)
    async with conn.transaction():
        args = await arguments(conn, CLIENT, s.filter)
        explained = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + q(name), *args, *at, 51)
    root = explained[0]

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    used = [
        n.get("Index Name") or n["Node Type"]
        for n in walk(root["Plan"])
        if n.get("Relation Name") == "contacts" or n["Node Type"] in ("Sort", "BitmapOr")
    ]
    return root["Execution Time"] + root["Planning Time"], " + ".join(dict.fromkeys(used))


async def timed(pool: asyncpg.Pool, s: Search, runs: int) -> tuple[float, int]:
    times = []
    found = 0
    for _ in range(runs):
        start = time.perf_counter()
        page = await service.search(pool, CLIENT, s)
        times.append((time.perf_counter() - start) * 1000)
        found = len(page.items)
    return statistics.median(times), found


async def unmerged_numbers(
    conn: asyncpg.Connection, pool: asyncpg.Pool, n: int, runs: int, tz: ZoneInfo
) -> None:
    """A number search right after an import, its numbers still in the GIN index's pending
    list (migration 0012), and again once a vacuum has merged them. Autovacuum is held off
    meanwhile, or it might merge them in the middle of the measurement."""
    added = IMPORT
    await conn.execute("ALTER TABLE contacts SET (autovacuum_enabled = false)")
    rows = list(contacts(added, random.Random(2), first=n))
    await conn.copy_records_to_table("contacts", records=rows, columns=COLUMNS)
    numbers = {"in the import": f"9{n + 12:07d}", "loaded before it": "90 00 12 34"}
    print(f"\n| number search, {added} contacts imported just before | unmerged | merged |")
    print("|---|---:|---:|")
    timings: dict[str, list[float]] = {label: [] for label in numbers}
    for _ in ("unmerged", "merged"):
        for label, number in numbers.items():
            s = parse_search({"number": number}, CAMPAIGN, "NO", tz)
            ms, found = await timed(pool, s, runs)
            assert found == 1, (label, found)
            timings[label].append(ms)
        await conn.execute("VACUUM contacts")
    for label, (unmerged, merged) in timings.items():
        print(f"| a number {label} | {unmerged:.1f} ms | {merged:.1f} ms |")
    await conn.execute("ALTER TABLE contacts RESET (autovacuum_enabled)")


async def run(dsn: str, n: int, runs: int) -> None:
    conn = await connect(dsn)
    await migrate(conn)
    await conn.execute(
        "INSERT INTO campaigns (id, name, default_region, timezone) VALUES ($1, 'Bench', 'NO', $2)",
        CAMPAIGN,
        "Europe/Oslo",
    )
    start = time.perf_counter()
    rows = list(contacts(n, random.Random(1)))
    await conn.copy_records_to_table("contacts", records=rows, columns=COLUMNS)
    del rows
    await conn.execute("VACUUM ANALYZE contacts")
    print(f"{n} contacts loaded in {time.perf_counter() - start:.0f} s")
    deep = {sort: await deep_cursor(conn, CAMPAIGN, sort, n) for sort in SORTS}
    pool = await create_pool(dsn, min_size=1, max_size=2)
    tz = ZoneInfo("Europe/Oslo")
    worst = 0.0
    load = os.getloadavg()[0]
    print(f"\nmedian of {runs} page loads (ms), 50 rows a page; load average {load:.1f}\n")
    print("| filter | sort | rows | first page | deep page | plan (first page) |")
    print("|---|---|---:|---:|---:|---|")
    for label, fields in FILTERS:
        for sort in SORTS:
            form = form_of(fields, sort)
            first = parse_search(form, CAMPAIGN, "NO", tz)
            deep_form = {**form, "cursor": encode_cursor(deep[sort])}
            deeper = parse_search(deep_form, CAMPAIGN, "NO", tz)
            ms_first, found = await timed(pool, first, runs)
            ms_deep, _ = await timed(pool, deeper, runs)
            _, plan = await plan_of(conn, first)
            worst = max(worst, ms_first, ms_deep)
            print(f"| {label} | {sort} | {found} | {ms_first:.1f} | {ms_deep:.1f} | {plan} |")
    print(f"\nslowest page: {worst:.1f} ms")
    print("\n| count for an action's confirmation | contacts | ms |\n|---|---:|---:|")
    for label, fields in FILTERS:
        s = parse_search(form_of(fields, "id"), CAMPAIGN, "NO", tz)
        start = time.perf_counter()
        matches = await service.count_matching(pool, CLIENT, s.filter)
        ms = (time.perf_counter() - start) * 1000
        print(f"| {label} | {matches.total} | {ms:.0f} |")
    await unmerged_numbers(conn, pool, n, runs, tz)
    s = parse_search({"outcome": "3"}, CAMPAIGN, "NO", tz)
    start = time.perf_counter()
    done = await service.act_on_matching(pool, CLIENT, s.filter, ContactAction.RESET)
    print(f"\nreset every busy contact: {done} in {time.perf_counter() - start:.1f} s")
    await pool.close()
    await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run(str(URL(ADMIN_DSN).with_path("/" + name)), args.contacts, args.runs)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
