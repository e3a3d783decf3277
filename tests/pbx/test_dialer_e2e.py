"""The dialer end to end: campaigns and call tasks through the REST API, calls through the real
Asterisk lab (far end behaviour by the number's last digit, sipp agents), results read back
through the contacts API's history."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from dialerd.dialer.breaker import BreakerState, TrunkBreaker
from tests.pbx.conftest import Trunk
from tests.pbx.harness import Harness, Serve, number, wait_until


class AmiProxy:
    """A TCP proxy between the dialer and Asterisk's AMI that a test can cut."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for w in self._writers:
            w.close()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


def closed_count(h: Harness, n: int) -> Callable[[], Awaitable[bool]]:
    return lambda: h.all_closed(n)


def state_is(h: Harness, contact: int, state: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool((await h.record(contact))["State"] == state)

    return check


async def test_each_far_end_behaviour(h: Harness) -> None:
    campaign = await h.campaign()
    contacts = {d: await h.contact(campaign, number(d)) for d in range(10)}
    await h.run_until(closed_count(h, 10), 90)
    expected = {  # last digit: CONNRES, cause, contact state
        0: (1, 16, "done"),
        1: (1, 16, "done"),
        2: (1, 16, "done"),
        3: (1, 16, "done"),
        4: (1, 16, "done"),  # an agent takes it within ms; then the callee hangs up
        5: (3, 17, "open"),
        6: (2, 19, "open"),
        7: (5, 34, "open"),
        8: (5, 1, "finished"),  # unknown number: invalid, and it was the only one
        9: (1, 16, "done"),  # without AMD a machine is just an answer
    }
    for digit, contact in contacts.items():
        [attempt] = await h.history(contact)
        record = await h.record(contact)
        got = (attempt["CONNRES"], attempt["CauseCodesID"], record["State"])
        assert got == expected[digit], (digit, attempt, record)
        assert attempt["PhoneNumberOffset"] == 1
        assert attempt["BNumber"] == attempt["PhoneNumber"] == record["PhoneNumber1"]
        assert attempt["ANumber"] == "+4940999999"
        assert attempt["dtCallStart"] and attempt["dtCallEnd"]
        if expected[digit][0] == 1:
            assert attempt["dtCallConnect"] and attempt["dtAgentConnect"]
            assert attempt["Agent"].startswith("PJSIP/agent")
        else:
            assert attempt["dtCallConnect"] is None and attempt["Agent"] is None
    assert (await h.history(contacts[4]))[0]["bCallerHangup"] is True
    assert (await h.history(contacts[0]))[0]["bCallerHangup"] is False  # the agent hung up
    assert (await h.history(contacts[6]))[0]["dtCallAlert"]
    assert (await h.record(contacts[8]))["bPhoneNumber1Invalid"] is True
    assert (await h.record(contacts[5]))["nPhoneNumber1LastCause"] == 17


async def test_the_pacer_is_fed_the_agents_talk_and_the_queues_wrapup(h: Harness) -> None:
    """Production feeds the pacer what the simulator does: talk + wrap-up, when the agent is
    ready again. The lab's agents talk LAB_TALK_TIME s; the queue's wrapuptime is LAB_WRAPUP s,
    ending at app_queue's LastCall (whole seconds) + wrapuptime, so 1 to 2 s after the call."""
    campaign = await h.campaign()
    for _ in range(2):
        await h.contact(campaign, number(0))

    async def fed() -> bool:
        run = h.dialer.engine.runs.get(campaign) if h.dialer else None
        return run is not None and len(run.stats.wrapup_times) >= 2

    await h.run_until(fed, 90)
    assert h.dialer is not None
    stats = h.dialer.engine.runs[campaign].stats
    for talk in stats.talk_times.sorted():
        assert h.lab.talk_time - 0.5 <= talk <= h.lab.talk_time + 1.5, stats.talk_times.sorted()
    for wrapup in stats.wrapup_times.sorted():
        assert h.lab.wrapup - 1.2 <= wrapup <= h.lab.wrapup + 0.5, stats.wrapup_times.sorted()


async def test_a_dead_trunk_burns_no_contacts_and_dialling_resumes(
    h: Harness, trunk: Trunk
) -> None:
    """The trunk taken away (qualify marks it Unavailable): every Originate fails at once with
    no channel. Nobody is charged a try, the campaign's breaker stops the dialling and probes;
    with the trunk given back it resumes by itself and every contact reaches an agent."""
    campaign = await h.campaign()
    contacts = [await h.contact(campaign, number(0)) for _ in range(6)]
    await asyncio.to_thread(trunk.down)

    def breaker() -> TrunkBreaker | None:
        run = h.dialer.engine.runs.get(campaign) if h.dialer else None
        return run.breaker if run else None

    async def a_probe_failed() -> bool:
        b = breaker()
        return b is not None and b.state is BreakerState.OPEN and b.failures > b.threshold

    down_s = 0.0

    async def give_the_trunk_back() -> None:
        nonlocal down_s
        started = time.monotonic()
        await wait_until(a_probe_failed, 60)
        await asyncio.to_thread(trunk.up)
        down_s = time.monotonic() - started

    async def all_done() -> bool:
        states = {(await h.record(c))["State"] for c in contacts}
        return states == {"done"}

    await h.run_until(all_done, 120, during=give_the_trunk_back)
    rows = await h.pool.fetch(
        "SELECT contact_id, connres, detail, channel FROM contact_history WHERE campaign_id = $1",
        campaign,
    )
    no_channel = [r for r in rows if (r["detail"] or "").startswith("NO CHANNEL")]
    assert all(r["connres"] == 0 and r["channel"] is None for r in no_channel), [
        dict(r) for r in no_channel
    ]
    # The breaker opened after 3 (give or take the calls of the tick they failed in) and then
    # let one probe through at a time, the first after 5 s; without it the engine would have
    # dialled the three agents' worth every 0.1 s tick for as long as the trunk was down.
    threshold = TrunkBreaker().threshold
    most = threshold + h.lab.agents + down_s // 5
    assert threshold < len(no_channel) <= most, (len(no_channel), down_s)
    for c in contacts:
        record = await h.record(c)
        assert record["nTriesPhoneNumber1"] == 1, record  # the dead trunk charged nobody
        connected = [r for r in rows if r["contact_id"] == c and r["connres"] != 0]
        assert [r["connres"] for r in connected] == [1]


async def test_answering_machine_detection(h: Harness) -> None:
    campaign = await h.campaign(bAmdEnabled=True, MachineAction="message")
    machine = await h.contact(campaign, number(9))
    human = await h.contact(campaign, number(0))
    gone = await h.contact(campaign, number(4))  # hangs up while AMD still listens
    await h.run_until(closed_count(h, 3), 60)
    [m] = await h.history(machine)
    assert (m["CONNRES"], m["bMachine"], m["bAbandoned"]) == (4, True, False)
    assert (await h.record(machine))["bLastResultMailbox"] is True
    [p] = await h.history(human)
    assert p["CONNRES"] == 1
    [g] = await h.history(gone)
    assert (g["CONNRES"], g["bCallerHangup"]) == (6, True)


async def test_busy_first_number_then_second(h: Harness) -> None:
    campaign = await h.campaign(MinCallIntervalHours=0, RetryMinutes={"3": 0})
    contact = await h.contact(campaign, number(5), number(0))

    await h.run_until(state_is(h, contact, "done"), 60)
    first, second = await h.history(contact)
    assert (first["PhoneNumberOffset"], first["CONNRES"]) == (1, 3)
    assert (second["PhoneNumberOffset"], second["CONNRES"]) == (2, 1)
    record = await h.record(contact)
    assert (record["nTriesPhoneNumber1"], record["nTriesPhoneNumber2"]) == (1, 1)


async def test_max_attempts_stop_retries(h: Harness) -> None:
    campaign = await h.campaign(MinCallIntervalHours=0, MaxAttempts=2)
    contact = await h.contact(campaign, number(5))

    await h.run_until(state_is(h, contact, "finished"), 60)
    await asyncio.sleep(1)
    attempts = await h.history(contact)
    assert [a["CONNRES"] for a in attempts] == [3, 3]
    assert (await h.record(contact))["nTries"] == 2


def assert_agents_never_doubled(rows: list[asyncpg.Record]) -> None:
    by_agent: dict[str, list[tuple[Any, Any]]] = {}
    for r in rows:
        if r["agent"]:
            by_agent.setdefault(r["agent"], []).append((r["dt_agent_connect"], r["dt_call_end"]))
    for agent, calls in by_agent.items():
        calls.sort()
        for (_, end), (start, _) in itertools.pairwise(calls):
            assert start >= end, f"{agent} got a call at {start} before the last ended at {end}"


@pytest.mark.parametrize("mode", ["progressive", "predictive"])
async def test_tasks_worked_off_with_three_agents(h: Harness, mode: str) -> None:
    n = 60 if mode == "progressive" else 15
    campaign = await h.campaign(DialMode=mode)
    # Mostly short calls (callee hangs up after 1 s) to keep the run short.
    contacts = [await h.contact(campaign, number(4 if i % 4 else 0)) for i in range(n)]
    await h.run_until(closed_count(h, n), 40 + n * 4)
    rows = await h.pool.fetch("SELECT * FROM contact_history ORDER BY id")
    # An AMI reconnect on a starved machine can land between an attempt's start and its
    # Originate: that attempt is closed as never sent (CONNRES 0) and the contact dialled
    # again. Every contact is dialled exactly once.
    not_sent = [r for r in rows if r["connres"] == 0]
    assert all(r["detail"].startswith("NOT SENT") for r in not_sent), not_sent
    rows = [r for r in rows if r["connres"] != 0]
    assert sorted(r["contact_id"] for r in rows) == sorted(contacts)
    for r in rows:
        # A callee who hangs up 1 s after answering can be gone before a busy machine's Asterisk
        # hands the call to the agent: rightly CONNRES 6 then. Nobody else ends without an agent.
        hung_up_first = r["connres"] == 6 and r["phone_number"].endswith("4")
        assert r["connres"] == 1 or hung_up_first, (r["contact_id"], r["connres"], r["detail"])
    assert_agents_never_doubled(list(rows))


async def test_no_agent_free_gets_the_message_and_an_abandoned_record(h: Harness) -> None:
    # Ratio 3: nine calls for three agents; the six that find no agent within 2 s abandon.
    campaign = await h.campaign(DialMode="ratio", DialRatio=3, AgentTimeoutSeconds=2)
    for _ in range(6):
        await h.contact(campaign, number(0))
    await h.run_until(closed_count(h, 6), 60)
    rows = await h.pool.fetch("SELECT * FROM contact_history")
    abandoned = [r for r in rows if r["abandoned"]]
    assert abandoned, [dict(r) for r in rows]
    for r in abandoned:
        assert (r["connres"], r["machine"]) == (4, False)
        assert r["detail"].startswith("ABANDONED")
        assert r["dt_call_connect"] is not None and r["dt_agent_connect"] is None
        # The message plays after the 2 s wait, then we hang up.
        assert (r["dt_call_end"] - r["dt_call_connect"]).total_seconds() >= 2
        assert r["caller_hangup"] is False


async def test_ami_cut_mid_campaign(h: Harness) -> None:
    campaign = await h.campaign()
    contacts = [await h.contact(campaign, number(0)) for _ in range(9)]
    proxy = AmiProxy(h.lab.ami_port)
    await proxy.start()

    async def cut_twice() -> None:
        for _ in range(2):
            await wait_until(_calls_up(h), 30)
            proxy.cut()
            await asyncio.sleep(1.5)

    try:
        await h.run_until(closed_count(h, 9), 120, during=cut_twice, ami_port=proxy.port)
    finally:
        await proxy.stop()
    rows = await h.pool.fetch("SELECT * FROM contact_history ORDER BY id")
    assert sorted(r["contact_id"] for r in rows) == sorted(contacts)  # no attempt lost or doubled
    assert all(r["status"] == "closed" for r in rows)
    # Calls still up at the reconnect are followed to their end: connected.
    assert sum(r["connres"] == 1 for r in rows) >= 7, [dict(r) for r in rows]


def _calls_up(h: Harness) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        n = await h.pool.fetchval("SELECT count(*) FROM contact_history WHERE status='dialing'")
        return bool(n >= 2)

    return check


async def test_kill_9_and_restart(h: Harness, serve: Serve) -> None:
    campaign = await h.campaign()
    contacts = [await h.contact(campaign, number(0)) for _ in range(12)]
    first = serve()
    await wait_until(_calls_up(h), 30)
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = serve()
    await wait_until(closed_count(h, 12), 120)
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    rows = await h.pool.fetch("SELECT * FROM contact_history ORDER BY id")
    assert sorted(r["contact_id"] for r in rows) == sorted(contacts)  # nobody called twice
    assert all(r["status"] == "closed" for r in rows)
    for r in rows:  # taken over and followed to the end, or gone: error, with the reason
        outcome = {k: r[k] for k in ("contact_id", "connres", "cause_code", "abandoned", "detail")}
        # On a loaded machine Asterisk may not hand a call to a free agent within the 2 s limit:
        # that call is rightly closed as abandoned (seen once in CI under load). When the
        # dialplan's ABANDONED event came while no dialerd was listening (the kill), the taken-
        # over call is only seen answered and hung up without an agent: callee hung up, abandoned.
        abandoned = r["abandoned"] and (
            (r["connres"] == 4 and "ABANDONED" in r["detail"]) or r["connres"] == 6
        )
        reconciled = r["connres"] == 7 and "RECONCILED" in r["detail"]
        assert r["connres"] == 1 or abandoned or reconciled, outcome
    assert (
        await h.pool.fetchval("SELECT count(*) FROM contacts WHERE open_attempt_id IS NOT NULL")
        == 0
    )


async def test_sigterm_lets_calls_finish(h: Harness, serve: Serve) -> None:
    campaign = await h.campaign()
    for _ in range(6):
        await h.contact(campaign, number(0))
    proc = serve()
    await wait_until(_calls_up(h), 30)
    placed = await h.pool.fetchval("SELECT count(*) FROM contact_history")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    rows = await h.pool.fetch("SELECT * FROM contact_history")
    assert len(rows) == placed  # no new calls after SIGTERM
    assert all(r["status"] == "closed" and r["connres"] == 1 for r in rows), [dict(r) for r in rows]
