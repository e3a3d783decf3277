"""What the engine needs from the store and from the PBX: small protocols, so that the engine
takes any adapter by constructor (Postgres and Asterisk in production, in-memory ones in the
unit tests). Adapters import the domain only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from dialerd.domain import (
    AbandonCounts,
    AgentAction,
    AgentClaim,
    AgentCommand,
    AgentLive,
    AgentSeconds,
    AgentState,
    AgentsView,
    Channel,
    ClaimedContact,
    ClosedAttempt,
    Decide,
    DialableCampaign,
    OpenAttempt,
    PbxStatus,
    PreviewOffer,
    ReadyAgent,
    StartedAttempt,
)


class DialerStore(Protocol):
    @property
    def instance_id(self) -> str: ...

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the store cannot be reached (down, restarting): the engine
        then places no calls and keeps its closes until it can write them."""
        ...

    async def campaigns(self) -> list[DialableCampaign]:
        """The campaigns that may dial (active, with a queue and a dial string)."""
        ...

    async def claim(self, campaign_id: int, limit: int) -> list[ClaimedContact]:
        """Up to ``limit`` due contacts, leased to this instance; never one another instance
        holds or one with an attempt in progress."""
        ...

    async def release(self, due: Sequence[tuple[int, datetime]]) -> None:
        """Gives claimed contacts back, each due again at its time."""
        ...

    async def start_attempts(
        self, starts: Sequence[tuple[int, str, int]], a_number: str | None, pbx: str
    ) -> list[StartedAttempt]:
        """Writes the history rows of (contact id, number, 0-based slot) before dialling
        through ``pbx``;
        returns the attempts that may be dialled (contacts still ours, open, unlocked)."""
        ...

    async def stop_dnc(self, stops: Sequence[tuple[int, str, int]]) -> None:
        """Claimed contacts whose every number left is on a do-not-call list, each with the
        number it would have been dialled on and its 0-based slot: not dialled, their history
        says why (CONNRES 0, ``DNC``), they are finished and released."""
        ...

    async def mark_dialing(self, attempt_ids: Sequence[int]) -> None: ...

    async def close_attempts(self, closed: Sequence[ClosedAttempt], decide: Decide) -> None:
        """In one transaction: the history rows completed, each contact whose open attempt
        it is moved on as ``decide`` says, claims released."""
        ...

    async def renew_leases(self) -> None:
        """Keeps alive the leases of this instance's contacts with a call in progress or held
        for one of its preview offers."""
        ...

    async def hold_campaigns(self, pbx: str, campaign_ids: Sequence[int]) -> set[int]:
        """Of ``campaign_ids``, those this instance paces on ``pbx`` for the next lease: its
        own leases renewed, free or lapsed ones taken; another live engine's left to it."""
        ...

    async def release_campaigns(self) -> None:
        """This instance stops: the campaigns it paced are free for another engine at once."""
        ...

    async def take_over_open_attempts(self, pbx: str) -> list[OpenAttempt]:
        """Open attempts nobody follows: this instance's, and those of instances of ``pbx``
        (or of no PBX known) whose lease expired; they become this instance's."""
        ...

    async def abandon_counts(self, since: datetime) -> dict[int, AbandonCounts]: ...


class LiveStore(Protocol):
    """Where the engine publishes its live view for every dialerd's wallboard, records its
    agents' minutes, and finds the supervisors' actions meant for it."""

    async def publish(self, view: Mapping[str, object]) -> None:
        """Replaces this instance's live view and tells the wallboards it changed."""
        ...

    async def add_agent_seconds(self, rows: Sequence[AgentSeconds]) -> None:
        """Adds to the agents' seconds per minute (several calls for one minute add up)."""
        ...

    async def next_commands(self, wait_s: float) -> list[AgentCommand]:
        """The actions meant for this instance, taken (each once); waits up to ``wait_s``
        for one to come when there are none."""
        ...

    async def finish_command(self, command_id: int, error: str | None) -> None:
        """Records how an action went (None: done)."""
        ...

    async def withdraw(self) -> None:
        """Removes this instance's live view (it stops)."""
        ...

    async def start_after_call(self, agent: str, campaign_id: int, attempt_id: int) -> list[str]:
        """If ``agent`` (an interface) is a workspace agent who was ready, it is now in
        after-call work for that call: the queues to pause it in (else none). Once, whichever
        engine asks first."""
        ...

    async def end_after_calls(self) -> list[tuple[str, list[str]]]:
        """The workspace agents whose after-call work reached its campaign's wrap-up limit,
        now ready: (interface, the queues to unpause it in). Each once."""
        ...


class PreviewStore(Protocol):
    """Preview offers: contacts reserved for ready workspace agents (dialerd/dialer/preview.py).
    An offered contact is claimed by this instance like any other (released with
    :meth:`DialerStore.release`, its lease renewed by :meth:`DialerStore.renew_leases`)."""

    async def withdraw_offers(self) -> None:
        """Drops the offers that no longer hold: any whose contact's claim is no longer its
        engine's (lease expired, taken over); this instance's not yet called whose agent is
        no longer ready, their contacts released (due at once; a manual call's deleted)."""
        ...

    async def ready_agents(self, campaign_ids: Sequence[int]) -> list[ReadyAgent]:
        """The workspace agents ready now who work any of ``campaign_ids``, with those of
        them they work, and whether one of their own callbacks is due in them."""
        ...

    async def claim_for_agent(
        self, user_id: int, callback_campaigns: Sequence[int], preview_campaigns: Sequence[int]
    ) -> AgentClaim | None:
        """Claims one contact for the agent: its own due callback in ``callback_campaigns``,
        else the next due contact of ``preview_campaigns`` (callbacks for anyone first)."""
        ...

    async def offer(self, agent: ReadyAgent, claim: AgentClaim, slot: int, number: str) -> bool:
        """Offers the claimed contact to the agent; False (and nothing written) when it holds
        an offer already."""
        ...

    async def offer_of(self, endpoint: str) -> PreviewOffer | None:
        """The offer of the agent with this phone."""
        ...

    async def calling(self, user_id: int, attempt_id: int) -> None:
        """The agent's offer is being called: its attempt. The offer goes when the attempt
        closes (:meth:`DialerStore.close_attempts`)."""
        ...


class PbxEvent(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, str]: ...


class Pbx(Protocol):
    """The PBX: places calls, tells what happens to them, and knows its queues' agents.
    ``originate`` raises :class:`~dialerd.domain.PbxNotSent` (no call went out),
    :class:`~dialerd.domain.PbxRefused` (refused, nothing dialled) or
    :class:`~dialerd.domain.PbxUnavailable` (the call may have gone out)."""

    @property
    def ready(self) -> bool:
        """Connected and resynced: calls may be placed."""
        ...

    def subscribe(
        self,
        on_event: Callable[[PbxEvent], None],
        on_ready: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        """Every event; after every (re)connect once live state is resynced; on a loss."""
        ...

    async def originate(self, fields: dict[str, str], variables: dict[str, str]) -> None: ...

    def attempt_channels(self, attempt_id: int) -> list[Channel]: ...

    def queue_agents(self, queue: str, now: float) -> AgentsView:
        """``now`` is ``time.monotonic()``."""
        ...

    def agent_state(self, queue: str, agent: str, now: float) -> AgentState: ...

    def agent_last_call(self, queue: str, agent: str) -> float:
        """Epoch seconds the agent's last queue call ended, as the PBX says (0: never)."""
        ...

    async def refresh_queues(self) -> None:
        """Re-reads the queues (what events cannot tell)."""
        ...

    def queue_members(self, queue: str, now: float) -> list[AgentLive]:
        """Every member of ``queue`` with its state; ``now`` is ``time.monotonic()``."""
        ...

    def status(self) -> PbxStatus: ...

    async def agent_action(self, action: AgentAction) -> None:
        """Carries out a supervisor's action; raises as :meth:`originate` does."""
        ...

    async def transfer(self, action: AgentAction, exten: str, variables: dict[str, str]) -> None:
        """Transfers the call ``action.transfer`` names away from its agent ``action.agent``:
        the callee's channel, with ``variables`` set, to ``exten`` of the dialplan's transfer
        context (docs/engine-interfaces.md); raises as :meth:`originate` does."""
        ...
