"""The engine with its production adapters, against a real Postgres and the fake AMI peer:
the Originate's fields, the history row before it, claims given back under the rate limit,
reconciliation after an AMI cut and after a crash. The engine's rules on in-memory ports are
in tests/unit/test_engine.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from dialerd.config import Settings
from dialerd.service import Dialer, build_dialer, run_dialer
from tests.integration.test_scheduler import add_campaign, add_contact, fetchrow
from tests.unit.fake_ami import FakeAmi, Fields

QUEUE = "q1"


def member(i: int, status: int = 1) -> Fields:
    return {
        "Queue": QUEUE,
        "Name": f"agent{i}",
        "Location": f"PJSIP/agent{i}",
        "StateInterface": f"PJSIP/agent{i}",
        "Status": str(status),
        "Paused": "0",
        "LastCall": "0",
        "Wrapuptime": "0",
    }


@dataclass
class Running:
    ami: FakeAmi
    dialer: Dialer
    stop: asyncio.Event
    task: asyncio.Task[None]


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def fake_ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as ami:
        ami.members = [member(1)]
        yield ami


def engine_settings(settings: Settings, ami: FakeAmi, instance: str = "me") -> Settings:
    return settings.model_copy(
        update={
            "ami_host": ami.host,
            "ami_port": ami.port,
            "ami_username": ami.username,
            "ami_secret": ami.secret,
            "instance_id": instance,
            "tick_seconds": 0.05,
        }
    )


async def start(
    settings: Settings, pool: asyncpg.Pool, ami: FakeAmi, instance: str = "me"
) -> Running:
    dialer = build_dialer(engine_settings(settings, ami, instance), pool)
    stop = asyncio.Event()
    task = asyncio.create_task(run_dialer(dialer, stop))
    return Running(ami, dialer, stop, task)


async def stop(run: Running) -> None:
    run.stop.set()
    await asyncio.wait_for(run.task, 10)


def event(name: str, attempt: int, **fields: str) -> Fields:
    return {"Event": name, "Uniqueid": f"dialerd-{attempt}", **fields}


async def ticks(run: Running, n: int = 5) -> None:
    """Waits until the engine has gone ``n`` more rounds: a check after it has seen what the
    engine did, however slow the machine."""
    engine = run.dialer.engine
    target = engine.ticks + n
    await wait_for(lambda: _true(engine.ticks >= target))


async def _true(value: bool) -> bool:
    return value


def originates(ami: FakeAmi) -> int:
    return sum(1 for a in ami.actions if a.get("Action") == "Originate")


async def history(pool: asyncpg.Pool, attempt: int) -> asyncpg.Record:
    return await fetchrow(pool, "SELECT * FROM contact_history WHERE id=$1", attempt)


async def closed(pool: asyncpg.Pool, attempt: int) -> bool:
    status = await pool.fetchval("SELECT status FROM contact_history WHERE id=$1", attempt)
    return bool(status == "closed")


async def test_originate_fields_and_connected_call(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    cid = await add_campaign(
        pool,
        queue=QUEUE,
        ring_timeout_s=20,
        agent_timeout_s=2,
        wrapup_limit_s=60,
        amd_enabled=True,
        machine_action="message",
    )
    contact = await add_contact(pool, cid, ["+4930100000"])
    run = await start(settings, pool, fake_ami)
    action = await asyncio.wait_for(fake_ami.next_action("Originate"), 5)
    attempt = int(str(action["ChannelId"]).removeprefix("dialerd-"))
    assert action["Channel"] == "PJSIP/+4930100000@farend"
    assert (action["Context"], action["Exten"], action["Priority"]) == (
        "dialerd-outbound",
        "s",
        "1",
    )
    assert action["Async"] == "true" and action["Timeout"] == "20000"
    assert action["OtherChannelId"] == f"dialerd-{attempt}-2"
    variables = set(action["Variable"])
    assert {
        f"DIALERD_ATTEMPT_ID={attempt}",
        f"DIALERD_CONTACT_ID={contact}",
        f"DIALERD_CAMPAIGN_ID={cid}",
        f"DIALERD_QUEUE={QUEUE}",
        "DIALERD_AMD=1",
        "DIALERD_MACHINE_ACTION=message",
        "DIALERD_AGENT_TIMEOUT=2",
    } <= variables
    # The history row was there before the Originate.
    assert (await history(pool, attempt))["phone_number"] == "+4930100000"
    # One free agent, one call in flight: progressive places no second call.
    await ticks(run)
    assert originates(fake_ami) == 1

    fake_ami.push(event("QueueCallerJoin", attempt, Queue=QUEUE))
    fake_ami.push(event("AgentConnect", attempt, Queue=QUEUE, Interface="PJSIP/agent1"))
    fake_ami.push(
        event("AgentComplete", attempt, Queue=QUEUE, Interface="PJSIP/agent1", Reason="caller")
    )
    fake_ami.push(event("Hangup", attempt, Cause="16"))
    await wait_for(lambda: closed(pool, attempt))
    h = await history(pool, attempt)
    assert (h["connres"], h["cause_code"], h["agent"], h["caller_hangup"]) == (
        1,
        16,
        "PJSIP/agent1",
        True,
    )
    assert h["dt_call_connect"] is not None and h["dt_agent_connect"] is not None
    c = await fetchrow(
        pool, "SELECT state, claimed_by, open_attempt_id FROM contacts WHERE id=$1", contact
    )
    assert (c["state"], c["claimed_by"], c["open_attempt_id"]) == ("done", None, None)
    await stop(run)


async def test_no_agent_no_call(settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi) -> None:
    fake_ami.members = [member(1, status=5)]  # unavailable: not logged in
    cid = await add_campaign(pool, queue=QUEUE)
    await add_contact(pool, cid)
    run = await start(settings, pool, fake_ami)
    await wait_for(lambda: _true(run.dialer.pbx.ready))
    await ticks(run)
    assert originates(fake_ami) == 0
    await stop(run)


async def test_busy_by_hangup_cause(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    fake_ami.originate_reason = 0
    fake_ami.originate_delay = 0.2
    cid = await add_campaign(pool, queue=QUEUE)
    contact = await add_contact(pool, cid, ["+4930100005", "+4930100000"], min_call_interval_h=1)
    run = await start(settings, pool, fake_ami)
    action = await asyncio.wait_for(fake_ami.next_action("Originate"), 5)
    attempt = int(str(action["ChannelId"]).removeprefix("dialerd-"))
    fake_ami.push({"Event": "DialEnd", "DestUniqueid": f"dialerd-{attempt}", "DialStatus": "BUSY"})
    fake_ami.push(event("Hangup", attempt, Cause="17"))
    await wait_for(lambda: closed(pool, attempt))
    h = await history(pool, attempt)
    assert (h["connres"], h["cause_code"]) == (3, 17)
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id=$1", contact)
    assert (c["next_number"], c["attempts"], c["state"]) == (1, 1, "open")
    await stop(run)


async def test_ami_cut_mid_call_reconciles(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    fake_ami.members = [member(1), member(2)]
    cid = await add_campaign(pool, queue=QUEUE)
    await add_contact(pool, cid, min_call_interval_h=1)
    await add_contact(pool, cid, min_call_interval_h=1)
    run = await start(settings, pool, fake_ami)
    await asyncio.wait_for(fake_ami.next_action("Originate"), 5)
    await wait_for(lambda: _count(fake_ami, 2))
    first, second = (
        int(str(a["ChannelId"]).removeprefix("dialerd-"))
        for a in fake_ami.actions
        if a.get("Action") == "Originate"
    )
    # During the cut the first call ends; the second one is still up when we are back.
    fake_ami.channels = [
        {
            "Channel": "PJSIP/farend-1",
            "Uniqueid": f"dialerd-{second}",
            "Linkedid": f"dialerd-{second}",
            "ChannelStateDesc": "Up",
            "ChanVariable(DIALERD_ATTEMPT_ID)": str(second),
            "Duration": "00:00:02",
        }
    ]
    fake_ami.members = [member(1), member(2, status=2)]
    fake_ami.drop()
    await wait_for(lambda: closed(pool, first))
    h = await history(pool, first)
    assert h["connres"] == 7 and h["dt_call_end"] is not None
    assert not await closed(pool, second)
    fake_ami.push(event("AgentConnect", second, Queue=QUEUE, Interface="PJSIP/agent2"))
    fake_ami.push(event("Hangup", second, Cause="16"))
    await wait_for(lambda: closed(pool, second))
    assert (await history(pool, second))["connres"] == 1
    await stop(run)


async def test_ami_lost_before_the_originate_is_tried(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    """The AMI drops after the attempt is written and is back (its reconnect waiting for the
    engine) before the Originate is tried. No channel exists, but that says nothing: the
    attempt must not be closed as unknown and counted. Nobody was called; the contact is
    dialled once the AMI is ready."""
    cid = await add_campaign(pool, queue=QUEUE)
    contact = await add_contact(pool, cid, min_call_interval_h=1)
    dialer = build_dialer(engine_settings(settings, fake_ami), pool)
    start_attempts = dialer.engine.store.start_attempts

    async def resynced_again() -> bool:
        return sum(1 for a in fake_ami.actions if a.get("Action") == "CoreShowChannels") >= 2

    async def start_then_lose_ami(*args: Any, **kwargs: Any) -> Any:
        started = await start_attempts(*args, **kwargs)
        if len(fake_ami.login_times) == 1:
            fake_ami.drop()
            await wait_for(resynced_again)
            await asyncio.sleep(0.1)  # the reconnect's reconciliation waits for the engine
        return started

    dialer.engine.store.start_attempts = start_then_lose_ami  # type: ignore[method-assign]
    stop_event = asyncio.Event()
    task = asyncio.create_task(run_dialer(dialer, stop_event))
    action = await asyncio.wait_for(fake_ami.next_action("Originate"), 10)
    assert f"DIALERD_CONTACT_ID={contact}" in action["Variable"]
    attempt = int(str(action["ChannelId"]).removeprefix("dialerd-"))
    fake_ami.push(event("Hangup", attempt, Cause="16"))
    await wait_for(lambda: closed(pool, attempt))
    rows = await pool.fetch(
        "SELECT id, connres, detail FROM contact_history WHERE contact_id=$1 ORDER BY id", contact
    )
    dialled = [r for r in rows if r["connres"] != 0]
    assert [r["id"] for r in dialled] == [attempt], [dict(r) for r in rows]
    for r in rows[:-1]:
        assert (r["connres"], r["detail"]) == (0, "NOT SENT: AMI not ready")
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id=$1", contact)
    assert c["attempts"] == 1
    stop_event.set()
    await asyncio.wait_for(task, 10)


async def _count(ami: FakeAmi, n: int) -> bool:
    return sum(1 for a in ami.actions if a.get("Action") == "Originate") >= n


async def test_restart_after_crash_closes_open_attempts_without_redial(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    cid = await add_campaign(pool, queue=QUEUE)
    contact = await add_contact(pool, cid, min_call_interval_h=1)
    crashed = await start(settings, pool, fake_ami, "crashed")
    action = await asyncio.wait_for(fake_ami.next_action("Originate"), 5)
    attempt = int(str(action["ChannelId"]).removeprefix("dialerd-"))
    crashed.task.cancel()  # like kill -9: nothing is closed or released
    await asyncio.gather(crashed.task, return_exceptions=True)
    await crashed.dialer.pbx.stop()
    await pool.execute("UPDATE contacts SET lease_until = now() - interval '1 s'")
    n_actions = len(fake_ami.actions)
    run = await start(settings, pool, fake_ami, "restarted")
    await wait_for(lambda: closed(pool, attempt))
    h = await history(pool, attempt)
    assert h["connres"] == 7 and h["instance_id"] == "restarted"
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id=$1", contact)
    assert c["attempts"] == 1 and c["open_attempt_id"] is None
    await ticks(run)
    assert not any(a.get("Action") == "Originate" for a in fake_ami.actions[n_actions:])
    await stop(run)


async def test_graceful_stop_waits_for_calls(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    cid = await add_campaign(pool, queue=QUEUE)
    await add_contact(pool, cid)
    run = await start(settings, pool, fake_ami)
    action = await asyncio.wait_for(fake_ami.next_action("Originate"), 5)
    attempt = int(str(action["ChannelId"]).removeprefix("dialerd-"))
    run.stop.set()
    await wait_for(lambda: _true(run.dialer.engine.draining))
    await asyncio.sleep(0.3)
    assert not run.task.done()
    fake_ami.push(event("Hangup", attempt, Cause="16"))
    await asyncio.wait_for(run.task, 5)
    assert (await history(pool, attempt))["connres"] == 6


async def test_global_originate_rate_and_no_starvation(
    settings: Settings, pool: asyncpg.Pool, fake_ami: FakeAmi
) -> None:
    """A campaign with agents and nothing due must not use up the global rate, and claims the
    rate does not allow are given back."""
    fake_ami.members = [member(i) for i in range(1, 21)]
    await add_campaign(pool, "idle", queue=QUEUE)  # agents, but nothing due
    busy = await add_campaign(pool, "busy", queue=QUEUE)
    for _ in range(20):
        await add_contact(pool, busy, min_call_interval_h=1)
    rate = 4.0
    dialer = build_dialer(
        engine_settings(settings, fake_ami).model_copy(update={"max_originate_rate": rate}), pool
    )
    stop_event = asyncio.Event()
    task = asyncio.create_task(run_dialer(dialer, stop_event))
    await wait_for(lambda: _true(originates(fake_ami) >= 6), within=10)
    stop_event.set()  # no new calls; the ones placed end
    received = zip(fake_ami.actions, fake_ami.received_at, strict=True)
    sent, times = zip(*((a, t) for a, t in received if a.get("Action") == "Originate"), strict=True)
    assert all(f"DIALERD_CAMPAIGN_ID={busy}" in a["Variable"] for a in sent)
    # The token bucket: the n-th Originate no earlier than (n - burst) / rate after the first.
    burst = max(1, round(rate * 0.05))
    for n, t in enumerate(times):
        assert t - times[0] >= (n - burst) / rate - 0.05, (
            n,
            [round(x - times[0], 3) for x in times],
        )
    await asyncio.sleep(0.2)
    for a in fake_ami.actions:
        if a.get("Action") == "Originate":
            attempt = int(str(a["ChannelId"]).removeprefix("dialerd-"))
            fake_ami.push(event("Hangup", attempt, Cause="16"))
    await asyncio.wait_for(task, 10)
    # Claims the rate did not allow were given back.
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE claimed_by IS NOT NULL") == 0
