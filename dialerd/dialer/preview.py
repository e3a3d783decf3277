"""Preview dialling: which ready agent gets a contact reserved now, from which campaigns, and
how its queue membership follows its offer. Pure: the engine hands in the ready agents (from
the store), its campaigns and the queue members as the PBX shows them.

An agent is offered a contact when it is ready in the workspace, holds no offer, has no
preview call of this engine, and its phone is free in every queue of its campaigns as the PBX
sees it (free, or paused for its offer and on no call), and there is something it could be
offered: its own due callback in any campaign it works (whatever the campaign's mode), first,
else the next due contact of a preview campaign it works; agents ready longest go first.
While it holds an offer (or is on its call) it is paused in its queues with
:data:`~dialerd.domain.PREVIEW_REASON`, so no queue call reaches it; without one, that pause
is lifted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from dialerd.domain import (
    PREVIEW_REASON,
    AgentAction,
    AgentActionKind,
    AgentLive,
    AgentState,
    Campaign,
    DialMode,
    ReadyAgent,
)


@dataclass(frozen=True)
class Reservation:
    """What to claim for one agent: its own callback in ``callback_campaigns``, else the next
    due contact of ``preview_campaigns``."""

    agent: ReadyAgent
    callback_campaigns: tuple[int, ...]
    preview_campaigns: tuple[int, ...]


def _queues(agent: ReadyAgent, campaigns: Mapping[int, Campaign]) -> list[str]:
    found = (campaigns[c].queue for c in agent.campaign_ids if c in campaigns)
    return list(dict.fromkeys(q for q in found if q))


def _entries(
    agent: ReadyAgent, campaigns: Mapping[int, Campaign], members: Mapping[str, Sequence[AgentLive]]
) -> list[tuple[str, AgentLive]]:
    """(queue, member) for each queue of the agent's campaigns it is a member of."""
    return [
        (q, m)
        for q in _queues(agent, campaigns)
        for m in members.get(q, ())
        if m.interface == agent.endpoint
    ]


def _held_for_offer(member: AgentLive) -> bool:
    return member.state is AgentState.PAUSED and member.pause_reason == PREVIEW_REASON


def phone_free(member: AgentLive) -> bool:
    """The PBX would let the phone take a call now: free, or paused for an offer and on none."""
    if member.channel is not None or member.ringing:
        return False
    return member.state is AgentState.FREE or _held_for_offer(member)


def reservations(
    agents: Iterable[ReadyAgent],
    campaigns: Mapping[int, Campaign],
    members: Mapping[str, Sequence[AgentLive]],
    calling: Collection[str],
) -> list[Reservation]:
    """The agents to reserve a contact for, ready longest first. ``campaigns`` are those the
    engine dials (by id), ``members`` each queue's members, ``calling`` the phones on one of
    the engine's preview calls."""
    found = []
    for agent in sorted(agents, key=lambda a: (a.ready_since, a.user_id)):
        if agent.has_offer or agent.endpoint in calling:
            continue
        entries = _entries(agent, campaigns, members)
        if not entries or not all(phone_free(m) for _, m in entries):
            continue
        mine = tuple(c for c in agent.campaign_ids if c in campaigns)
        preview = tuple(c for c in mine if campaigns[c].dial_mode is DialMode.PREVIEW)
        if preview or agent.callback_due:  # else nothing could be offered: no claim to try
            found.append(Reservation(agent, mine, preview))
    return found


def pause_moves(
    agents: Iterable[ReadyAgent],
    offered: Collection[int],
    campaigns: Mapping[int, Campaign],
    members: Mapping[str, Sequence[AgentLive]],
    calling: Collection[str],
) -> list[AgentAction]:
    """The QueuePause actions that make each ready agent's queues follow its offer: paused
    for it while it has one (``offered``: user ids) or is on its call, unpaused when neither."""
    moves = []
    for agent in agents:
        held = agent.user_id in offered or agent.endpoint in calling
        for queue, member in _entries(agent, campaigns, members):
            if held and not _held_for_offer(member) and member.state is not AgentState.OUT:
                moves.append(
                    AgentAction(AgentActionKind.PAUSE, queue, agent.endpoint, PREVIEW_REASON)
                )
            elif not held and _held_for_offer(member):
                moves.append(AgentAction(AgentActionKind.READY, queue, agent.endpoint))
    return moves
