"""The one way pacing statistics are fed: what happens to a campaign's calls and agents, in
the words of a call centre, becomes :class:`~dialerd.dialer.pacing.CallStats` calls. The
engine drives it from the PBX's events and live queue-member state, the simulator from its
own events, so the pacer is fed the same in production as in every simulated figure.

A call is placed, then ends in one of: no answer (busy, failure, rang out), a machine, or a
person who answered and was either connected to an agent or abandoned (no agent in time, or
gone before one came). A connected call's agent talks until the call ends, is in wrap-up
after it, and is *ready again* when the PBX would offer it a new call: handle time = talk +
wrap-up, both fed then. A call that went nowhere (the Originate was never sent, refused, or
made no channel) is *withdrawn*: nobody was called, so it is no placed, unanswered call.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from dialerd.dialer.pacing import CallStats


@dataclass(slots=True)
class _Call:
    placed_at: float
    answered_at: float | None = None  # a person answered (machines are fed at once)


@dataclass(slots=True)
class _Talk:
    started: float
    ended: float | None = None


class StatsFeed:
    """Feeds one campaign's :class:`CallStats`. Calls and agents are named by any hashable
    key; events of a call the feed does not know (never placed here, or already over) are
    ignored, so a late or repeated event cannot count twice."""

    def __init__(self, stats: CallStats) -> None:
        self.stats = stats
        self._calls: dict[Hashable, _Call] = {}
        self._agent_of: dict[Hashable, Hashable] = {}  # connected call → its agent
        self._talks: dict[Hashable, _Talk] = {}  # agent → its current or last call

    def placed(self, call: Hashable, t: float) -> None:
        self._calls[call] = _Call(t)
        self.stats.placed(t)

    def withdrawn(self, call: Hashable) -> None:
        """Nobody was called, or how the call went was not seen: as if it had never been
        placed."""
        found = self._calls.pop(call, None)
        if found is not None and found.answered_at is None:
            self.stats.withdrawn(found.placed_at)

    def answered(self, call: Hashable, t: float) -> None:
        """A person answered at ``t``; the call now needs an agent."""
        found = self._calls.get(call)
        if found is None or found.answered_at is not None:
            return
        found.answered_at = t
        self.stats.answered(t, t - found.placed_at)

    def machine(self, call: Hashable, t: float) -> None:
        """An answering machine answered at ``t``; no agent will take it."""
        found = self._calls.pop(call, None)
        if found is not None and found.answered_at is None:
            self.stats.machine(t, t - found.placed_at)

    def connected(self, call: Hashable, agent: Hashable, t: float) -> None:
        """An agent took the answered call at ``t``."""
        found = self._calls.pop(call, None)
        if found is None or found.answered_at is None:
            return
        self.stats.connected(t, t - found.answered_at)
        self.agent_ready(agent, t)  # if its readiness after the last call went unseen
        self._agent_of[call] = agent
        self._talks[agent] = _Talk(t)

    def abandoned(self, call: Hashable, t: float) -> None:
        """The answered person got no agent: the message played, or they hung up first."""
        found = self._calls.pop(call, None)
        if found is not None and found.answered_at is not None:
            self.stats.abandoned(t)

    def ended(self, call: Hashable, t: float) -> None:
        """The call is over at ``t``. Unanswered: its ring time is fed. Answered by a person
        and never connected: abandoned. Connected: the agent's talk ended."""
        agent = self._agent_of.pop(call, None)
        if agent is not None:
            talk = self._talks.get(agent)
            if talk is not None and talk.ended is None:
                talk.ended = t
            return
        found = self._calls.pop(call, None)
        if found is None:
            return
        if found.answered_at is None:
            self.stats.unanswered(t, t - found.placed_at)
        else:
            self.stats.abandoned(t)

    def agent_ready(self, agent: Hashable, t: float) -> None:
        """The agent can take a call again (its wrap-up is over): its handle time is fed."""
        talk = self._talks.get(agent)
        if talk is None or talk.ended is None:
            return
        del self._talks[agent]
        self.stats.handled(t, t - talk.started, t - talk.ended)

    def in_wrapup(self) -> Iterator[tuple[Hashable, float]]:
        """(agent, when its talk ended) for agents whose call ended and who are not ready
        yet: the engine asks the PBX about them."""
        for agent, talk in self._talks.items():
            if talk.ended is not None:
                yield agent, talk.ended
