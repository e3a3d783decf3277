"""The live views and the wallboard on a real Postgres: two engines publish, the wallboard
merges them, a withdrawn or stale view drops out; the updates iterator wakes within a second of
a NOTIFY; the hopper is the claim's order; the alerts; agent minutes add up; a supervisor's
action reaches the engine that sees the agent (and only it) and comes back with its result."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from dialerd.dialer.breaker import BreakerState
from dialerd.dialer.live import CallLive, CampaignLive, live_view
from dialerd.dialer.pacing import CallStats
from dialerd.domain import (
    AgentAction,
    AgentActionKind,
    AgentLive,
    AgentSeconds,
    AgentState,
    DialableCampaign,
    PbxStatus,
    Role,
)
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.live import PostgresLiveStore, insert_command
from dialerd.wallboard.service import Wallboard, WallboardError
from tests.conftest import Console
from tests.integration.test_scheduler import add_campaign, add_contact, campaign, fetchrow

AGENT = "PJSIP/agent1"


def view_of(
    instance: str,
    c: DialableCampaign,
    agents: Sequence[AgentLive] = (),
    calls: Sequence[CallLive] = (),
) -> dict[str, Any]:
    return live_view(
        instance,
        time.time(),
        [CampaignLive(c, agents, calls, CallStats(), BreakerState.CLOSED, 0, len(calls))],
        PbxStatus(True, "22.10.1"),
        calls_in_flight=len(calls),
        max_calls_in_flight=200,
        max_originate_rate=100.0,
    )


async def dialable_campaign(pool: asyncpg.Pool, **settings: Any) -> DialableCampaign:
    cid = await add_campaign(pool, **settings)
    found = DialableCampaign.of(await campaign(PostgresDialerStore(pool, "x", 60), cid))
    assert found is not None
    return found


async def add_answer(
    pool: asyncpg.Pool, contact_id: int, campaign_id: int, at: datetime, *, abandoned: bool
) -> None:
    """A closed attempt answered (and abandoned, or not) at ``at``."""
    await pool.execute(
        "INSERT INTO contact_history (contact_id, campaign_id, client_id, phone_number,"
        " phone_number_offset, b_number, status, dt_call_connect, dt_call_end, abandoned)"
        " VALUES ($1, $2, 1, '+4930100000', 1, '+4930100000', 'closed', $3, $3, $4)",
        contact_id,
        campaign_id,
        at,
        abandoned,
    )


def talking(since: float) -> AgentLive:
    return AgentLive(AGENT, "agent1", AgentState.TALKING, since)


async def test_two_engines_publish_and_the_wallboard_merges_both(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    c = await dialable_campaign(pool)
    await add_contact(pool, c.id)
    a, b = PostgresLiveStore(pool, db_dsn, "a"), PostgresLiveStore(pool, db_dsn, "b")
    call = CallLive(5, 1, "+4930100000", "agent", time.time(), AGENT)
    await a.publish(view_of("a", c, [talking(time.time())], [call]))
    await b.publish(
        view_of("b", c, [talking(time.time())], [CallLive(6, 2, "+49301", "ringing", 0.0, None)])
    )
    board = Wallboard(pool, db_dsn)
    snap = await board.snapshot(1, c.id)
    [shown] = snap["campaigns"]
    assert shown["instances"] == ["a", "b"]
    assert [(x["agent"], x["number"], x["instance_id"]) for x in shown["agents"]] == [
        (AGENT, "+4930100000", "a")
    ]
    assert sorted(x["attempt_id"] for x in shown["calls"]) == [5, 6]
    assert [p["instance_id"] for p in snap["pbx"]] == ["a", "b"]
    assert shown["alerts"] == [] and shown["dialable_left"] == 1
    assert (await board.snapshot(2, c.id))["campaigns"] == []  # another client's

    await b.withdraw()
    await pool.execute("UPDATE live_views SET updated_at = now() - interval '1 minute'")
    snap = await Wallboard(pool, db_dsn).snapshot(1, c.id)
    assert snap["stale"] == [{"instance_id": "a", "age_s": pytest.approx(60, abs=1)}]
    assert snap["campaigns"][0]["agents"] == []
    assert [x["kind"] for x in snap["campaigns"][0]["alerts"]] == ["no_engine"]


async def test_the_updates_wake_within_a_second_of_a_notify(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    c = await dialable_campaign(pool)
    engine = PostgresLiveStore(pool, db_dsn, "a")
    await engine.publish(view_of("a", c))
    updates = Wallboard(pool, db_dsn).updates(1, c.id)
    try:
        first = await anext(updates)
        assert first["campaigns"][0]["agents"] == []
        waiting = asyncio.ensure_future(anext(updates))
        await asyncio.sleep(0.3)  # the iterator is asleep on its LISTEN
        published = time.monotonic()
        await engine.publish(view_of("a", c, [talking(time.time())]))
        snap = await waiting
        took = time.monotonic() - published
    finally:
        await updates.aclose()
    assert [x["state"] for x in snap["campaigns"][0]["agents"]] == ["talking"]
    assert took < 1.0, took


async def test_the_hopper_is_what_the_claim_takes_next(pool: asyncpg.Pool, db_dsn: str) -> None:
    c = await dialable_campaign(pool)
    now = datetime.now(UTC)
    for minutes in (5, None, 1, 30, None, 3):
        due = None if minutes is None else now - timedelta(minutes=minutes)
        await add_contact(pool, c.id, dt_next_try=due)
    await add_contact(pool, c.id, dt_next_try=now + timedelta(hours=1))  # not due
    await add_contact(pool, c.id, locked=True)
    snap = await Wallboard(pool, db_dsn).snapshot(1, c.id)
    hopper = [h["contact_id"] for h in snap["campaigns"][0]["hopper"]]
    claimed = await PostgresDialerStore(pool, "me", 60).claim(c.id, 4)
    # The claim returns its rows by id; its order of choice is the hopper's.
    assert set(hopper[:4]) == {x.id for x in claimed}
    assert len(hopper) == 6
    assert all(
        h["in_window"] and h["number"] == "+4930100000" for h in snap["campaigns"][0]["hopper"]
    )


async def test_alerts_no_contacts_left_and_outside_the_call_window(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    empty = await dialable_campaign(pool)
    hour = datetime.now(UTC).hour
    closed = await dialable_campaign(
        pool,
        name="closed",
        window_start=f"{(hour + 2) % 24:02d}:00",
        window_end=f"{(hour + 3) % 24:02d}:00",
    )
    await add_contact(pool, closed.id)
    store = PostgresLiveStore(pool, db_dsn, "a")
    free = AgentLive(AGENT, "agent1", AgentState.FREE, time.time())
    await store.publish(
        {
            **view_of("a", empty, [free]),
            "campaigns": [
                view_of("a", empty, [free])["campaigns"][0],
                view_of("a", closed, [free])["campaigns"][0],
            ],
        }
    )
    snap = await Wallboard(pool, db_dsn).snapshot(1)
    alerts = {c["name"]: [a["kind"] for a in c["alerts"]] for c in snap["campaigns"]}
    assert alerts == {"c1": ["no_contacts"], "closed": ["outside_window"]}
    assert snap["summary"]["agents"] == {"free": 1}


async def test_abandon_rates_and_the_days_chart(pool: asyncpg.Pool, db_dsn: str) -> None:
    c = await dialable_campaign(pool)
    contact = await add_contact(pool, c.id)
    now = datetime.now(UTC)
    for abandoned in (True, False, False, False):
        await add_answer(pool, contact, c.id, now, abandoned=abandoned)
    live = PostgresLiveStore(pool, db_dsn, "a")
    minute = now.replace(second=0, microsecond=0)
    row = AgentSeconds(minute, c.id, AGENT, talk_s=30.0, wrapup_s=10.0, ready_s=10.0)
    await live.add_agent_seconds([row])
    await live.add_agent_seconds([AgentSeconds(minute, c.id, AGENT, ready_s=10.0)])
    stored = await fetchrow(pool, "SELECT talk_s, ready_s FROM agent_minutes")
    assert (stored["talk_s"], stored["ready_s"]) == (30.0, 20.0)
    snap = await Wallboard(pool, db_dsn).snapshot(1, c.id)
    shown = snap["campaigns"][0]
    assert (shown["abandon_today"], shown["abandon_30d"]) == (0.25, 0.25)
    assert shown["abandon_limit"] == pytest.approx(0.03)
    [point] = snap["chart"]
    assert point["occupancy"] == pytest.approx(40 / 60, abs=1e-4)
    assert point["abandon_rate"] == 0.25


async def test_a_supervisors_action_reaches_the_engine_that_sees_the_agent(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    c = await dialable_campaign(pool)
    a, b = PostgresLiveStore(pool, db_dsn, "a"), PostgresLiveStore(pool, db_dsn, "b")
    await a.publish(view_of("a", c, [talking(time.time())]))
    await b.publish(view_of("b", c))
    assert await b.next_commands(0.01) == []

    async def engine_a(error: str | None) -> AgentAction:
        [command] = await a.next_commands(5.0)
        await a.finish_command(command.id, error)
        return command.action

    board = Wallboard(pool, db_dsn)

    async def act(kind: AgentActionKind, **changes: Any) -> None:
        args: dict[str, Any] = {"client_id": 1, "phone": None, "agent": AGENT, **changes}
        await board.act(user_id=None, campaign_id=c.id, kind=kind, **args)

    served = asyncio.ensure_future(engine_a(None))
    await asyncio.sleep(0.2)  # engine a waits on its LISTEN
    started = time.monotonic()
    await act(AgentActionKind.LISTEN, phone="sup1")
    assert time.monotonic() - started < 1.0
    assert await served == AgentAction(AgentActionKind.LISTEN, c.queue, AGENT, phone="PJSIP/sup1")
    assert await b.next_commands(0.01) == []  # b does not see the agent: not its action

    served = asyncio.ensure_future(engine_a("QueuePause: Interface not found"))
    with pytest.raises(WallboardError, match="Interface not found"):
        await act(AgentActionKind.PAUSE)
    assert (await served).reason == "supervisor"
    with pytest.raises(WallboardError, match="no phone"):
        await act(AgentActionKind.BARGE, phone="")
    with pytest.raises(WallboardError, match="not logged in"):
        await act(AgentActionKind.SIGN_OUT, agent="PJSIP/nobody")
    with pytest.raises(WallboardError, match="no campaign"):
        await act(AgentActionKind.SIGN_OUT, client_id=2)  # another client's


async def test_an_old_action_is_not_carried_out(pool: asyncpg.Pool, db_dsn: str) -> None:
    c = await dialable_campaign(pool)
    a = PostgresLiveStore(pool, db_dsn, "a")
    await insert_command(pool, "a", 1, None, AgentAction(AgentActionKind.SIGN_OUT, c.queue, AGENT))
    await pool.execute("UPDATE agent_commands SET created_at = now() - interval '1 minute'")
    assert await a.next_commands(0.01) == []


async def test_a_campaign_not_the_client_s_has_no_wallboard_nor_stream(console: Console) -> None:
    theirs = await add_campaign(console.pool, "theirs", client_id=2)
    await console.add_user("vera", Role.VIEWER)
    await console.sign_in("vera")
    for c in (theirs, 2**31):  # another client's; an ID no campaign can have (an integer's)
        for path in (f"/console/wallboard/{c}", f"/console/wallboard/events?campaign={c}"):
            status, _, body = await console.get(path)
            assert status == 404 and f"There is no campaign {c}" in body, path
