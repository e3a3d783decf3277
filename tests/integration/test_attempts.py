"""Attempt start and close on a real Postgres: history first, one transaction each, claims,
reconciliation take-over, abandon counts for pacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from dialerd.dialer.rules import decider
from dialerd.domain import ClosedAttempt, Connres, Outcome
from dialerd.store.dialer import PostgresDialerStore
from tests.integration.test_scheduler import add_campaign, add_contact, fetchrow

NOW = datetime.now(UTC)


def outcome(connres: Connres, cause: int | None, **kw: object) -> Outcome:
    values: dict[str, object] = {
        "connres": connres,
        "cause": cause,
        "dt_alert": NOW,
        "dt_connect": None,
        "dt_agent_connect": None,
        "dt_end": NOW + timedelta(seconds=3),
        "caller_hangup": None,
        "agent": None,
        "abandoned": False,
        "machine": False,
        "detail": None,
        **kw,
    }
    return Outcome(**values)  # type: ignore[arg-type]


async def start_one(
    pool: asyncpg.Pool, store: PostgresDialerStore, contact: int, slot: int = 0, pbx: str = "pbx1"
) -> int:
    await pool.execute(
        "UPDATE contacts SET claimed_by=$2, lease_until=now()+interval '1 min' WHERE id=$1",
        contact,
        store.instance_id,
    )
    number = await pool.fetchval(
        "SELECT phone_numbers[$2] FROM contacts WHERE id=$1", contact, slot + 1
    )
    [started] = await store.start_attempts([(contact, number, slot)], "4700000000", pbx)
    return started.id


async def test_start_writes_history_and_blocks_the_contact(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid, ["+4930100000", "+4930100001"])
    store = PostgresDialerStore(pool, "me", 60)
    attempt = await start_one(pool, store, contact, 1)
    h = await fetchrow(pool, "SELECT * FROM contact_history WHERE id=$1", attempt)
    assert h["status"] == "pending"
    assert (h["phone_number"], h["phone_number_offset"]) == ("+4930100001", 2)
    assert (h["a_number"], h["b_number"], h["instance_id"]) == ("4700000000", "+4930100001", "me")
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id=$1", contact)
    assert c["open_attempt_id"] == attempt
    # Even with its lease gone, a contact with an open attempt is not claimed again.
    await pool.execute("UPDATE contacts SET lease_until = now() - interval '1 s'")
    assert await PostgresDialerStore(pool, "other", 60).claim(cid, 10) == []
    await store.mark_dialing([attempt])
    assert (
        await pool.fetchval("SELECT status FROM contact_history WHERE id=$1", attempt) == "dialing"
    )


async def test_locked_contact_is_not_started(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid, claimed_by="me", locked=True)
    store = PostgresDialerStore(pool, "me", 60)
    assert await store.start_attempts([(contact, "+4930100000", 0)], None, "pbx1") == []
    assert await pool.fetchval("SELECT count(*) FROM contact_history") == 0


async def test_close_updates_history_and_contact(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool, retry_minutes={"3": 10})
    contact = await add_contact(pool, cid, ["+4930100005", "+4930100000"])
    store = PostgresDialerStore(pool, "me", 60)
    attempt = await start_one(pool, store, contact)
    o = outcome(Connres.BUSY, 17, caller_hangup=True)
    await store.close_attempts(
        [ClosedAttempt(attempt, contact, 0, o, "PJSIP/farend-1")], decider(NOW)
    )
    h = await fetchrow(pool, "SELECT * FROM contact_history WHERE id=$1", attempt)
    assert (h["status"], h["connres"], h["cause_code"], h["caller_hangup"]) == (
        "closed",
        3,
        17,
        True,
    )
    assert h["channel"] == "PJSIP/farend-1"
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id=$1", contact)
    assert c["open_attempt_id"] is None and c["claimed_by"] is None
    assert (c["next_number"], c["attempts"], c["state"]) == (1, 1, "open")
    assert c["number_tries"] == [1, 0] and c["number_last_cause"] == [17, 0]
    assert c["dt_next_try"] == NOW + timedelta(minutes=10)
    assert c["last_connres"] == 3
    # Closing twice changes nothing.
    await store.close_attempts([ClosedAttempt(attempt, contact, 0, o, None)], decider(NOW))
    assert await pool.fetchval("SELECT attempts FROM contacts WHERE id=$1", contact) == 1


async def test_connected_contact_is_done_even_if_locked_during_the_call(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid)
    store = PostgresDialerStore(pool, "me", 60)
    attempt = await start_one(pool, store, contact)
    await pool.execute("UPDATE contacts SET locked = true WHERE id=$1", contact)
    o = outcome(Connres.CONNECTED, 16, dt_connect=NOW, dt_agent_connect=NOW, agent="PJSIP/agent1")
    await store.close_attempts([ClosedAttempt(attempt, contact, 0, o, None)], decider(NOW))
    c = await fetchrow(pool, "SELECT state, locked FROM contacts WHERE id=$1", contact)
    assert (c["state"], c["locked"]) == ("done", True)
    assert await pool.fetchval("SELECT agent FROM contact_history WHERE id=$1", attempt) == (
        "PJSIP/agent1"
    )


async def test_contact_deleted_mid_call_closes_quietly(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid)
    keep = await add_contact(pool, cid)
    store = PostgresDialerStore(pool, "me", 60)
    gone = await start_one(pool, store, contact)
    kept = await start_one(pool, store, keep)
    await pool.execute("DELETE FROM contacts WHERE id=$1", contact)
    o = outcome(Connres.NO_ANSWER, 19)
    await store.close_attempts(
        [ClosedAttempt(gone, contact, 0, o, None), ClosedAttempt(kept, keep, 0, o, None)],
        decider(NOW),
    )
    assert await pool.fetchval("SELECT status FROM contact_history WHERE id=$1", kept) == "closed"


async def test_take_over_only_own_or_expired_of_the_same_pbx(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    mine, crashed, alive, elsewhere = [await add_contact(pool, cid) for _ in range(4)]
    me, dead, live, other = (
        PostgresDialerStore(pool, n, 60) for n in ("me", "dead", "live", "other")
    )
    a1 = await start_one(pool, me, mine)
    a2 = await start_one(pool, dead, crashed)
    await start_one(pool, live, alive)
    a4 = await start_one(pool, other, elsewhere, pbx="pbx2")
    await pool.execute(
        "UPDATE contacts SET lease_until = now() - interval '1 s' WHERE id = ANY($1)",
        [crashed, elsewhere],
    )
    assert await pool.fetchval("SELECT pbx FROM contact_history WHERE id=$1", a4) == "pbx2"
    found = await me.take_over_open_attempts("pbx1")
    # The dead engine of pbx2 left its call to an engine of pbx2, whose channels can tell.
    assert sorted(a.id for a in found) == sorted([a1, a2])
    assert [a.id for a in await other.take_over_open_attempts("pbx2")] == [a4]
    assert await pool.fetchval("SELECT instance_id FROM contact_history WHERE id=$1", a2) == "me"
    assert await pool.fetchval("SELECT claimed_by FROM contacts WHERE id=$1", crashed) == "me"


async def test_abandon_counts(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    store = PostgresDialerStore(pool, "me", 60)
    cases = [
        outcome(Connres.CONNECTED, 16, dt_connect=NOW, dt_agent_connect=NOW),
        outcome(Connres.ABORTED, 16, dt_connect=NOW, abandoned=True),
        outcome(Connres.ABORTED, 16, dt_connect=NOW, machine=True),
        outcome(Connres.BUSY, 17),
    ]
    for o in cases:
        contact = await add_contact(pool, cid)
        attempt = await start_one(pool, store, contact)
        await store.close_attempts([ClosedAttempt(attempt, contact, 0, o, None)], decider(NOW))
    counts = (await store.abandon_counts(NOW - timedelta(days=30)))[cid]
    assert (counts.answered_window, counts.abandoned_window) == (2, 1)
    assert (counts.answered_today, counts.abandoned_today) == (2, 1)
