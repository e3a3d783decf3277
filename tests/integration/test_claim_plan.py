"""The claim query (``claim_contacts``) walks the partial indexes it was written for,
``contacts_callbacks`` and ``contacts_due``, on a table where the planner would take another
way without them: ``contact_due`` is inlined, its lookup of an agent's sign-in (migration
0017) included; the do-not-call lists (migration 0022) are looked up for the returned rows
only."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import asyncpg

from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

CONTACTS = 60_000


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def scan_cost(plan: dict[str, Any]) -> float:
    """What the plan's scans of contacts cost."""
    return sum(float(n["Total Cost"]) for n in nodes(plan) if n.get("Relation Name") == "contacts")


def seq_scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        n for n in nodes(plan) if n["Node Type"] == "Seq Scan" and n["Relation Name"] == "contacts"
    ]


async def claim_plan(conn: Conn, campaign_id: int) -> dict[str, Any]:
    explained = await conn.fetchval(
        "EXPLAIN (FORMAT JSON) " + q("claim_contacts"), campaign_id, "me", 60.0, 50
    )
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


async def test_the_claim_walks_contacts_due(pool: asyncpg.Pool) -> None:
    ids = [await pool.fetchval("INSERT INTO campaigns (name) VALUES ($1) RETURNING id", n)
           for n in ("claimed", "other")]  # fmt: skip
    # A tenth of the rows in the claimed campaign, and most of those done or locked: what the
    # index leaves out is what makes it worth having.
    await pool.execute(
        """INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries,
               number_last_cause, number_end_reason, number_invalid, max_attempts,
               min_call_interval_h, state, locked, dt_next_try)
           SELECT CASE WHEN g % 10 = 0 THEN $1::int ELSE $2::int END, 'x', '{+4930100000}',
                  '{0}', '{0}', '{0}', '{f}', 3, 0,
                  CASE WHEN g % 3 = 0 THEN 'open' ELSE 'done' END, g % 7 = 0,
                  now() - g * interval '1 second'
           FROM generate_series(1, $3::int) g""",
        *ids,
        CONTACTS,
    )
    # A few callbacks, most of them one agent's.
    await pool.execute(
        """UPDATE contacts SET callback_at = dt_next_try,
               callback_user_id = CASE WHEN id % 4 = 0 THEN NULL ELSE 41 END
           WHERE campaign_id = $1 AND state = 'open' AND id % 50 = 0""",
        ids[0],
    )
    # A do-not-call list as big as the contacts: the claim looks up only the rows it returns.
    await pool.execute(
        """INSERT INTO dnc_numbers (client_id, number, source)
           SELECT CASE WHEN g % 2 = 0 THEN 1 END, '+4930' || (100000 + g), 'plan'
           FROM generate_series(1, $1::int) g""",
        CONTACTS,
    )
    await pool.execute("ANALYZE contacts")
    await pool.execute("ANALYZE dnc_numbers")

    async with pool.acquire() as conn:
        with_index = await claim_plan(conn, ids[0])
        without = conn.transaction()
        await without.start()
        try:
            await conn.execute("DROP INDEX contacts_due")
            without_index = await claim_plan(conn, ids[0])
        finally:
            await without.rollback()
    used = {n.get("Index Name") for n in nodes(with_index) if n.get("Relation Name") == "contacts"}
    assert {"contacts_callbacks", "contacts_due"} <= used, with_index
    # contact_due is inlined: its conditions are the scans' own, no call of it per row.
    filters = " ".join(str(n.get("Filter", "")) for n in nodes(with_index))
    assert "contact_due" not in filters and "agent_signed_out_since" in filters, with_index
    # The index's order is the claim's ORDER BY: no sort of the due contacts; and the UPDATE
    # finds the claimed rows by their ids, not by reading the table.
    assert all(n["Node Type"] != "Sort" for n in nodes(with_index)), with_index
    assert not seq_scans(with_index), with_index
    # Without it the planner goes another, dearer way: the data is big enough to tell. The
    # reads of contacts are compared, not the whole: the UPDATE's own cost is the same either
    # way, and since migration 0020 the other way (contacts_campaign_next_try, which has the
    # claim's order too but every state) is a range up to now as well.
    assert scan_cost(without_index) > scan_cost(with_index) * 1.5, without_index


LATER = 20_000


async def analyzed(conn: Conn, query: str, *args: Any) -> dict[str, Any]:
    """EXPLAIN ANALYZE of a named query, in a transaction rolled back (claims are UPDATEs)."""
    tx = conn.transaction()
    await tx.start()
    try:
        explained = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + q(query), *args)
    finally:
        await tx.rollback()
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


async def test_the_due_contacts_are_a_range_of_contacts_due(pool: asyncpg.Pool) -> None:
    """Migration 0020: a campaign whose open contacts are nearly all due later (a retry
    tomorrow) has its few due ones read as a range of contacts_due, up to now: the claim, the
    wallboard's hopper and the preview's pick do not read the later ones and throw them away
    (a campaign of 100,000 took 0.2 s a claim so, every tick, when none was due)."""
    campaign = await pool.fetchval("INSERT INTO campaigns (name) VALUES ('later') RETURNING id")
    await pool.execute(
        """INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries,
               number_last_cause, number_end_reason, number_invalid, max_attempts,
               min_call_interval_h, dt_next_try)
           SELECT $1, 'x', '{+4930100000}', '{0}', '{0}', '{0}', '{f}', 3, 0,
                  CASE WHEN g <= 10 THEN NULL WHEN g <= 30 THEN now() - g * interval '1 minute'
                       ELSE now() + interval '1 day' + g * interval '1 second' END
           FROM generate_series(1, $2::int) g""",
        campaign,
        LATER + 30,
    )
    await pool.execute("ANALYZE contacts")
    async with pool.acquire() as conn:
        plans = {
            "claim": await analyzed(conn, "claim_contacts", campaign, "me", 60.0, 50),
            "hopper": await analyzed(conn, "next_due_contacts", campaign, 50),
            "preview": await analyzed(conn, "claim_for_agent", 7, [], [campaign], "me", 60.0),
        }
    for name, plan in plans.items():
        walks = [n for n in nodes(plan) if n.get("Index Name") == "contacts_due"]
        assert walks, (name, plan)
        for walk in walks:
            assert "COALESCE(dt_next_try" in walk["Index Cond"], (name, walk)
            read = walk["Actual Rows"] + walk.get("Rows Removed by Filter", 0)
            assert read <= 30, (name, walk)
    # The claim got the due ones, never tried first, and nothing later.
    claimed = [n for n in nodes(plans["claim"]) if n.get("Index Name") == "contacts_due"]
    assert claimed[0]["Actual Rows"] == 30, plans["claim"]


async def hot_updates(conn: Conn) -> tuple[int, int]:
    """The updates of contacts in this transaction so far, and how many of them were HOT."""
    row = await conn.fetchrow(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'contacts'"
    )
    assert row is not None
    return row["n_tup_upd"], row["n_tup_hot_upd"]


SPREAD = 100


async def test_claims_attempt_starts_and_renewals_are_hot_updates(pool: asyncpg.Pool) -> None:
    """Migration 0024: a claim (claimed_by, lease_until), an attempt's start (open_attempt_id,
    dt_last_try, lease_until) and a lease's renewal (lease_until) change no indexed column and
    find room on the row's page (fillfactor 90), so no index of contacts gets an entry for
    them; with the indexes on claimed_by and open_attempt_id, as before, neither the claim
    nor the start is HOT. One
    contact in a hundred is due, spread over the table as in bench/scale.py. The renewal and
    the take-over find the calls in progress without reading either table."""
    campaign = await pool.fetchval(
        "INSERT INTO campaigns (name, caller_id) VALUES ('hot', '4700000000') RETURNING id"
    )
    await pool.execute(
        """INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries,
               number_last_cause, number_end_reason, number_invalid, max_attempts,
               min_call_interval_h, dt_next_try)
           SELECT $1, 'x', '{+4930100000}', '{0}', '{0}', '{0}', '{f}', 3, 0,
                  CASE WHEN g % $3 = 0 THEN now() - g * interval '1 second'
                       ELSE now() + interval '1 day' END
           FROM generate_series(1, $2::int) g""",
        campaign,
        CONTACTS,
        SPREAD,
    )
    # A history of closed attempts the calls in progress are found among.
    await pool.execute(
        """INSERT INTO contact_history (contact_id, campaign_id, client_id, phone_number,
               phone_number_offset, instance_id, status)
           SELECT id, campaign_id, 1, '+4930100000', 1, 'old', 'closed' FROM contacts"""
    )
    await pool.execute("ANALYZE contacts")
    await pool.execute("ANALYZE contact_history")

    async def cycle(conn: Conn) -> list[tuple[int, int]]:
        """Updates and HOT updates of a claim of 50, the start of 10 of them, a renewal."""
        counts = [await hot_updates(conn)]
        claimed = await conn.fetch(q("claim_contacts"), campaign, "me", 60.0, 50)
        assert len(claimed) == 50
        counts.append(await hot_updates(conn))
        called = [r["id"] for r in claimed[:10]]
        started = await conn.fetch(
            q("start_attempts"),
            called,
            ["+4930100000"] * 10,
            [1] * 10,
            "4700000000",
            "me",
            60.0,
            "pbx-1",
        )
        assert len(started) == 10
        counts.append(await hot_updates(conn))
        assert await conn.execute(q("renew_leases"), "me", 60.0) == "UPDATE 10"
        counts.append(await hot_updates(conn))
        return [(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(counts)]

    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            assert await cycle(conn) == [(50, 50), (10, 10), (10, 10)]
            for query, args in (
                ("renew_leases", ("me", 60.0)),
                ("take_over_open_attempts", ("me", 60.0, "pbx-1")),
            ):
                explained = await conn.fetchval("EXPLAIN (FORMAT JSON) " + q(query), *args)
                plan = explained[0]["Plan"]
                read = [n for n in nodes(plan) if n["Node Type"] == "Seq Scan"
                        and n["Relation Name"] in ("contacts", "contact_history")]  # fmt: skip
                assert not read, (query, plan)
        finally:
            await tx.rollback()
        # The same with the indexes migration 0024 dropped: the claim and the start are not HOT
        # (a renewal is, here; but the start's new versions went to other pages, packed).
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute("CREATE INDEX contacts_claimed_by ON contacts (claimed_by)")
            await conn.execute("CREATE INDEX contacts_open_attempt ON contacts (open_attempt_id)")
            assert await cycle(conn) == [(50, 0), (10, 0), (10, 10)]
        finally:
            await tx.rollback()
