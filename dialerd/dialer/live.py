"""The engine's live view, for every dialerd's wallboard: its campaigns' agents, calls in
flight and pacer figures, the breaker, and the PBX side. Pure: the engine hands in what it
knows, time is passed in; the view is a JSON-ready dict (docs/wallboard.md has its fields).

Times are epoch seconds at which something began (an agent's state, a call), never durations:
a view that nothing changed is then equal to the last one, and the publisher writes it only as
a heartbeat. The pacer's figures drift with the clock, so they are left out of that comparison
(:func:`change_key`) and refreshed with every write.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialerd.dialer.breaker import BreakerState
from dialerd.dialer.outcome import AttemptEvents
from dialerd.dialer.pacing import CallStats
from dialerd.domain import (
    PREVIEW_REASON,
    AgentLive,
    AgentSeconds,
    AgentState,
    DialableCampaign,
    PbxStatus,
)

VIEW_VERSION = 1
DEFAULT_RING_S = 15.0  # the horizon of "expected free agents" before any call was answered
# A gap longer than this between two samples of the agents (a stalled loop) is not counted
# into agent_minutes: what the agents did meanwhile is unknown.
MAX_SAMPLE_GAP_S = 2.0


class CallState:
    RINGING = "ringing"
    WAITING = "waiting"  # answered, waiting for an agent
    AGENT = "agent"  # with an agent
    ENDING = "ending"  # answered, no agent will take it (a machine, or abandoned)
    TRANSFERRED = "transferred"  # its agent transferred it: to a number or another queue


@dataclass(frozen=True)
class CallLive:
    attempt_id: int
    contact_id: int
    number: str
    state: str
    started: float  # epoch s the attempt started
    agent: str | None


def call_state(events: AttemptEvents) -> str:
    if not events.answered:
        return CallState.RINGING
    if events.transferred:
        return CallState.TRANSFERRED
    if events.dt_agent_connect is not None:
        return CallState.AGENT
    if events.user_result is not None or events.caller_abandoned:
        return CallState.ENDING
    return CallState.WAITING


def call_live(events: AttemptEvents, contact_id: int, number: str) -> CallLive:
    return CallLive(
        events.attempt_id,
        contact_id,
        number,
        call_state(events),
        events.started.timestamp(),
        # Whose call it is now: a transferred call is no longer its first agent's.
        events.transfer_agent if events.transferred else events.agent,
    )


@dataclass(frozen=True)
class CampaignLive:
    """What the engine knows of one campaign at one moment."""

    campaign: DialableCampaign
    agents: Sequence[AgentLive]
    calls: Sequence[CallLive]
    stats: CallStats
    breaker: BreakerState
    wanted: int  # what the pacer asked for on its last tick, before the caps
    placed_last_minute: int


def agent_state_word(agent: AgentLive) -> str:
    """free, ringing, talking, wrapup, paused or out. An agent on its preview call is paused
    for it in the queues (no queue call may reach it) but on a call all the same."""
    on_preview_call = (
        agent.state is AgentState.PAUSED
        and agent.pause_reason == PREVIEW_REASON
        and (agent.channel is not None or agent.ringing)
    )
    if (agent.state is AgentState.TALKING or on_preview_call) and agent.ringing:
        return "ringing"
    return "talking" if on_preview_call else agent.state.value


def _done_within(sample: Sequence[float], elapsed: float, horizon: float) -> float:
    """P(a duration of ``sample`` (sorted) ends within ``horizon`` s, given ``elapsed``)."""
    if not sample:
        return 0.0
    left = len(sample) - bisect_right(sample, elapsed)
    if left == 0:
        return 1.0  # longer than every one seen: it should end any moment
    return (bisect_right(sample, elapsed + horizon) - bisect_right(sample, elapsed)) / left


def expected_free_agents(agents: Iterable[AgentLive], stats: CallStats, now: float) -> float:
    """The agents expected to be free by the time a call placed now is answered (the mean
    ring time of a live answer): the free ones, each talking agent by its rest of talk plus
    the mean wrap-up, each agent in wrap-up by the rest of it."""
    horizon = stats.live_ring_times.mean(DEFAULT_RING_S)
    talks, wrapups = stats.talk_times.sorted(), stats.wrapup_times.sorted()
    wrapup_mean = stats.wrapup_times.mean(0.0)
    expected = 0.0
    for agent in agents:
        elapsed = max(0.0, now - agent.since)
        if agent.state is AgentState.FREE:
            expected += 1.0
        elif agent.state is AgentState.TALKING and not agent.ringing:
            expected += _done_within(talks, elapsed, max(0.0, horizon - wrapup_mean))
        elif agent.state is AgentState.WRAPUP:
            expected += _done_within(wrapups, elapsed, horizon) if wrapups else 1.0
    return expected


def _figure(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def campaign_view(c: CampaignLive, now: float) -> dict[str, Any]:
    on_call = {call.agent: call for call in c.calls if call.agent is not None}
    agents = []
    for a in sorted(c.agents, key=lambda a: a.name):
        call = on_call.get(a.interface)
        agents.append(
            {
                "agent": a.interface,
                "name": a.name,
                "state": agent_state_word(a),
                "since": round(a.since, 3),
                "pause_reason": a.pause_reason,
                "number": call.number if call else None,
                "attempt_id": call.attempt_id if call else None,
            }
        )
    available = sum(1 for a in c.agents if a.state not in (AgentState.PAUSED, AgentState.OUT))
    in_flight = sum(1 for call in c.calls if call.state in (CallState.RINGING, CallState.WAITING))
    return {
        "id": c.campaign.id,
        "client_id": c.campaign.client_id,
        "name": c.campaign.name,
        "queue": c.campaign.queue,
        "mode": c.campaign.dial_mode.value,
        "abandon_limit": c.campaign.abandon_limit,
        "breaker": c.breaker.value,
        "agents": agents,
        "calls": [
            {
                "attempt_id": call.attempt_id,
                "contact_id": call.contact_id,
                "number": call.number,
                "state": call.state,
                "started": round(call.started, 3),
                "agent": call.agent,
            }
            for call in sorted(c.calls, key=lambda call: call.attempt_id)
        ],
        "pacer": {
            "calls_per_agent": _figure(in_flight / available, 2) if available else None,
            "placed_per_minute": c.placed_last_minute,
            "answer_rate": _figure(c.stats.answer_rate(now), 4),
            "expected_free_agents": _figure(expected_free_agents(c.agents, c.stats, now), 2),
            "wanted": c.wanted,
        },
    }


def live_view(
    instance_id: str,
    now: float,
    campaigns: Iterable[CampaignLive],
    pbx: PbxStatus,
    *,
    calls_in_flight: int,
    max_calls_in_flight: int,
    max_originate_rate: float,
) -> dict[str, Any]:
    """The whole live view of one engine at ``now`` (epoch s)."""
    return {
        "version": VIEW_VERSION,
        "instance_id": instance_id,
        "at": round(now, 3),
        "pbx": {
            "connected": pbx.connected,
            "version": pbx.version,
            "calls_in_flight": calls_in_flight,
            "max_calls_in_flight": max_calls_in_flight,
            "max_originate_rate": max_originate_rate,
        },
        "campaigns": [
            campaign_view(c, now) for c in sorted(campaigns, key=lambda c: c.campaign.id)
        ],
    }


def change_key(view: dict[str, Any]) -> Any:
    """What must be published at once when it changes: the view without its time and the
    pacer's figures."""
    return (
        view["pbx"],
        [{k: v for k, v in c.items() if k != "pacer"} for c in view["campaigns"]],
    )


_SECONDS_OF = {
    AgentState.TALKING: "talk_s",
    AgentState.WRAPUP: "wrapup_s",
    AgentState.FREE: "ready_s",
    AgentState.PAUSED: "paused_s",
}


class MinuteMeter:
    """Adds up the seconds each agent spends in each state, per campaign and minute, from
    samples of the agents' states: each sample counts the time since the one before."""

    def __init__(self) -> None:
        self._last: float | None = None
        # (minute epoch s, campaign, agent) → seconds by column
        self._open: dict[tuple[int, int, str], dict[str, float]] = defaultdict(
            lambda: dict.fromkeys(_SECONDS_OF.values(), 0.0)
        )

    def sample(self, now: float, agents: Iterable[tuple[int, AgentLive]]) -> None:
        """(campaign id, agent) of every campaign's agents at ``now`` (epoch s)."""
        last, self._last = self._last, now
        if last is None or not 0.0 < now - last <= MAX_SAMPLE_GAP_S:
            return
        elapsed, minute = now - last, int(now // 60) * 60
        for campaign_id, agent in agents:
            column = _SECONDS_OF.get(agent.state)
            if column is not None:
                self._open[(minute, campaign_id, agent.interface)][column] += elapsed

    def take(self, now: float | None = None) -> list[AgentSeconds]:
        """The minutes that ended before ``now``'s (every minute when ``now`` is None), each
        once."""
        current = None if now is None else int(now // 60) * 60
        done = [key for key in self._open if current is None or key[0] < current]
        rows = []
        for key in done:
            seconds = self._open.pop(key)
            minute, campaign_id, agent = key
            rows.append(
                AgentSeconds(
                    datetime.fromtimestamp(minute, UTC),
                    campaign_id,
                    agent,
                    **{k: round(v, 3) for k, v in seconds.items()},
                )
            )
        return rows
