"""The agent's states in the workspace, what the engines' live views say of its phone, and
where it may transfer its call. Pure.

An agent is signed out until it signs in (ready: a member of its campaigns' queues, unpaused);
it pauses with a reason, or is put in after-call work when a call ends; ready again by the
call's result saved (or "Done") or the campaign's wrap-up limit; signed out again (no longer
a member). Ringing and talking
are its phone's, as the engines see the queue members (``dialerd/dialer/live.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dialerd.domain import AgentActionKind, AgentStatus, TransferKind
from dialerd.numbers import normalize
from dialerd.wallboard.merge import InstanceView

# The workspace's moves: from which states (None: never signed in), to which.
MOVES: dict[AgentActionKind, tuple[frozenset[AgentStatus | None], AgentStatus]] = {
    AgentActionKind.SIGN_IN: (frozenset({None, AgentStatus.OUT}), AgentStatus.READY),
    AgentActionKind.PAUSE: (
        frozenset({AgentStatus.READY, AgentStatus.PAUSED, AgentStatus.AFTER_CALL}),
        AgentStatus.PAUSED,
    ),
    AgentActionKind.READY: (
        frozenset({AgentStatus.PAUSED, AgentStatus.AFTER_CALL}),
        AgentStatus.READY,
    ),
    AgentActionKind.SIGN_OUT: (
        frozenset({AgentStatus.READY, AgentStatus.PAUSED, AgentStatus.AFTER_CALL}),
        AgentStatus.OUT,
    ),
}

# When the agent's queues disagree (a call in one, free in the others), the most telling.
_PRECEDENCE = ("talking", "ringing", "wrapup", "paused", "free", "out")


def may_move(kind: AgentActionKind, now: AgentStatus | None) -> bool:
    allowed, _ = MOVES[kind]
    return now in allowed


@dataclass(frozen=True)
class Phone:
    """The agent's phone as the engines see it."""

    state: str  # free, ringing, talking, wrapup, paused, out; "" when no engine shows it
    since: float | None = None  # epoch s
    pause_reason: str = ""
    attempt_id: int | None = None  # the engine's call the agent is on
    campaign_id: int | None = None
    number: str | None = None
    instance_id: str | None = None  # whose call it is, else an engine that shows the agent


def fresh(views: Iterable[InstanceView]) -> list[InstanceView]:
    """The views of running engines connected to their PBX."""
    return [v for v in views if not v.stale and v.view["pbx"]["connected"]]


def phone_of(views: Iterable[InstanceView], client_id: int, endpoint: str) -> Phone:
    """What the fresh views of the client's campaigns show of the agent ``endpoint``."""
    best: Phone | None = None
    for v in fresh(views):
        for c in v.view["campaigns"]:
            if c["client_id"] != client_id:
                continue
            for a in c["agents"]:
                if a["agent"] != endpoint:
                    continue
                seen = Phone(
                    a["state"],
                    a["since"],
                    a["pause_reason"],
                    a["attempt_id"],
                    c["id"],
                    a["number"],
                    v.instance_id,
                )
                if best is None or _rank(seen) < _rank(best):
                    best = seen
    return best or Phone("")


def _rank(phone: Phone) -> tuple[int, int]:
    """Lower is more telling; the engine whose call it is wins a tie."""
    state = _PRECEDENCE.index(phone.state) if phone.state in _PRECEDENCE else len(_PRECEDENCE)
    return state, 0 if phone.attempt_id is not None else 1


def engine_for(views: Iterable[InstanceView], client_id: int, endpoint: str) -> str | None:
    """The engine to carry out an agent's action: the one that shows the agent (whose call
    it is, if on one), else any running engine (an agent not yet in a queue)."""
    running = fresh(views)
    shown = phone_of(running, client_id, endpoint).instance_id
    if shown is not None:
        return shown
    return running[0].instance_id if running else None


def transfer_target(
    kind: TransferKind, raw: str, region: str | None, queues: Iterable[str], own_queue: str
) -> str:
    """Where an agent may transfer its call: a number read as the calltask API reads numbers
    (its E.164 form; a national one in the campaign's default region), or one of the client's
    ``queues`` other than the call's own. Raises :class:`ValueError` saying why not."""
    raw = raw.strip()
    if kind is TransferKind.NUMBER:
        number = normalize(raw, region) if raw else None
        if number is None:
            raise ValueError(f"{raw[:40]!r} is not a valid phone number")
        return number
    if raw == own_queue:
        raise ValueError(f"The call is in {raw} already: pick another queue")
    if raw not in queues:
        raise ValueError(f"{raw[:40]!r} is not one of your queues")
    return raw
