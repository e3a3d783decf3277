"""The scheduler's claim on a real Postgres: due rules, SKIP LOCKED between two instances,
leases, the call window and the partial index."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg

from dialerd.dialer.scheduler import Scheduler
from dialerd.domain import Campaign
from dialerd.store.dialer import PostgresDialerStore

ALWAYS = {"window_start": "00:00", "window_end": "23:59:59", "window_days": [1, 2, 3, 4, 5, 6, 7]}


async def add_campaign(pool: asyncpg.Pool, name: str = "c1", **settings: Any) -> int:
    values: dict[str, Any] = {
        "queue": "lab-agents",
        "dial_string": "PJSIP/{number}@farend",
        "caller_id": '"dialerd" <4700000000>',
        "min_call_interval_h": 0,
        **ALWAYS,
        **settings,
    }
    cols = ["name", *values]
    casts = {"window_start": "::time", "window_end": "::time", "retry_minutes": "::jsonb"}
    params = ", ".join(f"${i + 1}{casts.get(c, '')}" for i, c in enumerate(cols))
    args = [name] + [
        time.fromisoformat(v) if k in ("window_start", "window_end") else v
        for k, v in values.items()
    ]
    return int(
        await pool.fetchval(
            f"INSERT INTO campaigns ({', '.join(cols)}) VALUES ({params}) RETURNING id", *args
        )
    )


async def add_contact(
    pool: asyncpg.Pool,
    campaign_id: int,
    numbers: Sequence[str | None] = ("+4930100000",),
    *,
    max_attempts: int = 3,
    **columns: Any,
) -> int:
    n = len(numbers)
    cols = {
        "campaign_id": campaign_id,
        "name": "contact",
        "phone_numbers": list(numbers),
        "number_tries": [0] * n,
        "number_last_cause": [0] * n,
        "number_end_reason": [0] * n,
        "number_invalid": [False] * n,
        "max_attempts": max_attempts,
        "min_call_interval_h": 0,
        **columns,
    }
    params = ", ".join(f"${i + 1}" for i in range(len(cols)))
    return int(
        await pool.fetchval(
            f"INSERT INTO contacts ({', '.join(cols)}) VALUES ({params}) RETURNING id",
            *cols.values(),
        )
    )


async def fetchrow(pool: asyncpg.Pool, query: str, *args: Any) -> asyncpg.Record:
    row = await pool.fetchrow(query, *args)
    assert row is not None
    return row


async def campaign(store: PostgresDialerStore, campaign_id: int) -> Campaign:
    return next(c for c in await store.campaigns() if c.id == campaign_id)


async def test_claims_only_due_contacts(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    cid = await add_campaign(pool)
    due = await add_contact(pool, cid)
    await add_contact(pool, cid, locked=True)
    await add_contact(pool, cid, state="done")
    await add_contact(pool, cid, dt_next_try=now + timedelta(hours=1))
    await add_contact(pool, cid, attempts=3, max_attempts=3)
    await add_contact(pool, cid, ["+4930100001"], number_invalid=[True])
    await add_contact(pool, cid, claimed_by="other", lease_until=now + timedelta(minutes=1))
    expired = await add_contact(
        pool, cid, claimed_by="crashed", lease_until=now - timedelta(seconds=1)
    )
    inactive = await add_campaign(pool, "off", active=False)
    await add_contact(pool, inactive)
    store = PostgresDialerStore(pool, "me", 60)
    calls = await Scheduler(store).due_calls(await campaign(store, cid), 10, now)
    assert sorted(c.contact_id for c in calls) == [due, expired]
    assert await store.campaigns() != [] and all(c.id != inactive for c in await store.campaigns())


async def test_two_instances_never_share_a_contact(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    cid = await add_campaign(pool)
    ids = {await add_contact(pool, cid) for _ in range(50)}
    a, b = PostgresDialerStore(pool, "a", 60), PostgresDialerStore(pool, "b", 60)
    camp = await campaign(a, cid)
    results = await asyncio.gather(
        *(Scheduler(s).due_calls(camp, 7, now) for s in (a, b, a, b, a, b, a, b))
    )
    claimed = [c.contact_id for r in results for c in r]
    assert len(claimed) == len(set(claimed)) == 50
    assert set(claimed) == ids


async def test_next_number_and_invalid_slots(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    cid = await add_campaign(pool)
    contact = await add_contact(
        pool,
        cid,
        ["+4930100000", None, "+4930100002"],
        next_number=1,
    )
    store = PostgresDialerStore(pool, "me", 60)
    [call] = await Scheduler(store).due_calls(await campaign(store, cid), 10, now)
    assert (call.contact_id, call.slot, call.number) == (contact, 2, "+4930100002")


async def test_outside_the_window_is_released_until_it_opens(pool: asyncpg.Pool) -> None:
    # A German number at 12:00 UTC on a Monday, campaign window 16:00-18:00 local.
    cid = await add_campaign(
        pool, window_start="16:00", window_end="18:00", window_days=[1, 2, 3, 4, 5]
    )
    contact = await add_contact(pool, cid, ["+4930100000"])
    store = PostgresDialerStore(pool, "me", 60)
    monday_noon = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert await Scheduler(store).due_calls(await campaign(store, cid), 10, monday_noon) == []
    row = await fetchrow(pool, "SELECT claimed_by, dt_next_try FROM contacts WHERE id=$1", contact)
    assert row["claimed_by"] is None
    assert row["dt_next_try"] == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
