"""The engine's preview dialling on in-memory ports (tests/unit/fakes.py), time injected: a
preview campaign places no paced call; a ready agent with a free phone is offered the next due
contact and paused for it; its Call originates the callee leg bridged to its phone, recorded as
any attempt when the dialplan says the agent took it, and not fed to the pacer; an unanswered
call leaves the agent ready and, nothing being due, unpaused."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from dialerd.config import Settings
from dialerd.dialer.engine import Engine
from dialerd.domain import (
    AFTER_CALL_REASON,
    PREVIEW_REASON,
    AgentAction,
    AgentActionKind,
    AgentCommand,
    AgentLive,
    AgentState,
    Connres,
    DialMode,
    ReadyAgent,
)
from tests.unit.fakes import (
    FakePbx,
    MemoryLiveStore,
    MemoryPreviewStore,
    MemoryStore,
    campaign,
    dialable,
)
from tests.unit.test_engine import Clock

AGENT = "PJSIP/agent1"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Rig:
    clock: Clock
    store: MemoryStore
    pbx: FakePbx
    live: MemoryLiveStore
    preview: MemoryPreviewStore
    engine: Engine

    async def tick(self, seconds: float = 0.5) -> None:
        self.clock.t += seconds
        await self.engine.tick()

    def member(self, state: AgentState, reason: str = "", channel: str | None = None) -> None:
        self.pbx.members["q1"] = [AgentLive(AGENT, "Ada", state, 0.0, reason, channel)]

    async def call(self, command_id: int = 1) -> str | None:
        await self.engine.carry_out(
            self.live, AgentCommand(command_id, AgentAction(AgentActionKind.CALL, "q1", AGENT))
        )
        return self.live.finished[command_id]


@pytest.fixture
async def rig() -> Rig:
    clock = Clock()
    store = MemoryStore(clock.now)
    store.campaign_list.append(dialable(campaign(dial_mode=DialMode.PREVIEW)))
    pbx = FakePbx()
    live = MemoryLiveStore(ready_agents={AGENT: ["q1"]})
    preview = MemoryPreviewStore(store, live, [ReadyAgent(7, 1, AGENT, START, (1,), False)])
    engine = Engine(
        Settings(), store, pbx, clock=clock.mono, wall=clock.wall, live=live, preview=preview
    )
    engine.attach()
    await pbx.connect()
    rig = Rig(clock, store, pbx, live, preview, engine)
    rig.member(AgentState.FREE)
    return rig


async def test_a_ready_agent_is_offered_the_next_contact_and_paused_for_it(rig: Rig) -> None:
    first = rig.store.add_contact(1, "+4930100000")
    rig.store.add_contact(1, "+4930100001")
    await rig.tick()
    assert rig.pbx.originates == []  # no paced calls in preview
    offer = rig.preview.offers[7]
    assert (offer.contact_id, offer.number, offer.slot) == (first, "+4930100000", 0)
    assert rig.store.contacts[first].claimed_by == "me"
    assert rig.pbx.actions == [AgentAction(AgentActionKind.PAUSE, "q1", AGENT, PREVIEW_REASON)]
    rig.member(AgentState.PAUSED, PREVIEW_REASON)
    await rig.tick()
    assert len(rig.preview.offers) == 1 and len(rig.pbx.actions) == 1  # held, nothing more


async def test_call_bridges_the_callee_to_the_agents_phone_and_records_the_agent(rig: Rig) -> None:
    contact = rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    rig.member(AgentState.PAUSED, PREVIEW_REASON)
    assert await rig.call() is None
    [(fields, variables)] = rig.pbx.originates
    attempt = int(fields["ChannelId"].removeprefix("dialerd-"))
    assert variables["DIALERD_AGENT_PHONE"] == AGENT and variables["DIALERD_AMD"] == "0"
    assert rig.preview.offers[7].attempt_id == attempt
    assert rig.store.attempts[attempt].status == "dialing"
    assert await rig.call(2) == "call: that contact is being called already"

    rig.pbx.push("Newchannel", attempt, Channel="PJSIP/farend-1")
    rig.pbx.push("OriginateResponse", attempt, Response="Success", Reason="4")
    rig.pbx.push("UserEvent", attempt, UserEvent="DialerdAgentConnect", Interface=AGENT)
    rig.member(AgentState.PAUSED, PREVIEW_REASON, channel="PJSIP/agent1-1")
    await rig.tick()
    assert rig.engine.runs[1].counts() == (0, 0)  # not the pacer's: neither ringing nor waiting
    rig.pbx.push("Hangup", attempt, Cause="16")
    await rig.tick()
    outcome = rig.store.attempts[attempt].outcome
    assert outcome is not None
    assert (outcome.connres, outcome.agent) == (Connres.CONNECTED, AGENT)
    assert rig.store.contacts[contact].open_attempt_id is None
    assert rig.engine.runs[1].stats.placed_calls == 0  # not paced, so not fed
    assert rig.live.after_call[AGENT][1] == attempt
    assert rig.pbx.actions[-1] == AgentAction(AgentActionKind.PAUSE, "q1", AGENT, AFTER_CALL_REASON)
    assert rig.preview.offers == {}


async def test_an_unanswered_call_leaves_the_agent_ready_and_unpaused_when_nothing_is_due(
    rig: Rig,
) -> None:
    rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    rig.member(AgentState.PAUSED, PREVIEW_REASON)
    await rig.call()
    [(fields, _)] = rig.pbx.originates
    attempt = int(fields["ChannelId"].removeprefix("dialerd-"))
    rig.pbx.push("Hangup", attempt, Cause="19")
    await rig.tick()
    outcome = rig.store.attempts[attempt].outcome
    assert outcome is not None and outcome.connres == Connres.NO_ANSWER
    assert AGENT in rig.live.ready_agents  # no after-call work: nobody talked
    await rig.tick()
    assert rig.preview.offers == {}
    assert rig.pbx.actions[-1] == AgentAction(AgentActionKind.READY, "q1", AGENT)


async def test_call_without_an_offer_or_with_anothers_is_refused(rig: Rig) -> None:
    assert await rig.call() == "call: nothing is offered to you by this dialer"
    rig.store.add_contact(1, "+4930100000")
    await rig.tick()
    rig.preview.offers[7] = replace(rig.preview.offers[7], instance_id="other")
    assert await rig.call(2) == "call: nothing is offered to you by this dialer"
    assert rig.pbx.originates == []


async def test_an_agent_whose_phone_is_busy_is_offered_nothing(rig: Rig) -> None:
    rig.store.add_contact(1, "+4930100000")
    rig.member(AgentState.TALKING, channel="PJSIP/agent1-1")
    await rig.tick()
    assert rig.preview.offers == {} and rig.pbx.actions == []


async def test_a_contact_with_every_number_listed_is_stopped_and_the_next_offered(
    rig: Rig,
) -> None:
    listed = rig.store.add_contact(1, "+4930100000")
    second = rig.store.add_contact(1, "+4930100001")
    rig.store.dnc.add("+4930100000")
    await rig.tick()
    assert rig.preview.offers[7].contact_id == second
    [stopped] = rig.store.history(listed)
    assert stopped.outcome is not None and stopped.outcome.detail == "DNC"
    rig.member(AgentState.PAUSED, PREVIEW_REASON)
    rig.store.dnc.add("+4930100001")  # listed while offered: the agent's Call is refused
    assert await rig.call() == (
        "call: that contact cannot be called now (locked, closed, or its number is on a "
        "do-not-call list)"
    )
    assert rig.pbx.originates == []
