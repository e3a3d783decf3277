"""Benchmark: dialerd with ten million contacts in 100 campaigns, 1% of them due at a time.

Creates a database ``dialerd_scale_<random>`` on DIALERD_BENCH_DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it and fills it in SQL (INSERT ...
SELECT generate_series, the secondary indexes dropped meanwhile and built again afterwards):
every contact with the columns the calltask and contacts APIs and the dialer write, one to
three numbers, half of them dialled before (done, finished, or a retry scheduled later, a few
with a callback), each tried contact with its last attempt in the history, and 1% due now.
After VACUUM ANALYZE it measures, each through the project's own code:

- the scheduler's claim of 50 due contacts (``PostgresDialerStore.claim``, the named query
  ``claim_contacts``), in a campaign with due contacts and in one with none left, and its plan
  by EXPLAIN (ANALYZE, BUFFERS);
- closing 1,000 attempts through the store's ``close_attempts`` with the dialer's rules
  (``decider``), the engine's path, after ``claim`` and ``start_attempts`` opened them, and
  the renewal of those 1,000 calls' leases (``renew_leases``); the claim's and the renewal's
  share of HOT updates (``pg_stat_xact_user_tables``);
- the console's call task search (``dialerd.contacts.service.search``): the first page and a
  deep one by its cursor, and the count an action's confirmation shows;
- ``GET /dialler/contacts?diallerCampaignsID=N`` of ``dialerd serve``, one campaign's whole
  list streamed: rows/s and the server's peak RSS;
- 1,000,000 call tasks imported over HTTP by ``POST /itxdialer/calltaskimport`` in requests
  of 100,000, and contacts imported one a request by ``POST /dialler/contacts/import`` (its
  spec takes one contact a request) from 16 connections at once.

Not a test: it prints Markdown tables with median and p95, and the load average (other work
on the machine inflates the figures). The database is dropped at the end unless ``--keep``;
``--database NAME`` measures again on a kept one (then nothing is filled).

    .venv/bin/python bench/scale.py [--contacts 10000000] [--campaigns 100] [--runs 20]
        [--close-runs 5] [--import-tasks 1000000] [--single-imports 20000] [--keep]
        [--database NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import orjson
from contact_search import deep_cursor  # bench/ is this script's folder
from import_calltasks import free_port, wait_healthy
from yarl import URL

from dialerd.contacts import service
from dialerd.contacts.search import encode_cursor, parse_search
from dialerd.dialer.rules import decider, pick_slot
from dialerd.domain import ClaimedContact, ClosedAttempt, Connres, Outcome
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect, create_pool
from dialerd.store.sqlfiles import q
from dialerd.users.tokens import create_token

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

ADMIN_DSN = os.environ.get(
    "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]
CLIENT = 1
SYSTEM = "CRM"
TZ = ZoneInfo("Europe/Oslo")
T = TypeVar("T")

# One statement per campaign. $1 campaign, $2 first id number of it, $3 how many. The kind of
# a contact by u: 1% due now (never tried, a retry whose time came, a callback whose time came),
# the rest open with a later next try (some with a callback or locked), done, or finished.
FILL = """
INSERT INTO contacts (
    campaign_id, name, user_data, system_code, ext_cust_id, system_lookup_code, data,
    properties, phone_numbers, number_tries, number_last_cause, number_end_reason,
    number_invalid, next_number, state, locked, attempts, max_attempts, min_call_interval_h,
    dt_next_try, dt_last_try, last_connres, last_cause, last_result_mailbox, created_at,
    updated_at, callback_at)
SELECT $1, name, 'U' || g, 'CRM', 'E' || g, 'L' || g,
       jsonb_build_object('FirstName', first, 'City', city, 'PostalCode', (1000 + g % 9000)::text,
                          'Company', CASE WHEN g % 3 = 0 THEN 'Firma ' || g % 977 END),
       CASE WHEN g % 2 = 0 THEN jsonb_build_object('216', city) ELSE '{}' END,
       (ARRAY['+479' || lpad((g % 10000000)::text, 7, '0'),
              '+474' || lpad((g % 10000000)::text, 7, '0'),
              '+4722' || lpad((g % 1000000)::text, 6, '0')])[1:n],
       (ARRAY[attempts - attempts / 2, attempts / 2, 0])[1:n],
       (ARRAY[cause, CASE WHEN attempts > 1 THEN 19 END, NULL])[1:n],
       (ARRAY[NULL, NULL, NULL]::integer[])[1:n],
       (ARRAY[dead, false, false])[1:n],
       CASE WHEN dead THEN 1 ELSE 0 END,
       state, kind = 'locked', attempts, 3, 12,
       CASE kind WHEN 'new' THEN NULL
                 WHEN 'retry due' THEN now() - w * interval '6 hours'
                 WHEN 'callback due' THEN now() - w * interval '1 hour'
                 WHEN 'retry later' THEN now() + interval '1 hour' + w * interval '7 days'
                 WHEN 'callback later' THEN now() + w * interval '3 days'
                 WHEN 'locked' THEN now() + w * interval '1 day'
                 ELSE last_try + interval '12 hours' END,
       last_try, connres, cause, CASE WHEN attempts > 0 THEN false END,
       now() - interval '31 days', coalesce(last_try, now() - interval '31 days'),
       CASE WHEN kind LIKE 'callback%' THEN
           CASE kind WHEN 'callback due' THEN now() - w * interval '1 hour'
                     ELSE now() + w * interval '3 days' END END
FROM (
    SELECT g, n, w, kind, first, city, first || ' ' || last AS name, dead,
           CASE WHEN kind IN ('done') THEN 'done' WHEN kind = 'finished' THEN 'finished'
                ELSE 'open' END AS state,
           CASE WHEN kind = 'new' THEN 0 WHEN kind = 'finished' THEN 3
                WHEN kind = 'done' THEN 1 + (w * 2.99)::int
                ELSE 1 + (w * 1.99)::int END AS attempts,
           CASE WHEN kind = 'new' THEN NULL WHEN kind LIKE 'callback%' OR kind = 'done' THEN 1
                WHEN kind = 'finished' THEN (ARRAY[2, 3, 4, 7, 2])[1 + (w * 4.99)::int]
                ELSE (ARRAY[2, 3, 5, 6, 2])[1 + (w * 4.99)::int] END AS connres,
           CASE WHEN kind = 'new' THEN NULL WHEN dead THEN 1 WHEN kind = 'finished' THEN 17
                ELSE 16 END AS cause,
           CASE WHEN kind <> 'new' THEN now() - interval '1 hour' - w * interval '30 days'
                END AS last_try
    FROM (
        SELECT g, n, w, first, city, last,
               kind = 'finished' AND n > 1 AND w < 0.1 AS dead, kind
        FROM (
            SELECT g, 1 + (random() * 2.99)::int - (random() * 0.99)::int AS n0, random() AS w,
                   (ARRAY['Ola', 'Kari', 'Per', 'Anne', 'Jon', 'Nina', 'Erik', 'Lise', 'Hans',
                          'Ingrid', 'Lars', 'Marit'])[1 + g % 12] AS first,
                   (ARRAY['Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen', 'Pedersen',
                          'Nilsen', 'Berg', 'Haugen', 'Hagen', 'Dahl'])[1 + g / 12 % 11] AS last,
                   (ARRAY['Oslo', 'Bergen', 'Trondheim', 'Stavanger', 'Tromsø'])[1 + g % 5] AS city,
                   CASE WHEN u < 0.005 THEN 'new' WHEN u < 0.0095 THEN 'retry due'
                        WHEN u < 0.01 THEN 'callback due' WHEN u < 0.495 THEN 'retry later'
                        WHEN u < 0.5 THEN 'callback later' WHEN u < 0.503 THEN 'locked'
                        WHEN u < 0.75 THEN 'done' ELSE 'finished' END AS kind
            FROM (SELECT g, random() AS u FROM generate_series($2::bigint, $2 + $3 - 1) g) r
        ) k CROSS JOIN LATERAL (SELECT greatest(n0, 1) AS n) nn
    ) d
) s
"""

# The last attempt of every tenth contact tried, as the dialer's close left it (all of them
# would double the fill's time).
HISTORY = """
INSERT INTO contact_history (
    contact_id, campaign_id, client_id, user_data, phone_number, phone_number_offset, a_number,
    b_number, status, instance_id, channel, dt_call_start, dt_call_alert, dt_call_connect,
    dt_agent_connect, dt_call_end, connres, cause_code, caller_hangup, agent, abandoned,
    machine, created_at)
SELECT c.id, c.campaign_id, 1, c.user_data, c.phone_numbers[1], 1, '+4721000000',
       c.phone_numbers[1], 'closed', 'bench', 'PJSIP/trunk-' || lpad(to_hex(c.id), 8, '0'),
       c.dt_last_try, c.dt_last_try + interval '2 seconds',
       CASE WHEN c.last_connres IN (1, 6) THEN c.dt_last_try + interval '9 seconds' END,
       CASE WHEN c.last_connres = 1 THEN c.dt_last_try + interval '10 seconds' END,
       c.dt_last_try + CASE WHEN c.last_connres = 1 THEN interval '190 seconds'
                            ELSE interval '30 seconds' END,
       c.last_connres, c.last_cause, c.last_connres = 1,
       CASE WHEN c.last_connres = 1 THEN 'PJSIP/agent' || c.id % 40 END, false, false,
       c.dt_last_try
FROM contacts c WHERE c.last_connres IS NOT NULL AND c.id % 10 = 0
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


@dataclass
class Figure:
    what: str
    times_ms: list[float]
    target: str = ""
    note: str = ""

    def row(self) -> str:
        med = statistics.median(self.times_ms)
        p95 = percentile(self.times_ms, 0.95)
        return (
            f"| {self.what} | {len(self.times_ms)} | {med:,.1f} | {p95:,.1f} "
            f"| {self.target} | {self.note} | {os.getloadavg()[0]:.1f} |"
        )


HEADER = "| | runs | median ms | p95 ms | target | | load |\n|---|---:|---:|---:|---|---|---:|"


def report(figures: list[Figure]) -> None:
    """Prints each figure as soon as it is measured (a long run keeps what it got)."""
    for figure in figures:
        if figure.times_ms:
            print(figure.row())


async def timed(work: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    started = time.perf_counter()
    result = await work()
    return (time.perf_counter() - started) * 1000, result


def load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


# -- the fill ------------------------------------------------------------------------------------


async def fill(conn: asyncpg.Connection, contacts: int, campaigns: int) -> None:
    await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '1GB'")
    await conn.execute("INSERT INTO calling_systems (code) VALUES ($1)", SYSTEM)
    await conn.execute("INSERT INTO info_fields (id, name) VALUES (216, 'City')")
    for c in range(1, campaigns + 1):
        await conn.execute(
            """INSERT INTO campaigns (name, queue, dial_string, timezone, default_region,
                   window_start, window_end, window_days)
               VALUES ($1, $2, 'PJSIP/{number}@trunk', $3, 'NO', '00:00', '23:59',
                   '{1,2,3,4,5,6,7}')""",
            f"Campaign {c}",
            f"q{c}",
            TZ.key,
        )
    # The secondary indexes are built once at the end, faster than row by row.
    indexes = await conn.fetch(
        """SELECT indexname, indexdef FROM pg_indexes
           WHERE tablename IN ('contacts', 'contact_history') AND indexname NOT LIKE '%_pkey'"""
    )
    for ix in indexes:
        await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
    started = time.perf_counter()
    per = contacts // campaigns
    for c in range(1, campaigns + 1):
        await conn.execute(FILL, c, (c - 1) * per + 1, per)
        if c % 10 == 0:
            print(f"  {c * per:,} contacts, {time.perf_counter() - started:.0f} s; {load()}")
    step = time.perf_counter()
    await conn.execute(HISTORY)
    print(f"  history: {time.perf_counter() - step:.0f} s")
    for ix in indexes:
        step = time.perf_counter()
        await conn.execute(ix["indexdef"])
        print(f"  index {ix['indexname']}: {time.perf_counter() - step:.0f} s")
    step = time.perf_counter()
    await conn.execute("VACUUM ANALYZE")
    print(f"  VACUUM ANALYZE: {time.perf_counter() - step:.0f} s")
    sizes = await conn.fetchrow(
        """SELECT pg_size_pretty(pg_total_relation_size('contacts')) AS contacts,
                  pg_size_pretty(pg_total_relation_size('contact_history')) AS history,
                  (SELECT count(*) FROM contact_history) AS attempts"""
    )
    assert sizes is not None
    print(
        f"filled in {time.perf_counter() - started:.0f} s: contacts {sizes['contacts']}, "
        f"{sizes['attempts']:,} attempts in the history {sizes['history']}"
    )


async def shares(conn: asyncpg.Connection) -> None:
    row = await conn.fetchrow(
        """SELECT count(*) AS contacts,
                  count(*) FILTER (WHERE contact_due(c, 300)) AS due,
                  count(*) FILTER (WHERE state = 'open') AS open,
                  count(*) FILTER (WHERE state = 'done') AS done,
                  count(*) FILTER (WHERE state = 'finished') AS finished,
                  count(*) FILTER (WHERE callback_at IS NOT NULL) AS callbacks,
                  avg(cardinality(phone_numbers))::numeric(3, 2) AS numbers
           FROM contacts c"""
    )
    assert row is not None
    print(", ".join(f"{k} {v:,}" for k, v in row.items()))


# -- the claim -----------------------------------------------------------------------------------


@asynccontextmanager
async def rolled_back(pool: asyncpg.Pool) -> AsyncIterator[Conn]:
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        finally:
            await tx.rollback()


def plan_lines(plan: list[str]) -> list[str]:
    """The scans of contacts with their index conditions and what their filters threw away,
    any sort, the buffers of the whole and its time."""
    keys = ("Scan using", "Seq Scan on contacts", "Index Cond", "Removed by Filter", "Sort")
    lines = [line.strip() for line in plan if any(k in line for k in keys)]
    return [*lines, plan[1].strip(), plan[-1].strip()]


async def explained(conn: Conn, query: str, *args: Any) -> tuple[list[str], str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a named query, in the caller's transaction, and how many
    of the updates of contacts it made were HOT (no index got an entry for them)."""
    counts = """SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
                WHERE relname = 'contacts'"""
    before = await conn.fetchrow(counts)
    plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + q(query), *args)
    after = await conn.fetchrow(counts)
    assert before is not None and after is not None
    updated = after["n_tup_upd"] - before["n_tup_upd"]
    hot = after["n_tup_hot_upd"] - before["n_tup_hot_upd"]
    return [r[0] for r in plan], f"HOT updates of contacts: {hot} of {updated}"


async def claim(pool: asyncpg.Pool, campaigns: int, runs: int) -> tuple[list[Figure], str]:
    """The claim's figures, and its plans' key lines."""
    store = PostgresDialerStore(pool, "bench-claim", 120)
    rng = random.Random(7)
    due = []
    for _ in range(runs):
        campaign = rng.randrange(1, campaigns + 1)
        ms, got = await timed(lambda c=campaign: store.claim(c, 50))  # type: ignore[misc]
        assert len(got) == 50, len(got)
        due.append(ms)
        await store.release([(c.id, datetime.now(UTC) - timedelta(minutes=1)) for c in got])

    # A campaign whose due contacts are all claimed (calls in progress): the next claim finds
    # none; the engine asks again on every tick.
    drained = campaigns
    taken: list[ClaimedContact] = []
    while got := await store.claim(drained, 1000):
        taken += got
    empty = []
    for _ in range(runs):
        ms, got = await timed(lambda: store.claim(drained, 50))
        assert not got
        empty.append(ms)
    # EXPLAIN ANALYZE runs the UPDATE: its claims are rolled back.
    plans = []
    async with rolled_back(pool) as conn:
        for campaign, label in ((1, "1% due"), (drained, f"{len(taken):,} due, all claimed")):
            plan, hot = await explained(conn, "claim_contacts", campaign, "plan", 120.0, 50)
            plans.append(f"\nclaim of 50 in campaign {campaign} ({label}): the plan's key lines")
            plans += ["    " + line for line in plan_lines(plan)] + [f"    {hot}"]
    before = await claim_before_0020(pool, drained, runs)
    await store.release([(c.id, datetime.now(UTC) - timedelta(minutes=1)) for c in taken])
    return [
        Figure("claim of 50 due contacts, 1% due", due, "< 20 ms"),
        Figure(f"claim of 50, nothing due ({len(taken):,} claimed already)", empty, "< 20 ms"),
        Figure("the same before migration 0020 (EXPLAIN ANALYZE)", before, "< 20 ms"),
    ], "\n".join(plans)


async def claim_before_0020(pool: asyncpg.Pool, campaign: int, runs: int) -> list[float]:
    """The claim as it was before migration 0020, its index and its ORDER BY, in a campaign
    with nothing due (by EXPLAIN ANALYZE, in a transaction rolled back)."""
    query = q("claim_contacts").replace(
        "ORDER BY coalesce(d.dt_next_try, '-infinity'), d.id",
        "ORDER BY d.dt_next_try NULLS FIRST, d.id",
    )
    assert "NULLS FIRST" in query
    times = []
    async with rolled_back(pool) as conn:
        await conn.execute(
            """DROP INDEX contacts_due;
               CREATE INDEX contacts_due ON contacts (campaign_id, dt_next_try NULLS FIRST, id)
                   WHERE state = 'open' AND NOT locked"""
        )
        for _ in range(max(3, runs // 4)):
            plan = await conn.fetchval(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + query, campaign, "plan", 120.0, 50
            )
            times.append(plan[0]["Execution Time"] + plan[0]["Planning Time"])
    return times


# -- closing attempts ----------------------------------------------------------------------------


def outcome_of(i: int, started: datetime) -> Outcome:
    """What calls mostly end in: no answer, busy, an agent's call, a network failure."""
    connres = (Connres.NO_ANSWER, Connres.BUSY, Connres.CONNECTED, Connres.NETWORK)[i % 4]
    cause = {Connres.NO_ANSWER: 19, Connres.BUSY: 17, Connres.CONNECTED: 16}.get(connres, 1)
    talked = connres is Connres.CONNECTED
    return Outcome(
        connres=connres,
        cause=cause,
        dt_alert=started + timedelta(seconds=2),
        dt_connect=started + timedelta(seconds=9) if talked else None,
        dt_agent_connect=started + timedelta(seconds=10) if talked else None,
        dt_end=started + timedelta(seconds=90 if talked else 30),
        caller_hangup=talked,
        agent="PJSIP/agent1" if talked else None,
        abandoned=False,
        machine=False,
        detail=None,
    )


async def open_attempts(store: PostgresDialerStore, campaigns: list[int], n: int) -> list[Any]:
    """``n`` attempts opened as the engine opens them: claims of 50, then start_attempts."""
    claimed: list[ClaimedContact] = []
    while len(claimed) < n:
        before = len(claimed)
        for campaign in campaigns:
            claimed += await store.claim(campaign, 50)
        if len(claimed) == before:
            raise SystemExit(f"only {before} contacts due for the closes: more contacts")
    starts = []
    for c in claimed[:n]:
        slot = pick_slot(c.slots, c.next_number)
        assert slot is not None
        number = c.slots[slot].number
        assert number is not None
        starts.append((c.id, number, slot))
    started = await store.start_attempts(starts, "+4721000000", "bench")
    slots = {contact_id: slot for contact_id, _, slot in starts}
    return [(a, slots[a.contact_id]) for a in started]


async def close(pool: asyncpg.Pool, campaigns: int, runs: int) -> tuple[list[Figure], str]:
    """The closes' figures and the renewals' (the leases of the 1,000 calls in progress
    before each close), and a renewal's plan's key lines."""
    store = PostgresDialerStore(pool, "bench-close", 120)
    order = list(range(1, campaigns + 1))
    random.Random(9).shuffle(order)
    figures = {1000: Figure("close 1,000 attempts, one batch", [], "", "per 1,000"),
               50: Figure("close 1,000 attempts, batches of 50", [], "", "per 1,000")}  # fmt: skip
    renewals = Figure("renew the leases of 1,000 calls in progress (renew_leases)", [])
    plan: list[str] = []
    for r in range(runs):
        for size, figure in figures.items():
            # Each run takes fresh campaigns: a closed contact is not due again for hours.
            at = (r * 2 + (size == 50)) * 20 % len(order)
            opened = await open_attempts(store, (order[at:] + order[:at])[:30], 1000)
            assert len(opened) == 1000, len(opened)
            renewals.times_ms.append((await timed(store.renew_leases))[0])
            if not plan:
                async with rolled_back(pool) as conn:
                    lines, hot = await explained(conn, "renew_leases", store.instance_id, 120.0)
                plan = ["\nrenewal of 1,000 leases: the plan's key lines"]
                plan += ["    " + line for line in plan_lines(lines)] + [f"    {hot}"]
            closed = [
                ClosedAttempt(a.id, a.contact_id, slot, outcome_of(i, a.started), f"PJSIP/t-{a.id}")
                for i, (a, slot) in enumerate(opened)
            ]
            started = time.perf_counter()
            for k in range(0, len(closed), size):
                await store.close_attempts(closed[k : k + size], decider(datetime.now(UTC)))
            figure.times_ms.append((time.perf_counter() - started) * 1000)
    left = await pool.fetchval("SELECT count(*) FROM contact_history WHERE status <> 'closed'")
    assert left == 0, left
    return [*figures.values(), renewals], "\n".join(plan)


# -- the console's search ------------------------------------------------------------------------

SEARCHES: list[tuple[str, dict[str, str]]] = [
    ("all", {}),
    ("state due now", {"state": "due"}),
    ("name starts with 'ola'", {"name": "ola"}),
    ("last CONNRES busy", {"outcome": "3"}),
]


async def search(pool: asyncpg.Pool, campaign: int, runs: int) -> list[Figure]:
    total = await pool.fetchval("SELECT count(*) FROM contacts WHERE campaign_id = $1", campaign)
    figures = []
    async with pool.acquire() as conn:
        deep = {sort: await deep_cursor(conn, campaign, sort, total) for sort in ("id", "name")}
    for label, fields in SEARCHES:
        for sort in ("id", "name", "-next_try"):
            form = {**fields, "sort": sort}
            pages = [("first page", form)]
            if sort in deep:
                pages.append(("page 90% deep", {**form, "cursor": encode_cursor(deep[sort])}))
            for where, page_form in pages:
                s = parse_search(page_form, campaign, "NO", TZ)
                times = []
                for _ in range(runs):
                    ms, page = await timed(lambda s=s: service.search(pool, CLIENT, s))  # type: ignore[misc]
                    times.append(ms)
                what = f"search {label}, by {sort}, {where}"
                figures.append(Figure(what, times, "< 100 ms", f"{len(page.items)} rows"))
    for label, fields in SEARCHES[:2]:
        f = parse_search(fields, campaign, "NO", TZ).filter
        times = []
        for _ in range(max(3, runs // 4)):
            ms, matches = await timed(lambda f=f: service.count_matching(pool, CLIENT, f))  # type: ignore[misc]
            times.append(ms)
        note = f"{matches.total:,} of {total:,}"
        figures.append(Figure(f"count for an action, {label}", times, "< 1 s", note))
    return figures


# -- over HTTP: the contacts list and the imports ------------------------------------------------


def rss_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


@asynccontextmanager
async def serve(dsn: str) -> AsyncIterator[tuple[str, int]]:
    """``dialerd serve`` (the HTTP API only) on a free port: its address and pid."""
    port = free_port()
    settings = {"DIALERD_DATABASE_URL": dsn, "DIALERD_HTTP_PORT": str(port)}
    env = {k: v for k, v in os.environ.items() if k != "DIALERD_AMI_HOST"} | settings
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "dialerd.cli", "serve"),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,  # its log: a line a request
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(session, base, server, 120)  # a loaded machine starts it slowly
        yield base, server.pid
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


async def stream(base: str, pid: int, token: str, campaign: int, runs: int) -> list[Figure]:
    """One campaign's whole list, read as it comes; the count from the list's tail."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/dialler/contacts?diallerCampaignsID={campaign}"
    times, rates = [], []
    before = rss_mib(pid, "VmHWM")
    size = count = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1800)) as session:
        for _ in range(runs):
            started = time.perf_counter()
            size, tail = 0, b""
            async with session.get(url, headers=headers) as resp:
                assert resp.status == 200, resp.status
                async for chunk in resp.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    tail = (tail + chunk)[-200:]
            seconds = time.perf_counter() - started
            count = orjson.loads(b"{" + tail.rsplit(b"],", 1)[1])["count"]
            times.append(seconds * 1000)
            rates.append(count / seconds)
    after = rss_mib(pid, "VmHWM")
    note = (
        f"{count:,} contacts, {size / 2**20:,.0f} MiB; {statistics.median(rates):,.0f} rows/s; "
        f"server peak RSS {before:.0f} → {after:.0f} MiB"
    )
    return [
        Figure("stream one campaign's list (GET /dialler/contacts)", times, "flat memory", note)
    ]


def call_tasks(first: int, n: int) -> dict[str, Any]:
    return {
        "systemCode": SYSTEM,
        "callCode": 0,  # set by the caller
        "maxCallAttempts": 3,
        "minCallIntervalHours": 12,
        "callTasks": [
            {
                "callReceiverName": f"Customer {i}",
                "extCustId": f"N{i}",
                "systemLookupCode": f"L{i}",
                "callNumberList": [f"+4791{i:06d}", f"+4792{i:06d}"],
                "properties": [{"emprId": 216, "value": "Oslo"}],
            }
            for i in range(first, first + n)
        ],
    }


async def calltask_import(
    base: str, pid: int, token: str, campaign: int, n: int, batch: int
) -> list[Figure]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{base}/itxdialer/calltaskimport"
    times = []
    before = rss_mib(pid, "VmHWM")
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        for first in range(0, n, batch):
            request = call_tasks(first, min(batch, n - first)) | {"callCode": campaign}
            body = orjson.dumps(request)
            step = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                answer = orjson.loads(await resp.read())
            assert resp.status == 200 and not answer.get("callTaskErrors"), answer
            times.append((time.perf_counter() - step) * 1000)
    wall = time.perf_counter() - started
    note = (
        f"{n:,} in {wall:,.1f} s: {n / wall:,.0f} tasks/s; "
        f"server peak RSS {before:.0f} → {rss_mib(pid, 'VmHWM'):.0f} MiB"
    )
    what = f"calltask import, requests of {batch:,} (POST /itxdialer/calltaskimport)"
    return [Figure(what, times, "", note)]


async def contact_imports(
    base: str, token: str, campaign: int, n: int, connections: int
) -> list[Figure]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{base}/dialler/contacts/import"
    times: list[float] = []
    queue: Iterator[int] = iter(range(n))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in queue:
            body = orjson.dumps(
                {
                    "DiallerCampaignsID": campaign,
                    "Name": f"Lead {i}",
                    "UserData": f"S{i}",
                    "City": "Bergen",
                    "PhoneNumber1": f"+4793{i:06d}",
                    "PhoneNumber2": f"+4794{i:06d}",
                }
            )
            step = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
            assert resp.status == 200, resp.status
            times.append((time.perf_counter() - step) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    wall = time.perf_counter() - started
    note = f"{n:,} in {wall:,.1f} s: {n / wall:,.0f} contacts/s, {connections} connections"
    return [
        Figure("contact import, one a request (POST /dialler/contacts/import)", times, "", note)
    ]


# -- the run -------------------------------------------------------------------------------------


async def new_campaign(conn: asyncpg.Connection, name: str) -> int:
    campaign: int = await conn.fetchval(
        """INSERT INTO campaigns (name, queue, dial_string, timezone, default_region)
           VALUES ($1, 'q', 'PJSIP/{number}@trunk', $2, 'NO') RETURNING id""",
        name,
        TZ.key,
    )
    return campaign


async def run(dsn: str, args: argparse.Namespace, filled: bool) -> None:
    conn = await connect(dsn)
    await migrate(conn)  # on a kept database, what was added since
    if not filled:
        print(f"filling {args.contacts:,} contacts in {args.campaigns} campaigns; {load()}")
        await fill(conn, args.contacts, args.campaigns)
    campaigns = await conn.fetchval("SELECT count(*) FROM campaigns WHERE name LIKE 'Campaign %'")
    await shares(conn)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {load()}")
    print("load: the 1-minute load average as each figure was done\n")
    print(HEADER)
    try:
        claims, plans = await claim(pool, campaigns, args.runs)
        report(claims)
        closes, renewal = await close(pool, campaigns, args.close_runs)
        report(closes)
        report(await search(pool, campaigns // 2, max(3, args.runs // 4)))
        token = await create_token(conn, CLIENT)
        tasks = await new_campaign(conn, f"Import {uuid.uuid4().hex[:6]}")
        single = await new_campaign(conn, f"Leads {uuid.uuid4().hex[:6]}")
        async with serve(dsn) as (base, pid):
            report(await stream(base, pid, token, campaigns // 2, 3))
            report(await calltask_import(base, pid, token, tasks, args.import_tasks, 100_000))
            report(await contact_imports(base, token, single, args.single_imports, 16))
    finally:
        await pool.close()
        await conn.close()
    print(plans)
    print(renewal)
    print(f"\nended {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {load()}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000_000)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--close-runs", type=int, default=5)
    parser.add_argument("--import-tasks", type=int, default=1_000_000)
    parser.add_argument("--single-imports", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the database for reruns")
    parser.add_argument("--database", help="measure again on a database kept by --keep")
    args = parser.parse_args()
    name = args.database or f"dialerd_scale_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    if not args.database:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run(str(URL(ADMIN_DSN).with_path("/" + name)), args, filled=bool(args.database))
    finally:
        if args.keep or args.database:
            print(f"kept database {name}: rerun with --database {name}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
