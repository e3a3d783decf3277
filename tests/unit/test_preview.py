"""Preview dialling's pure rules: which ready agent gets a contact reserved (phone free in all
its queues, no offer, longest ready first; its own callbacks in every campaign it works, other
contacts only of preview campaigns), how its queues follow its offer, the preview call's
AgentConnect, its Originate, and how an agent on its preview call shows in the live view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialerd.dialer.engine import originate_request
from dialerd.dialer.live import agent_state_word
from dialerd.dialer.outcome import AttemptEvents, attempt_id_of
from dialerd.dialer.pacing import CallStats, PacingSettings, PacingSnapshot, make_pacer
from dialerd.dialer.preview import Reservation, pause_moves, phone_free, reservations
from dialerd.domain import (
    AFTER_CALL_REASON,
    PREVIEW_REASON,
    AgentAction,
    AgentActionKind,
    AgentLive,
    AgentState,
    AgentsView,
    Campaign,
    Connres,
    DialableCampaign,
    DialMode,
    ReadyAgent,
)
from tests.unit.fakes import campaign

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ADA, BOB = "PJSIP/agent1", "PJSIP/agent2"


def agent(
    user_id: int,
    endpoint: str,
    *campaigns: int,
    since: float = 0,
    offer: bool = False,
    callback: bool = False,
) -> ReadyAgent:
    at = T0 + timedelta(seconds=since)
    return ReadyAgent(user_id, 1, endpoint, at, campaigns, offer, callback)


def member(endpoint: str, state: AgentState = AgentState.FREE, **changes: Any) -> AgentLive:
    return AgentLive(endpoint, endpoint, state, 0.0, **changes)


CAMPAIGNS: dict[int, Campaign] = {
    1: campaign(1, queue="q1", dial_mode=DialMode.PREVIEW),
    2: campaign(2, queue="q2", dial_mode=DialMode.PREDICTIVE),
}


def test_a_free_ready_agent_gets_its_callbacks_everywhere_and_contacts_of_preview_campaigns() -> (
    None
):
    ada = agent(1, ADA, 1, 2)
    members = {"q1": [member(ADA)], "q2": [member(ADA)]}
    assert reservations([ada], CAMPAIGNS, members, ()) == [Reservation(ada, (1, 2), (1,))]


def test_an_agent_of_predictive_campaigns_only_is_looked_at_for_its_due_callback_only() -> None:
    members = {"q2": [member(BOB)]}
    [found] = reservations([agent(2, BOB, 2, callback=True)], CAMPAIGNS, members, ())
    assert (found.callback_campaigns, found.preview_campaigns) == ((2,), ())
    assert reservations([agent(2, BOB, 2)], CAMPAIGNS, members, ()) == []


def test_ready_longest_first_and_not_those_with_an_offer_or_a_preview_call() -> None:
    ada, bob = agent(1, ADA, 1, since=5), agent(2, BOB, 1, since=1)
    members = {"q1": [member(ADA), member(BOB)]}
    assert [r.agent for r in reservations([ada, bob], CAMPAIGNS, members, ())] == [bob, ada]
    offered = agent(1, ADA, 1, offer=True)
    assert reservations([offered, bob], CAMPAIGNS, members, ()) == [Reservation(bob, (1,), (1,))]
    assert reservations([ada, bob], CAMPAIGNS, members, {BOB}) == [Reservation(ada, (1,), (1,))]


def test_the_phone_must_be_free_in_every_queue_of_its_campaigns() -> None:
    ada = agent(1, ADA, 1, 2)
    busy = {"q1": [member(ADA)], "q2": [member(ADA, AgentState.TALKING, channel="PJSIP/agent1-1")]}
    assert reservations([ada], CAMPAIGNS, busy, ()) == []
    wrapup = {"q1": [member(ADA)], "q2": [member(ADA, AgentState.WRAPUP)]}
    assert reservations([ada], CAMPAIGNS, wrapup, ()) == []
    assert reservations([ada], CAMPAIGNS, {}, ()) == []  # a member of none of them: not signed in
    # A campaign this engine does not dial says nothing of the phone.
    assert reservations([agent(1, ADA, 1, 9)], CAMPAIGNS, {"q1": [member(ADA)]}, ()) != []


def test_paused_for_its_own_offer_and_on_no_call_is_free_any_other_pause_is_not() -> None:
    assert phone_free(member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON))
    assert not phone_free(member(ADA, AgentState.PAUSED, pause_reason="training"))
    assert not phone_free(
        member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON, channel="PJSIP/agent1-2")
    )
    assert not phone_free(member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON, ringing=True))
    assert not phone_free(member(ADA, AgentState.OUT))


def test_queues_follow_the_offer_paused_for_it_while_held_unpaused_after() -> None:
    ada = agent(1, ADA, 1, 2)
    free = {"q1": [member(ADA)], "q2": [member(ADA)]}
    assert pause_moves([ada], {1}, CAMPAIGNS, free, ()) == [
        AgentAction(AgentActionKind.PAUSE, "q1", ADA, PREVIEW_REASON),
        AgentAction(AgentActionKind.PAUSE, "q2", ADA, PREVIEW_REASON),
    ]
    held = {"q1": [member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON)]}
    assert pause_moves([ada], {1}, CAMPAIGNS, held, ()) == []
    assert pause_moves([ada], set(), CAMPAIGNS, held, {ADA}) == []  # on its call: still held
    assert pause_moves([ada], set(), CAMPAIGNS, held, ()) == [
        AgentAction(AgentActionKind.READY, "q1", ADA)
    ]
    # Another pause is the agent's: never lifted here.
    other = {"q1": [member(ADA, AgentState.PAUSED, pause_reason="training")]}
    assert pause_moves([ada], set(), CAMPAIGNS, other, ()) == []


def test_no_paced_calls_in_preview_mode() -> None:
    snap = PacingSnapshot(
        now=0.0,
        agents=AgentsView(logged_in=3, free=3, talking=0, wrapup=0, paused=0),
        calls_ringing=0,
        calls_waiting=0,
        stats=CallStats(),
        settings=PacingSettings(DialMode.PREVIEW, 1.5, 3.0, 0.03, 1.0, 2.0),
    )
    assert make_pacer(snap.settings).calls_to_place(snap) == 0


def test_a_preview_call_is_originated_to_the_agents_phone_without_amd() -> None:
    c = DialableCampaign.of(campaign(1, amd_enabled=True))
    assert c is not None
    _, queued = originate_request(c, 7, 3, "+4930123")
    assert queued["DIALERD_AMD"] == "1" and "DIALERD_AGENT_PHONE" not in queued
    _, preview = originate_request(c, 7, 3, "+4930123", ADA)
    assert preview["DIALERD_AMD"] == "0" and preview["DIALERD_AGENT_PHONE"] == ADA


def test_the_dialplans_agent_connect_is_taken_as_the_queues() -> None:
    uid = "dialerd-7"
    fields = {"UserEvent": "DialerdAgentConnect", "AttemptId": "7", "Interface": ADA}
    assert attempt_id_of("UserEvent", {**fields, "Uniqueid": "1733.55"}) == 7
    e = AttemptEvents(7, started=T0)
    e.feed("Newstate", {"Uniqueid": uid, "ChannelStateDesc": "Up"}, T0 + timedelta(seconds=3))
    e.feed("UserEvent", fields, T0 + timedelta(seconds=4))
    e.feed("HangupRequest", {"Uniqueid": uid}, T0 + timedelta(seconds=30))
    e.feed("Hangup", {"Uniqueid": uid, "Cause": "16"}, T0 + timedelta(seconds=30))
    out = e.outcome(ended_at=T0 + timedelta(seconds=31))
    assert (out.connres, out.agent, out.dt_agent_connect, out.caller_hangup) == (
        Connres.CONNECTED,
        ADA,
        T0 + timedelta(seconds=4),
        True,
    )


def test_a_preview_call_whose_agent_did_not_answer_is_abandoned() -> None:
    uid = "dialerd-7"
    e = AttemptEvents(7, started=T0)
    e.feed("Newstate", {"Uniqueid": uid, "ChannelStateDesc": "Up"}, T0)
    e.feed(
        "UserEvent",
        {"UserEvent": "DialerdResult", "AttemptId": "7", "Result": "ABANDONED"}
        | {"Detail": "AGENT NOANSWER"},
        T0,
    )
    e.feed("Hangup", {"Uniqueid": uid, "Cause": "16"}, T0)
    out = e.outcome(ended_at=T0)
    assert (out.connres, out.detail, out.agent) == (
        Connres.ABORTED,
        "ABANDONED AGENT NOANSWER",
        None,
    )


def test_an_agent_on_its_preview_call_shows_on_a_call_not_paused() -> None:
    paused = member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON)
    assert agent_state_word(paused) == "paused"  # holding an offer
    ringing = member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON, ringing=True)
    assert agent_state_word(ringing) == "ringing"
    on_call = member(ADA, AgentState.PAUSED, pause_reason=PREVIEW_REASON, channel="PJSIP/a-1")
    assert agent_state_word(on_call) == "talking"
    other = member(ADA, AgentState.PAUSED, pause_reason="training", channel="PJSIP/a-1")
    assert agent_state_word(other) == "paused"
    assert agent_state_word(member(ADA, AgentState.WRAPUP, pause_reason=AFTER_CALL_REASON)) == (
        "wrapup"
    )
