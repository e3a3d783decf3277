"""dialerd.pbx against the real Asterisk lab: login and resync, a queue call seen as a
talking agent, then wrap-up, then free, and the two ways a connection dies: Asterisk
dropping it (``manager kick session``) and a network that silently stops carrying it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from dialerd.domain import AgentsView
from dialerd.pbx.ami import AmiConnection, AmiEvent
from dialerd.pbx.state import LiveState
from tests.pbx.conftest import Lab
from tests.pbx.harness import Blackhole

QUEUE = "lab-agents"


@dataclass
class Pbx:
    conn: AmiConnection
    state: LiveState
    events: list[AmiEvent] = field(default_factory=list)
    arrived: dict[int, float] = field(default_factory=dict)  # monotonic, by AmiEvent.seq
    lost: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)  # monotonic end of every resync

    def record(self, event: AmiEvent) -> None:
        self.events.append(event)
        self.arrived[event.seq] = time.monotonic()

    def agents(self) -> AgentsView:
        return self.state.queue_agents(QUEUE, time.monotonic())

    async def first(self, pred: Callable[[AmiEvent], bool], within: float, what: str) -> AmiEvent:
        """The first event (received or arriving within ``within`` s) that ``pred`` accepts."""

        def found() -> AmiEvent | None:
            return next((e for e in self.events if pred(e)), None)

        await until(lambda: found() is not None, within, what)
        event = found()
        assert event is not None
        return event

    async def wait_for(self, name: str, attempt_id: int, within: float) -> AmiEvent:
        """The event ``name`` about the attempt's (the callee's) channel."""
        uniqueid = f"dialerd-{attempt_id}"
        return await self.first(
            lambda e: e.name == name and e.get("Uniqueid") == uniqueid,
            within,
            f"{name} of attempt {attempt_id}",
        )

    async def agent_complete(self, attempt_id: int, within: float) -> AmiEvent:
        """The AgentComplete of a connected attempt. On a busy machine it can come after the
        caller's Hangup without the caller's fields (Asterisk no longer has its snapshot): then
        it is the attempt's if it names the attempt's agent after its AgentConnect."""
        connect = await self.wait_for("AgentConnect", attempt_id, within)
        uniqueid, agent = f"dialerd-{attempt_id}", connect.get("Interface")

        def ours(e: AmiEvent) -> bool:
            if e.name != "AgentComplete" or e.seq < connect.seq:
                return False
            caller = e.get("Uniqueid")
            return caller == uniqueid or (not caller and e.get("Interface") == agent)

        return await self.first(ours, within, f"AgentComplete of attempt {attempt_id}")


async def until(check: Callable[[], bool], within: float, what: str) -> float:
    """Waits for ``check()``; returns when it became true (monotonic)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)
    return time.monotonic()


@contextlib.asynccontextmanager
async def connected(
    lab: Lab, host: str | None = None, port: int | None = None
) -> AsyncIterator[Pbx]:
    state = LiveState()
    conn = AmiConnection(
        host or lab.ami_host,
        port or lab.ami_port,
        lab.ami_username,
        lab.ami_secret,
        ping_interval=0.5,
        ping_timeout=0.5,
        reconnect_min=0.1,
        reconnect_max=1.0,
    )
    pbx = Pbx(conn, state)
    conn.add_listener(state.apply)
    conn.add_listener(pbx.record)

    async def resync() -> None:
        await state.resync(conn)
        pbx.ready.append(time.monotonic())

    conn.on_ready.append(resync)
    conn.on_lost += [state.clear, lambda: pbx.lost.append(time.monotonic())]
    await conn.start()
    try:
        await conn.wait_ready(10.0)
        yield pbx
    finally:
        await conn.stop()


async def all_free(pbx: Pbx, lab: Lab) -> None:
    """Waits until every agent is free (a previous test's call and wrap-up are over)."""
    await until(lambda: pbx.agents().free == lab.agents, 30.0, "all agents free")


async def call(pbx: Pbx) -> int:
    """Originates like the dialer: a person answers and is put into the queue."""
    attempt_id = time.time_ns() % 1_000_000_000
    await pbx.conn.originate(
        {
            "Channel": "PJSIP/5550100@farend",  # last digit 0: a person answers after ~1 s
            "Context": "dialerd-outbound",
            "Exten": "s",
            "Priority": "1",
            "Timeout": "10000",
            "CallerID": '"dialerd" <5550100>',
            "ChannelId": f"dialerd-{attempt_id}",
            "OtherChannelId": f"dialerd-{attempt_id}-2",
        },
        {
            "DIALERD_ATTEMPT_ID": str(attempt_id),
            "DIALERD_CONTACT_ID": "1",
            "DIALERD_CAMPAIGN_ID": "1",
            "DIALERD_QUEUE": QUEUE,
            "DIALERD_AMD": "0",
            "DIALERD_AGENT_TIMEOUT": "3",
        },
    )
    return attempt_id


async def test_resync_sees_the_lab_agents_free(lab: Lab) -> None:
    async with connected(lab) as pbx:
        await all_free(pbx, lab)
        assert pbx.agents() == AgentsView(lab.agents, lab.agents, 0, 0, 0)
        assert pbx.state.queue_waiting(QUEUE) == 0
        # the same agents as the CLI sees
        shown = await asyncio.to_thread(lab.cli, f"queue show {QUEUE}")
        assert shown.count("(Not in use)") == lab.agents


async def test_a_queue_call_makes_an_agent_talk_then_wrap_up_then_free(lab: Lab) -> None:
    async with connected(lab) as pbx:
        await all_free(pbx, lab)
        attempt_id = await call(pbx)
        response = await pbx.wait_for("OriginateResponse", attempt_id, 10.0)
        assert response["Response"] == "Success" and response["Reason"] == "4"
        assert response["Uniqueid"] == f"dialerd-{attempt_id}"
        assert response["ChanVariable(DIALERD_ATTEMPT_ID)"] == str(attempt_id)

        await pbx.wait_for("AgentConnect", attempt_id, 5.0)
        # Talking is the member's device state (QueueMemberStatus), which can come after
        # AgentConnect: seen with a load average of 12.
        await until(lambda: pbx.agents().talking == 1, 2.0, "talking")
        talking = pbx.agents()
        assert (talking.logged_in, talking.talking, talking.free) == (lab.agents, 1, lab.agents - 1)
        legs = sorted(c.name.rpartition("-")[0] for c in pbx.state.attempt_channels(attempt_id))
        assert legs[0].startswith("PJSIP/agent") and legs[1:] == ["PJSIP/farend"], legs

        complete = await pbx.agent_complete(attempt_id, lab.talk_time + 5)
        wrapping = await until(lambda: pbx.agents().wrapup == 1, 2.0, "wrap-up")
        in_wrapup = pbx.agents()
        assert (in_wrapup.talking, in_wrapup.free) == (0, lab.agents - 1)
        assert in_wrapup.talking_for == ()
        free_again = await until(
            lambda: pbx.agents().free == lab.agents, lab.wrapup + 2, "free after wrap-up"
        )
        # app_queue frees the agent at LastCall (whole seconds) + wrapuptime
        assert lab.wrapup - 1.0 <= free_again - wrapping <= lab.wrapup + 0.1, complete.fields
        await until(lambda: not pbx.state.attempt_channels(attempt_id), 5.0, "hang-up")
        assert pbx.state.queue_waiting(QUEUE) == 0


async def test_asterisk_gives_the_next_call_when_we_see_the_wrap_up_end(lab: Lab) -> None:
    """With one agent unpaused, a call placed during its wrap-up waits in the queue and is
    connected by app_queue itself: never before the moment we predict, and at most one
    queue retry (retry=1 s) after it."""
    async with connected(lab) as pbx:
        await all_free(pbx, lab)
        others = [f"PJSIP/agent{i}" for i in range(2, lab.agents + 1)]
        pause = {"Action": "QueuePause", "Queue": QUEUE}
        try:
            for interface in others:
                await pbx.conn.send({**pause, "Interface": interface, "Paused": "true"})
            await until(lambda: pbx.agents().paused == len(others), 2.0, "pauses")
            first = await call(pbx)
            await pbx.agent_complete(first, lab.talk_time + 6)
            await until(lambda: pbx.agents().wrapup == 1, 2.0, "wrap-up")
            second = await call(pbx)
            predicted_free = await until(
                lambda: pbx.agents().free == 1, lab.wrapup + 2, "predicted end of wrap-up"
            )
            connect = await pbx.wait_for("AgentConnect", second, lab.wrapup + 5)
            connected_at = pbx.arrived[connect.seq]
            assert predicted_free - 0.05 <= connected_at <= predicted_free + 1.2
        finally:
            for interface in others:
                await pbx.conn.send({**pause, "Interface": interface, "Paused": "false"})


async def test_a_kicked_session_reconnects_and_resyncs(lab: Lab) -> None:
    others = await asyncio.to_thread(lab.ami_sessions)
    async with connected(lab) as pbx:
        (mine,) = await asyncio.to_thread(lab.ami_sessions) - others
        kicked = time.monotonic()
        await asyncio.to_thread(lab.cli, f"manager kick session {mine}")
        await until(lambda: bool(pbx.lost), 2.0, "the loss to be noticed")
        assert not pbx.conn.ready
        await pbx.conn.wait_ready(5.0)
        assert pbx.conn.connects == 2 and len(pbx.ready) == 2
        assert pbx.agents().logged_in == lab.agents  # resynced after clear()
        print(
            f"kick → lost in {(pbx.lost[0] - kicked) * 1000:.1f} ms, "
            f"reconnected and resynced in {(pbx.ready[1] - kicked) * 1000:.1f} ms"
        )


async def test_a_silent_network_is_detected_by_ping(lab: Lab, blackhole: Blackhole) -> None:
    async with connected(lab, "127.0.0.1", blackhole.port) as pbx:
        cut = time.monotonic()
        blackhole.cut()
        await until(lambda: bool(pbx.lost), 3.0, "the ping watchdog")
        detected = pbx.lost[0] - cut
        assert detected <= 0.5 + 0.5 + 0.2  # ping_interval + ping_timeout + slack
        await pbx.conn.wait_ready(5.0)
        assert pbx.agents().logged_in == lab.agents
        print(
            f"silent network → lost in {detected * 1000:.0f} ms, "
            f"ready again in {(pbx.ready[1] - cut) * 1000:.0f} ms"
        )
