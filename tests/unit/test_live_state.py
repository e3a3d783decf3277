"""LiveState: event sequences (shaped like Asterisk 22's, see tests/pbx) → channels by
attempt and AgentsView per queue; resync through the fake AMI peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from dialerd.domain import AgentsView
from dialerd.pbx._wire import parse_message
from dialerd.pbx.ami import AmiConnection, AmiEvent, decode
from dialerd.pbx.state import LiveState
from tests.unit.fake_ami import FakeAmi, FakeClient, Fields, eventually

EPOCH = 1_795_333_000.0  # wall clock at monotonic 0


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def mono(self) -> float:
        return self.t

    def wall(self) -> float:
        return EPOCH + self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> LiveState:
    return LiveState(clock=clock.mono, wall_clock=clock.wall)


def ev(name: str, **fields: str | list[str]) -> AmiEvent:
    """The event as Asterisk writes it (a list: the header once per item), parsed."""
    lines = [f"Event: {name}"] + [
        f"{key}: {item}"
        for key, value in fields.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    raw = parse_message("\r\n".join(lines))
    assert raw is not None
    return decode(raw)


def member(name: str, queue: str = "q1", **fields: str) -> AmiEvent:
    """A QueueMemberStatus as Asterisk 22 sends it."""
    return ev(
        "QueueMemberStatus",
        Queue=queue,
        MemberName=name,
        Interface=f"PJSIP/{name}",
        StateInterface=f"PJSIP/{name}",
        Status=fields.pop("Status", "1"),
        Paused=fields.pop("Paused", "0"),
        LastCall=fields.pop("LastCall", "0"),
        InCall="0",
        Wrapuptime=fields.pop("Wrapuptime", "0"),
        **fields,
    )


def agent_event(name: str, agent: str, queue: str = "q1", **fields: str) -> AmiEvent:
    return ev(
        name,
        Queue=queue,
        Interface=f"PJSIP/{agent}",
        MemberName=agent,
        Uniqueid="dialerd-42",
        Linkedid="dialerd-42",
        **fields,
    )


def view(state: LiveState, clock: Clock, queue: str = "q1") -> AgentsView:
    return state.queue_agents(queue, clock.t)


def test_unknown_queue_has_no_agents(state: LiveState, clock: Clock) -> None:
    assert view(state, clock, "nope") == AgentsView(0, 0, 0, 0, 0)
    assert state.queue_waiting("nope") == 0


def test_a_call_makes_an_agent_talk_then_wrap_up_then_free(state: LiveState, clock: Clock) -> None:
    for name in ("agent1", "agent2"):
        state.apply(member(name, Wrapuptime="2"))
    assert view(state, clock) == AgentsView(2, 2, 0, 0, 0)

    state.apply(member("agent1", Status="2", Wrapuptime="2"))  # device in use (rung, answered)
    clock.t += 0.01
    state.apply(agent_event("AgentConnect", "agent1", HoldTime="0", RingTime="0"))
    clock.t += 3.0
    assert view(state, clock) == AgentsView(2, 1, 1, 0, 0, talking_for=(3.0,))

    ended = clock.wall()  # 1795333103.01: LastCall is the whole second
    state.apply(agent_event("AgentComplete", "agent1", Timestamp=f"{ended:.6f}", TalkTime="3"))
    state.apply(member("agent1", LastCall=str(int(ended)), Wrapuptime="2"))
    clock.t += 0.5
    got = view(state, clock)
    assert (got.logged_in, got.free, got.talking, got.wrapup) == (2, 1, 0, 1)
    assert got.wrapup_for[0] == pytest.approx(0.51)
    # app_queue's rule: free again once time() >= LastCall + wrapuptime
    clock.t = int(ended) + 2 - EPOCH - 0.001
    assert view(state, clock).wrapup == 1
    clock.t += 0.002
    assert view(state, clock) == AgentsView(2, 2, 0, 0, 0)


def test_agent_complete_alone_starts_the_wrap_up(state: LiveState, clock: Clock) -> None:
    state.apply(member("agent1", Status="2", Wrapuptime="5"))
    state.apply(agent_event("AgentComplete", "agent1", Timestamp=f"{clock.wall():.6f}"))
    state.apply(member("agent1", Status="1", Wrapuptime="5"))  # LastCall not (yet) updated
    clock.t += 1
    assert view(state, clock).wrapup == 1


def test_pause_unavailable_added_removed(state: LiveState, clock: Clock) -> None:
    for name in ("agent1", "agent2", "agent3"):
        state.apply(member(name))
    state.apply(ev("QueueMemberPause", Queue="q1", Interface="PJSIP/agent1", Paused="1"))
    state.apply(member("agent2", Status="5"))  # phone unreachable: not logged in
    assert view(state, clock) == AgentsView(2, 1, 0, 0, 1)

    state.apply(ev("QueueMemberRemoved", Queue="q1", Interface="PJSIP/agent3"))
    state.apply(
        ev("QueueMemberAdded", Queue="q1", Interface="PJSIP/agent4", Status="1", Paused="0")
    )
    state.apply(ev("QueueMemberPause", Queue="q1", Interface="PJSIP/agent1", Paused="0"))
    assert view(state, clock) == AgentsView(2, 2, 0, 0, 0)


def test_paused_wins_over_talking(state: LiveState, clock: Clock) -> None:
    state.apply(member("agent1", Status="2", Paused="1"))
    assert view(state, clock) == AgentsView(1, 0, 0, 0, 1)


def test_queues_are_separate(state: LiveState, clock: Clock) -> None:
    state.apply(member("agent1", queue="q1"))
    state.apply(member("agent1", queue="q2", Paused="1"))
    assert view(state, clock, "q1").free == 1
    assert view(state, clock, "q2").paused == 1


def test_waiting_callers(state: LiveState) -> None:
    for uid in ("dialerd-1", "dialerd-2", "dialerd-3"):
        state.apply(ev("QueueCallerJoin", Queue="q1", Uniqueid=uid, Position="1", Count="1"))
    state.apply(ev("QueueCallerLeave", Queue="q1", Uniqueid="dialerd-1"))
    state.apply(ev("QueueCallerAbandon", Queue="q1", Uniqueid="dialerd-2"))
    assert state.queue_waiting("q1") == 1
    state.apply(ev("Hangup", Uniqueid="dialerd-3", Cause="16"))
    assert state.queue_waiting("q1") == 0


def channel_event(name: str, uniqueid: str, channel: str, **fields: str) -> AmiEvent:
    """Channel events carry the channelvars, empty until the variables are set."""
    return ev(
        name,
        Channel=channel,
        Uniqueid=uniqueid,
        Linkedid=fields.pop("Linkedid", uniqueid),
        ChannelStateDesc=fields.pop("ChannelStateDesc", "Down"),
        ChanVariable=[f"DIALERD_ATTEMPT_ID={fields.pop('attempt', '')}", "DIALERD_CAMPAIGN_ID="],
        **fields,
    )


def test_channels_by_attempt(state: LiveState) -> None:
    state.apply(channel_event("Newchannel", "dialerd-42", "PJSIP/farend-00000000"))
    state.apply(
        channel_event("Newchannel", "1795333044.1", "PJSIP/agent1-00000001", Linkedid="dialerd-42")
    )
    state.apply(channel_event("Newchannel", "1795333044.2", "PJSIP/other-00000002"))
    state.apply(channel_event("Newstate", "dialerd-42", "PJSIP/farend-00000000", attempt="42"))
    state.apply(
        channel_event(
            "Newstate", "dialerd-42", "PJSIP/farend-00000000", ChannelStateDesc="Up", attempt="42"
        )
    )
    names = {c.name: c for c in state.attempt_channels(42)}
    assert set(names) == {"PJSIP/farend-00000000", "PJSIP/agent1-00000001"}
    assert names["PJSIP/farend-00000000"].state == "Up"
    assert state.channels["1795333044.2"].attempt_id is None

    state.apply(ev("Rename", Uniqueid="1795333044.2", Channel="x", Newname="PJSIP/renamed-2"))
    assert state.channels["1795333044.2"].name == "PJSIP/renamed-2"
    state.apply(channel_event("Hangup", "dialerd-42", "PJSIP/farend-00000000", Cause="16"))
    assert [c.name for c in state.attempt_channels(42)] == ["PJSIP/agent1-00000001"]


def test_attempt_from_the_variable_when_the_uniqueid_is_not_ours(state: LiveState) -> None:
    state.apply(channel_event("Newchannel", "1795333044.7", "PJSIP/farend-7"))
    state.apply(channel_event("Newstate", "1795333044.7", "PJSIP/farend-7", attempt="7"))
    assert [c.uniqueid for c in state.attempt_channels(7)] == ["1795333044.7"]


def test_events_of_unknown_channels_create_nothing(state: LiveState) -> None:
    state.apply(channel_event("Newstate", "dialerd-9", "PJSIP/farend-9", attempt="9"))
    state.apply(channel_event("Hangup", "dialerd-9", "PJSIP/farend-9"))
    assert state.channels == {}


def test_clear(state: LiveState, clock: Clock) -> None:
    state.apply(member("agent1"))
    state.apply(channel_event("Newchannel", "dialerd-1", "PJSIP/farend-1"))
    state.clear()
    assert state.channels == {} and view(state, clock).logged_in == 0


# -- resync through the fake peer --------------------------------------------------------------


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as fake:
        fake.wrapuptime = {"general": 0, "q1": 2}
        fake.channels = [
            {
                "Channel": "PJSIP/farend-00000000",
                "Uniqueid": "dialerd-42",
                "Linkedid": "dialerd-42",
                "ChannelStateDesc": "Up",
                "ChanVariable": ["DIALERD_ATTEMPT_ID=42"],
                "Duration": "00:00:07",
            },
            {
                "Channel": "PJSIP/agent2-00000001",
                "Uniqueid": "1795333044.1",
                "Linkedid": "dialerd-42",
                "ChannelStateDesc": "Up",
                "Duration": "00:01:05",
            },
        ]
        fake.params = [{"Queue": "q1", "Calls": "1"}]
        fake.members = [
            {
                "Queue": "q1",
                "Name": name,
                "Location": f"PJSIP/{name}",
                "StateInterface": f"PJSIP/{name}",
                "Status": status,
                "Paused": "0",
                "LastCall": last_call,
                "InCall": "0",
                "Wrapuptime": "0",
            }
            for name, status, last_call in [
                ("agent1", "1", "0"),
                ("agent2", "2", "0"),
                ("agent3", "1", str(int(EPOCH + 100 - 1))),  # ended a call 1 s ago
            ]
        ]
        fake.entries = [{"Queue": "q1", "Uniqueid": "dialerd-43", "Position": "1"}]
        yield fake


@pytest.fixture
async def conn(ami: FakeAmi, state: LiveState) -> AsyncIterator[AmiConnection]:
    c = AmiConnection(ami.host, ami.port, ami.username, ami.secret, reconnect_min=0.01)
    c.add_listener(state.apply)
    c.on_ready.append(lambda: state.resync(c))
    c.on_lost.append(state.clear)
    await c.start()
    await c.wait_ready(1.0)
    yield c
    await c.stop()


async def test_resync_rebuilds_channels_and_queues(
    state: LiveState, clock: Clock, conn: AmiConnection
) -> None:
    assert {c.name for c in state.attempt_channels(42)} == {
        "PJSIP/farend-00000000",
        "PJSIP/agent2-00000001",
    }
    assert state.channels["dialerd-42"].started == 100.0 - 7
    got = view(state, clock)
    assert (got.logged_in, got.free, got.talking, got.wrapup) == (3, 1, 1, 1)
    assert got.talking_for == (65.0,)  # from the agent's channel's Duration
    assert got.wrapup_for == (1.0,)  # the queue's wrapuptime 2 from queues.conf
    assert state.queue_waiting("q1") == 1


async def test_events_right_after_the_lists_survive_the_rebuild(
    ami: FakeAmi, state: LiveState, clock: Clock, conn: AmiConnection
) -> None:
    standard = ami.handlers["CoreShowChannels"]

    def then_events(client: FakeClient, action: Fields) -> None:
        standard(client, action)  # the list, then at once (the same read) two events:
        client.send({"Event": "Hangup", "Uniqueid": "dialerd-42", "Channel": "PJSIP/farend-0"})
        client.send(
            {
                "Event": "Newchannel",
                "Uniqueid": "dialerd-44",
                "Channel": "PJSIP/farend-00000002",
                "ChannelStateDesc": "Down",
            }
        )

    ami.handlers["CoreShowChannels"] = then_events
    ami.drop()  # reconnect → resync
    await eventually(lambda: conn.connects == 2 and conn.ready)
    assert "dialerd-42" not in state.channels
    assert state.channels["dialerd-44"].attempt_id == 44


async def test_refresh_keeps_the_talk_start(
    ami: FakeAmi, state: LiveState, clock: Clock, conn: AmiConnection
) -> None:
    clock.t += 10
    ami.channels.clear()
    await state.refresh_queues(conn)
    assert view(state, clock).talking_for == (75.0,)


async def test_without_getconfig_the_member_wrapuptime_still_counts(
    ami: FakeAmi, clock: Clock, conn: AmiConnection
) -> None:
    ami.handlers["GetConfig"] = lambda client, action: client.respond(
        action, "Error", Message="Permission denied"
    )
    fresh = LiveState(clock=clock.mono, wall_clock=clock.wall)
    await fresh.resync(conn)
    assert view(fresh, clock).wrapup == 0  # the queue's wrapuptime is unknown
    ami.members[2]["Wrapuptime"] = "3"
    await fresh.resync(conn)
    assert view(fresh, clock).wrapup == 1


async def test_refresh_forever_rereads_the_queues_while_ready(
    ami: FakeAmi, state: LiveState, clock: Clock, conn: AmiConnection
) -> None:
    after = len(ami.actions)
    ami.members[0]["Paused"] = "1"
    refresher = asyncio.create_task(state.refresh_forever(conn, interval=0.01))
    try:
        await ami.next_action("QueueStatus", after=after)
        await eventually(lambda: view(state, clock).paused == 1)
    finally:
        refresher.cancel()
