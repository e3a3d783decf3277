"""The live view: built by the engine on in-memory ports (what an agent and a call look like,
when the publisher writes), the agents' minutes, the supervisors' actions; the PBX side's
queue members and AMI actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from dialerd.config import Settings
from dialerd.dialer.engine import LIVE_HEARTBEAT_S, Engine
from dialerd.dialer.live import MinuteMeter, expected_free_agents
from dialerd.dialer.pacing import CallStats
from dialerd.domain import (
    AFTER_CALL_REASON,
    PREVIEW_REASON,
    AgentAction,
    AgentActionKind,
    AgentCommand,
    AgentLive,
    AgentState,
    Channel,
    PbxRefused,
    Transfer,
    TransferKind,
    channel_id,
)
from dialerd.pbx.ami import AmiConnection
from dialerd.pbx.asterisk import AsteriskPbx, agent_action_request, transfer_requests
from dialerd.pbx.state import LiveState
from tests.unit.fakes import FakePbx, MemoryLiveStore, MemoryStore, campaign, dialable
from tests.unit.test_engine import AGENT, START, Clock
from tests.unit.test_live_state import EPOCH, ev, member
from tests.unit.test_live_state import Clock as StateClock


class LiveRig:
    def __init__(self) -> None:
        self.clock = Clock()
        self.store = MemoryStore(self.clock.now)
        self.store.campaign_list.append(dialable(campaign()))
        self.pbx = FakePbx()
        self.live = MemoryLiveStore()
        self.engine = Engine(
            Settings(),
            self.store,
            self.pbx,
            clock=self.clock.mono,
            wall=self.clock.wall,
            live=self.live,
        )
        self.engine.attach()

    def agent(self, state: AgentState, since: float = 0.0) -> None:
        self.pbx.members["q1"] = [AgentLive(AGENT, "agent1", state, START + since)]


@pytest.fixture
async def rig() -> LiveRig:
    r = LiveRig()
    await r.pbx.connect()
    return r


def campaign_of(view: Any) -> Any:
    [c] = view["campaigns"]
    return c


async def test_an_agent_going_to_talking_and_its_call_are_in_the_view(rig: LiveRig) -> None:
    rig.agent(AgentState.FREE)
    rig.store.add_contact(1, "+4930100000")
    await rig.engine.tick()
    [attempt] = [int(f["ChannelId"].removeprefix("dialerd-")) for f, _ in rig.pbx.originates]
    await rig.engine.publish_live()
    c = campaign_of(rig.live.views[-1])
    assert c["agents"][0]["state"] == "free" and c["agents"][0]["number"] is None
    assert [(x["attempt_id"], x["state"], x["number"]) for x in c["calls"]] == [
        (attempt, "ringing", "+4930100000")
    ]
    assert c["pacer"]["placed_per_minute"] == 1 and c["breaker"] == "closed"

    rig.clock.t = 3.0
    rig.pbx.push("Newchannel", attempt)
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    await rig.engine.publish_live()
    assert campaign_of(rig.live.views[-1])["calls"][0]["state"] == "waiting"

    rig.pbx.push("AgentConnect", attempt, Queue="q1", Interface=AGENT)
    rig.agent(AgentState.TALKING, since=3.0)
    await rig.engine.publish_live()
    view = rig.live.views[-1]
    c = campaign_of(view)
    assert c["agents"][0] == {
        "agent": AGENT,
        "name": "agent1",
        "state": "talking",
        "since": START + 3.0,
        "pause_reason": "",
        "number": "+4930100000",
        "attempt_id": attempt,
    }
    assert c["calls"][0]["state"] == "agent" and c["calls"][0]["agent"] == AGENT
    assert view["pbx"] == {
        "connected": True,
        "version": "22.0.0-fake",
        "calls_in_flight": 1,
        "max_calls_in_flight": 200,
        "max_originate_rate": 100.0,
    }


async def test_an_unchanged_view_is_written_only_as_a_heartbeat(rig: LiveRig) -> None:
    rig.agent(AgentState.PAUSED)
    await rig.engine.tick()
    await rig.engine.publish_live()
    rig.clock.t += 0.25
    await rig.engine.publish_live()
    assert len(rig.live.views) == 1
    rig.clock.t += LIVE_HEARTBEAT_S
    await rig.engine.publish_live()
    assert len(rig.live.views) == 2
    rig.agent(AgentState.FREE, since=rig.clock.t)  # a change is written at once
    rig.clock.t += 0.25
    await rig.engine.publish_live()
    assert len(rig.live.views) == 3


async def test_agent_minutes_are_recorded_once_a_minute_is_over(rig: LiveRig) -> None:
    rig.clock.t = 30.0  # START is on a whole minute
    rig.agent(AgentState.FREE)
    await rig.engine.tick()
    for _ in range(40):  # 30 s free, then 10 s talking, every 0.25 s
        if rig.clock.t >= 60.0:
            rig.agent(AgentState.TALKING, since=60.0)
        await rig.engine.publish_live()
        rig.clock.t += 1.0
    [row] = rig.live.seconds
    assert row.minute == datetime.fromtimestamp(START, UTC)
    assert (row.agent, row.campaign_id) == (AGENT, 1)
    assert row.ready_s == pytest.approx(29.0) and row.talk_s == 0.0


def test_the_minute_meter_skips_a_gap_and_keeps_the_open_minute() -> None:
    meter = MinuteMeter()
    agent = AgentLive(AGENT, "agent1", AgentState.WRAPUP, 0.0)
    meter.sample(120.0, [(1, agent)])
    meter.sample(121.0, [(1, agent)])
    meter.sample(130.0, [(1, agent)])  # a stalled loop: the 9 s are not counted
    meter.sample(130.5, [(1, agent)])
    assert meter.take(170.0) == []  # the minute is still open
    [row] = meter.take()
    assert row.wrapup_s == pytest.approx(1.5) and row.ready_s == 0.0


async def test_a_supervisors_action_is_carried_out_and_its_result_recorded(rig: LiveRig) -> None:
    pause = AgentAction(AgentActionKind.PAUSE, "q1", AGENT, reason="supervisor")
    await rig.engine.carry_out(rig.live, AgentCommand(7, pause))
    rig.pbx.fail_action.append(PbxRefused("QueueRemove", "Not there"))
    out = AgentAction(AgentActionKind.SIGN_OUT, "q1", AGENT)
    await rig.engine.carry_out(rig.live, AgentCommand(8, out))
    assert rig.pbx.actions == [pause]
    assert rig.live.finished == {7: None, 8: "QueueRemove: Not there"}


def test_expected_free_agents_counts_talks_likely_to_end_within_a_ring() -> None:
    stats = CallStats()
    for talk in (10.0, 20.0, 30.0, 40.0):
        stats.handled(0.0, talk)
    for ring in (10.0, 10.0):
        stats.answered(0.0, ring)
    now = 1000.0
    agents = [
        AgentLive("a", "a", AgentState.FREE, 0.0),
        AgentLive("b", "b", AgentState.TALKING, now - 25.0),  # 30 or 40: 30 ends within 10 s
        AgentLive("c", "c", AgentState.PAUSED, 0.0),
        AgentLive("d", "d", AgentState.TALKING, now, ringing=True),  # offered a call
    ]
    assert expected_free_agents(agents, stats, now) == pytest.approx(1.5)


# -- the PBX side ------------------------------------------------------------------------------


def test_queue_members_say_state_since_pause_reason_and_channel() -> None:
    clock = StateClock()
    state = LiveState(clock=clock.mono, wall_clock=clock.wall)
    state.apply(member("agent1"))
    state.apply(member("agent2"))
    clock.t += 5
    state.apply(member("agent2", Paused="1", PausedReason="lunch"))
    state.apply(ev("Newchannel", Uniqueid="u1", Channel="PJSIP/agent1-00000001", Linkedid="u1"))
    clock.t += 1
    state.apply(member("agent1", Status="6"))  # its phone rings
    clock.t += 2
    state.apply(member("agent1", Status="2"))
    a1, a2 = state.queue_members("q1", clock.t)
    assert (a1.state, a1.ringing, a1.channel) == (
        AgentState.TALKING,
        False,
        "PJSIP/agent1-00000001",
    )
    assert a1.since == EPOCH + 106.0  # talking since its phone rang (the busy state began)
    assert (a2.state, a2.pause_reason, a2.since) == (AgentState.PAUSED, "lunch", EPOCH + 105.0)
    state.apply(member("agent2", Paused="0"))
    assert state.queue_members("q1", clock.t)[1].pause_reason == ""


FREE = AgentLive(AGENT, "agent1", AgentState.FREE, 0.0)
ON_CALL = AgentLive(AGENT, "agent1", AgentState.TALKING, 0.0, channel="PJSIP/a-1")


def test_agent_actions_are_queue_pause_queue_remove_and_chanspy() -> None:
    pause = AgentAction(AgentActionKind.PAUSE, "q1", AGENT, reason="supervisor")
    assert agent_action_request(pause, FREE) == {
        "Action": "QueuePause",
        "Queue": "q1",
        "Interface": AGENT,
        "Paused": "true",
        "Reason": "supervisor",
    }
    out = agent_action_request(AgentAction(AgentActionKind.SIGN_OUT, "q1", AGENT), FREE)
    assert out == {"Action": "QueueRemove", "Queue": "q1", "Interface": AGENT}
    spies = {
        kind: agent_action_request(AgentAction(kind, "q1", AGENT, phone="PJSIP/sup1"), ON_CALL)
        for kind in (AgentActionKind.LISTEN, AgentActionKind.WHISPER, AgentActionKind.BARGE)
    }
    assert {k.value: r["Data"] for k, r in spies.items()} == {
        "listen": "PJSIP/a-1,bqE",
        "whisper": "PJSIP/a-1,bqEw",
        "barge": "PJSIP/a-1,bqEB",
    }
    listen = spies[AgentActionKind.LISTEN]
    assert (listen["Action"], listen["Channel"], listen["Application"]) == (
        "Originate",
        "PJSIP/sup1",
        "ChanSpy",
    )
    with pytest.raises(PbxRefused, match="not on a call"):
        agent_action_request(AgentAction(AgentActionKind.BARGE, "q1", AGENT, phone="x"), FREE)
    with pytest.raises(PbxRefused, match="no phone"):
        agent_action_request(AgentAction(AgentActionKind.LISTEN, "q1", AGENT), ON_CALL)
    with pytest.raises(PbxRefused, match="is not an agent of q1"):
        agent_action_request(pause, None)


async def connected_call_ends(rig: LiveRig) -> int:
    """A call to the rig's agent, bridged (AgentConnect) and over; returns its attempt."""
    rig.agent(AgentState.FREE)
    rig.store.add_contact(1, "+4930100000")
    await rig.engine.tick()
    [attempt] = [int(f["ChannelId"].removeprefix("dialerd-")) for f, _ in rig.pbx.originates]
    rig.pbx.push("Newchannel", attempt)
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    rig.pbx.push("AgentConnect", attempt, Queue="q1", Interface=AGENT)
    rig.pbx.push("Hangup", attempt, Cause="16")
    return attempt


async def test_a_workspace_agent_goes_to_after_call_work_and_is_ready_at_its_limit(
    rig: LiveRig,
) -> None:
    rig.live.ready_agents[AGENT] = ["q1", "q2"]
    attempt = await connected_call_ends(rig)
    await rig.engine.tick()
    assert rig.live.after_call[AGENT] == (1, attempt, ["q1", "q2"])
    assert [(a.kind, a.queue, a.agent, a.reason) for a in rig.pbx.actions] == [
        (AgentActionKind.PAUSE, "q1", AGENT, AFTER_CALL_REASON),
        (AgentActionKind.PAUSE, "q2", AGENT, AFTER_CALL_REASON),
    ]
    rig.pbx.actions.clear()
    rig.clock.t += 1.0
    await rig.engine.tick()
    assert rig.pbx.actions == []  # its limit is not over yet
    rig.live.overdue.append(AGENT)
    rig.clock.t += 1.0
    await rig.engine.tick()
    assert [(a.kind, a.queue) for a in rig.pbx.actions] == [
        (AgentActionKind.READY, "q1"),
        (AgentActionKind.READY, "q2"),
    ]


async def test_no_view_shows_an_agent_whose_call_ended_before_its_after_call_work_began(
    rig: LiveRig,
) -> None:
    """The publisher may run before the next tick: it begins the after-call work first, so
    that no page shows the agent ready between the hangup and the after-call state."""
    rig.live.ready_agents[AGENT] = ["q1"]
    attempt = await connected_call_ends(rig)
    await rig.engine.publish_live()
    assert rig.live.after_call[AGENT] == (1, attempt, ["q1"])
    assert [(a.kind, a.reason) for a in rig.pbx.actions] == [
        (AgentActionKind.PAUSE, AFTER_CALL_REASON)
    ]
    await rig.engine.tick()
    assert len(rig.pbx.actions) == 1  # begun once


async def test_an_agent_who_is_no_workspace_agent_is_not_paused_after_a_call(
    rig: LiveRig,
) -> None:
    await connected_call_ends(rig)
    await rig.engine.tick()
    assert rig.pbx.actions == [] and rig.live.after_call == {}


def test_the_workspace_actions_as_ami_actions() -> None:
    sign_in = AgentAction(AgentActionKind.SIGN_IN, "q1", AGENT, member_name="Ada")
    assert sorted(agent_action_request(sign_in, None).items()) == [
        ("Action", "QueueAdd"),
        ("Interface", AGENT),
        ("MemberName", "Ada"),
        ("Paused", "false"),
        ("Queue", "q1"),
        ("StateInterface", AGENT),
    ]
    ready = {"Action": "QueuePause", "Queue": "q1", "Interface": AGENT, "Paused": "false"}
    assert agent_action_request(sign_in, FREE) == ready  # a member already: ready
    assert agent_action_request(AgentAction(AgentActionKind.READY, "q1", AGENT), FREE) == ready
    hangup = AgentAction(AgentActionKind.HANGUP, "q1", AGENT)
    assert agent_action_request(hangup, ON_CALL) == {"Action": "Hangup", "Channel": "PJSIP/a-1"}
    with pytest.raises(PbxRefused, match="not on a call"):
        agent_action_request(hangup, FREE)
    with pytest.raises(PbxRefused, match="is not an agent of q1"):
        agent_action_request(AgentAction(AgentActionKind.READY, "q1", AGENT), None)


def test_a_member_paused_for_after_call_work_is_in_wrap_up() -> None:
    clock = StateClock()
    state = LiveState(clock=clock.mono, wall_clock=clock.wall)
    state.apply(member("agent1"))
    state.apply(member("agent1", Paused="1", PausedReason=AFTER_CALL_REASON))
    assert state.agent_state("q1", "PJSIP/agent1", clock.mono()) is AgentState.WRAPUP
    view = state.queue_agents("q1", clock.mono())
    assert (view.wrapup, view.paused, view.available) == (1, 0, 1)
    state.apply(member("agent1", Paused="1", PausedReason="break"))
    assert state.agent_state("q1", "PJSIP/agent1", clock.mono()) is AgentState.PAUSED


def test_a_member_paused_for_its_preview_offer_is_not_available_to_the_pacer() -> None:
    clock = StateClock()
    state = LiveState(clock=clock.mono, wall_clock=clock.wall)
    state.apply(member("agent1"))
    state.apply(member("agent1", Paused="1", PausedReason=PREVIEW_REASON))
    assert state.agent_state("q1", "PJSIP/agent1", clock.mono()) is AgentState.PAUSED
    view = state.queue_agents("q1", clock.mono())
    assert (view.free, view.paused, view.available) == (0, 1, 0)


class _Ami:
    """What AsteriskPbx needs of an AMI connection, recording the actions sent."""

    def __init__(self) -> None:
        self.on_ready: list[object] = []
        self.on_lost: list[object] = []
        self.sent: list[dict[str, str]] = []

    def add_listener(self, listener: object) -> None:
        return None

    async def send(self, action: dict[str, str]) -> list[object]:
        self.sent.append(action)
        return []


async def test_an_agent_no_member_of_a_queue_is_added_to_it_and_is_out_of_it_already() -> None:
    ami = _Ami()
    pbx = AsteriskPbx(cast(AmiConnection, ami))
    await pbx.agent_action(AgentAction(AgentActionKind.SIGN_OUT, "q1", AGENT))
    assert ami.sent == []  # a supervisor signed it out before: nothing to do
    await pbx.agent_action(AgentAction(AgentActionKind.SIGN_IN, "q1", AGENT, member_name="Ada"))
    assert [(a["Action"], a["Interface"]) for a in ami.sent] == [("QueueAdd", AGENT)]
    with pytest.raises(PbxRefused, match="is not an agent of q1"):
        await pbx.agent_action(AgentAction(AgentActionKind.PAUSE, "q1", AGENT, reason="break"))


async def bridged_call(rig: LiveRig) -> int:
    """A call to the rig's workspace agent, bridged (AgentConnect); returns its attempt."""
    rig.agent(AgentState.FREE)
    rig.live.ready_agents[AGENT] = ["q1"]
    rig.store.add_contact(1, "+4930100000")
    await rig.engine.tick()
    [attempt] = [int(f["ChannelId"].removeprefix("dialerd-")) for f, _ in rig.pbx.originates]
    rig.pbx.push("Newchannel", attempt)
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    rig.pbx.push("AgentConnect", attempt, Queue="q1", Interface=AGENT)
    return attempt


def transfer(attempt: int, kind: TransferKind, target: str) -> AgentCommand:
    action = AgentAction(
        AgentActionKind.TRANSFER, "q1", AGENT, transfer=Transfer(kind, target, attempt)
    )
    return AgentCommand(9, action)


async def test_a_transfer_goes_to_the_pbx_and_the_agent_is_let_go_while_the_call_goes_on(
    rig: LiveRig,
) -> None:
    attempt = await bridged_call(rig)
    await rig.engine.carry_out(rig.live, transfer(attempt, TransferKind.NUMBER, "+4940123"))
    [(action, exten, variables)] = rig.pbx.transfers
    assert (action.agent, exten, rig.live.finished) == (AGENT, "number", {9: None})
    assert variables == {
        "DIALERD_TRANSFER_TARGET": "+4940123",
        "DIALERD_TRANSFER_DIAL": "PJSIP/+4940123@farend",  # the campaign's dial string
        "DIALERD_TRANSFER_TIMEOUT": "20",  # its ring timeout
    }
    rig.clock.t = 4.0
    rig.pbx.push("AgentComplete", attempt, Queue="q1", Interface=AGENT, Reason="transfer")
    rig.pbx.push(
        "UserEvent", attempt, UserEvent="DialerdTransfer", Kind="number", Target="+4940123"
    )
    await rig.engine.tick()
    # The agent's leg is over, the call is not: after-call work begins now.
    assert rig.live.after_call[AGENT] == (1, attempt, ["q1"])
    assert [(a.kind, a.reason) for a in rig.pbx.actions] == [
        (AgentActionKind.PAUSE, AFTER_CALL_REASON)
    ]
    assert rig.store.attempts[attempt].status != "closed"
    await rig.engine.publish_live()
    c = campaign_of(rig.live.views[-1])
    assert [(x["state"], x["agent"]) for x in c["calls"]] == [("transferred", None)]
    assert c["agents"][0]["attempt_id"] is None  # its phone is on no call of ours any more

    rig.clock.t = 9.0
    rig.pbx.push("Hangup", attempt, Cause="16")
    await rig.engine.tick()
    outcome = rig.store.attempts[attempt].outcome
    assert outcome is not None and outcome.agent == AGENT
    assert outcome.detail == "TRANSFER number +4940123"
    assert len(rig.pbx.actions) == 1  # no second after-call work at the close
    # The pacer learns the agent's talk up to the transfer, not the callee's whole call.
    rig.pbx.agent_states[AGENT] = AgentState.FREE
    rig.pbx.last_calls[AGENT] = START + 4.0
    await rig.engine.tick()
    assert rig.engine.runs[1].stats.talk_times.sorted() == [pytest.approx(4.0)]


@pytest.mark.parametrize(
    ("attempt_of", "agent", "error"),
    [
        (lambda a: a + 1, AGENT, "transfer: that call is over"),
        (lambda a: a, "PJSIP/agent2", "transfer: PJSIP/agent2 is not on that call"),
    ],
)
async def test_only_the_agent_s_own_call_is_transferred(
    rig: LiveRig, attempt_of: Any, agent: str, error: str
) -> None:
    attempt = await bridged_call(rig)
    command = transfer(attempt_of(attempt), TransferKind.QUEUE, "q2")
    action = command.action
    wrong = AgentCommand(
        command.id, AgentAction(action.kind, "q1", agent, transfer=action.transfer)
    )
    await rig.engine.carry_out(rig.live, wrong)
    assert rig.pbx.transfers == [] and rig.live.finished == {9: error}


async def test_a_call_is_transferred_once(rig: LiveRig) -> None:
    attempt = await bridged_call(rig)
    await rig.engine.carry_out(rig.live, transfer(attempt, TransferKind.QUEUE, "q2"))
    [(_, exten, variables)] = rig.pbx.transfers
    assert (exten, variables) == (
        "queue",
        {"DIALERD_TRANSFER_TARGET": "q2", "DIALERD_TRANSFER_TIMEOUT": "120"},
    )
    rig.pbx.push("AgentComplete", attempt, Queue="q1", Interface=AGENT, Reason="transfer")
    await rig.engine.carry_out(rig.live, transfer(attempt, TransferKind.QUEUE, "q2"))
    assert len(rig.pbx.transfers) == 1
    assert rig.live.finished == {9: "transfer: that call was transferred already"}


def test_a_transfer_as_ami_actions_sets_the_callee_s_variables_then_blind_transfers() -> None:
    callee = Channel(channel_id(7), "PJSIP/farend-00000001", channel_id(7), "Up", 7)
    leg = Channel("u2", "PJSIP/agent1-00000002", channel_id(7), "Up", 7)
    variables = {"DIALERD_TRANSFER_TARGET": "q2", "DIALERD_TRANSFER_TIMEOUT": "120"}
    assert transfer_requests(7, AGENT, [leg, callee], "queue", variables) == [
        {
            "Action": "Setvar",
            "Channel": "PJSIP/farend-00000001",
            "Variable": "DIALERD_TRANSFER_TARGET",
            "Value": "q2",
        },
        {
            "Action": "Setvar",
            "Channel": "PJSIP/farend-00000001",
            "Variable": "DIALERD_TRANSFER_TIMEOUT",
            "Value": "120",
        },
        {
            "Action": "BlindTransfer",
            "Channel": "PJSIP/agent1-00000002",
            "Context": "dialerd-transfer",
            "Exten": "queue",
        },
    ]
    with pytest.raises(PbxRefused, match="PJSIP/agent1 is not on the call"):
        transfer_requests(7, AGENT, [callee], "queue", variables)
    with pytest.raises(PbxRefused, match="the call is over"):
        transfer_requests(7, AGENT, [leg], "queue", variables)


async def test_the_agent_who_took_a_transferred_call_in_another_queue_has_after_call_work_there(
    rig: LiveRig,
) -> None:
    rig.store.campaign_list.append(dialable(campaign(2, queue="q2")))
    attempt = await bridged_call(rig)
    rig.live.ready_agents["PJSIP/agent5"] = ["q2"]
    rig.pbx.push("AgentComplete", attempt, Queue="q1", Interface=AGENT, Reason="transfer")
    rig.pbx.push("UserEvent", attempt, UserEvent="DialerdTransfer", Kind="queue", Target="q2")
    rig.pbx.push("AgentConnect", attempt, Queue="q2", Interface="PJSIP/agent5")
    await rig.engine.tick()
    assert "PJSIP/agent5" not in rig.live.after_call  # on the call until it ends
    rig.pbx.push("AgentComplete", attempt, Queue="q2", Interface="PJSIP/agent5", Reason="agent")
    rig.pbx.push("Hangup", attempt, Cause="16")
    await rig.engine.tick()
    assert rig.live.after_call["PJSIP/agent5"] == (2, attempt, ["q2"])  # in q2's campaign
    outcome = rig.store.attempts[attempt].outcome
    assert outcome is not None and outcome.agent == AGENT
    assert outcome.detail == "TRANSFER queue q2 ANSWER PJSIP/agent5"
