"""In-memory adapters of the engine's ports: a store with the claim, lease and close rules of
the Postgres one, and a PBX the test drives by hand. They make the engine's unit tests pure:
no database, no sockets, time injected. And a campaign for them and the calltask rules."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from dialerd.dialer.ports import PbxEvent
from dialerd.domain import (
    DNC_DETAIL,
    AbandonCounts,
    AgentAction,
    AgentClaim,
    AgentCommand,
    AgentLive,
    AgentSeconds,
    AgentState,
    AgentsView,
    Campaign,
    Channel,
    ClaimedContact,
    ClosedAttempt,
    Connres,
    Contact,
    ContactState,
    Decide,
    DialableCampaign,
    DialMode,
    MachineAction,
    NumberSlot,
    OpenAttempt,
    Outcome,
    PbxError,
    PbxStatus,
    PreviewOffer,
    ReadyAgent,
    StartedAttempt,
    channel_id,
)


def campaign(campaign_id: int = 1, **changes: object) -> Campaign:
    """A campaign that may dial at any time, with ``changes``."""
    base = Campaign(
        id=campaign_id,
        client_id=1,
        name=f"Campaign {campaign_id}",
        queue="q1",
        dial_string="PJSIP/{number}@farend",
        caller_id=None,
        dial_mode=DialMode.PROGRESSIVE,
        dial_ratio=1.5,
        max_lines_per_agent=3.0,
        abandon_limit=0.03,
        aggressiveness=1.0,
        max_calls_in_flight=None,
        max_originate_rate=None,
        ring_timeout_s=20,
        agent_timeout_s=2,
        wrapup_limit_s=60,
        amd_enabled=False,
        machine_action=MachineAction.HANGUP,
        window_start=datetime.min.time(),
        window_end=datetime.max.time(),
        window_days=(1, 2, 3, 4, 5, 6, 7),
        timezone="UTC",
        default_region=None,
        max_attempts=3,
        min_call_interval_h=12.0,
        retry_minutes={},
        callback_grace_s=300,
        abandon_after_care=None,
        call_hours_override=False,
        active=True,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def dialable(of: Campaign) -> DialableCampaign:
    found = DialableCampaign.of(of)
    assert found is not None
    return found


@dataclass
class StoredContact:
    contact: Contact
    campaign_id: int
    locked: bool = False
    dt_next_try: datetime | None = None
    claimed_by: str | None = None
    lease_until: datetime | None = None
    open_attempt_id: int | None = None


@dataclass
class StoredAttempt:
    id: int
    contact_id: int
    campaign_id: int
    slot: int
    number: str
    started: datetime
    instance_id: str
    status: str = "pending"
    pbx: str | None = None  # the PBX it was dialled through
    outcome: Outcome | None = None


@dataclass
class MemoryStore:
    now: Callable[[], datetime]
    instance_id: str = "me"
    lease_seconds: float = 60.0
    campaign_list: list[DialableCampaign] = field(default_factory=list)
    contacts: dict[int, StoredContact] = field(default_factory=dict)
    attempts: dict[int, StoredAttempt] = field(default_factory=dict)
    dnc: set[str] = field(default_factory=set)  # numbers on a do-not-call list
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    down: bool = False  # every call raises ConnectionError, as an unreachable database would
    lose_answers: int = 0  # the next n writes are done, then raise (their answer was lost)
    closes: list[int] = field(default_factory=list)  # attempt ids in the order written
    # (campaign, PBX) → (instance, lease until): two stores given the same dict are two
    # engines on one database.
    pacers: dict[tuple[int, str], tuple[str, datetime]] = field(default_factory=dict)

    def unavailable(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError)

    def _reach(self) -> None:
        if self.down:
            raise ConnectionError("store down")

    def _answer(self) -> None:
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise ConnectionError("connection lost before the answer")

    def add_contact(self, campaign_id: int, *numbers: str, max_attempts: int = 3) -> int:
        cid = next(self._ids)
        self.contacts[cid] = StoredContact(
            Contact(
                cid,
                tuple(NumberSlot(n) for n in numbers),
                ContactState.OPEN,
                attempts=0,
                max_attempts=max_attempts,
                min_call_interval_h=1.0,
            ),
            campaign_id,
        )
        return cid

    def history(self, contact_id: int) -> list[StoredAttempt]:
        return [a for a in self.attempts.values() if a.contact_id == contact_id]

    async def campaigns(self) -> list[DialableCampaign]:
        self._reach()
        return list(self.campaign_list)

    def _due(self, c: StoredContact, now: datetime) -> bool:
        return (
            c.contact.state is ContactState.OPEN
            and not c.locked
            and (c.dt_next_try is None or c.dt_next_try <= now)
            and c.contact.attempts < c.contact.max_attempts
            and c.open_attempt_id is None
            and (c.claimed_by is None or (c.lease_until is not None and c.lease_until < now))
            and any(s.dialable for s in c.contact.slots)
        )

    async def claim(self, campaign_id: int, limit: int) -> list[ClaimedContact]:
        self._reach()
        now = self.now()
        due = [
            c for c in self.contacts.values() if c.campaign_id == campaign_id and self._due(c, now)
        ]
        due.sort(key=lambda c: c.dt_next_try or datetime.min.replace(tzinfo=now.tzinfo))
        claimed = []
        for c in due[:limit]:
            c.claimed_by, c.lease_until = self.instance_id, self._lease(now)
            slots = tuple(replace(s, dnc=s.number in self.dnc) for s in c.contact.slots)
            claimed.append(ClaimedContact(c.contact.id, slots, c.contact.next_number))
        return claimed

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)

    async def release(self, due: Sequence[tuple[int, datetime]]) -> None:
        self._reach()
        for contact_id, at in due:
            c = self.contacts[contact_id]
            if c.claimed_by == self.instance_id and c.open_attempt_id is None:
                c.claimed_by, c.lease_until, c.dt_next_try = None, None, at

    async def start_attempts(
        self, starts: Sequence[tuple[int, str, int]], a_number: str | None, pbx: str
    ) -> list[StartedAttempt]:
        self._reach()
        started = []
        now = self.now()
        for contact_id, number, slot in starts:
            c = self.contacts.get(contact_id)
            if c is None or c.claimed_by != self.instance_id or c.locked or number in self.dnc:
                continue
            attempt = StoredAttempt(
                next(self._ids), contact_id, c.campaign_id, slot, number, now, self.instance_id
            )
            attempt.pbx = pbx
            self.attempts[attempt.id] = attempt
            c.open_attempt_id = attempt.id
            started.append(StartedAttempt(attempt.id, contact_id, now))
        self._answer()
        return started

    async def stop_dnc(self, stops: Sequence[tuple[int, str, int]]) -> None:
        now = self.now()
        for contact_id, number, slot in stops:
            c = self.contacts[contact_id]
            if c.claimed_by != self.instance_id or c.open_attempt_id is not None:
                continue
            attempt = StoredAttempt(
                next(self._ids), contact_id, c.campaign_id, slot, number, now, self.instance_id
            )
            attempt.status = "closed"
            attempt.outcome = Outcome(
                Connres.NOT_DIALLED, None, None, None, None, now, None, None, False, False,
                DNC_DETAIL,
            )  # fmt: skip
            self.attempts[attempt.id] = attempt
            c.contact = replace(c.contact, state=ContactState.FINISHED)
            c.claimed_by = c.lease_until = None

    async def mark_dialing(self, attempt_ids: Sequence[int]) -> None:
        self._reach()
        for i in attempt_ids:
            if self.attempts[i].status == "pending":
                self.attempts[i].status = "dialing"

    async def close_attempts(self, closed: Sequence[ClosedAttempt], decide: Decide) -> None:
        self._reach()
        for done in closed:
            attempt = self.attempts[done.attempt_id]
            if attempt.status == "closed":
                continue
            attempt.status, attempt.outcome = "closed", done.outcome
            self.closes.append(done.attempt_id)
            c = self.contacts.get(done.contact_id)
            if c is None or c.open_attempt_id != done.attempt_id:
                continue
            retry = next(x.retry_minutes for x in self.campaign_list if x.id == c.campaign_id)
            up = decide(c.contact, done, retry)
            c.contact = replace(
                c.contact,
                slots=up.slots,
                state=up.state,
                attempts=up.attempts,
                next_number=up.next_number,
            )
            c.dt_next_try = up.dt_next_try
            c.open_attempt_id = c.claimed_by = c.lease_until = None
        self._answer()

    async def renew_leases(self) -> None:
        self._reach()
        for c in self.contacts.values():
            if c.claimed_by == self.instance_id:
                c.lease_until = self._lease(self.now())

    async def hold_campaigns(self, pbx: str, campaign_ids: Sequence[int]) -> set[int]:
        self._reach()
        now, held = self.now(), set()
        for cid in campaign_ids:
            holder = self.pacers.get((cid, pbx))
            if holder is None or holder[0] == self.instance_id or holder[1] < now:
                self.pacers[cid, pbx] = (self.instance_id, self._lease(now))
                held.add(cid)
        return held

    async def release_campaigns(self) -> None:
        self._reach()
        for key, (instance, _) in list(self.pacers.items()):
            if instance == self.instance_id:
                del self.pacers[key]

    async def take_over_open_attempts(self, pbx: str) -> list[OpenAttempt]:
        """This instance's own (no other instance's lease runs out here)."""
        self._reach()
        return [
            OpenAttempt(a.id, a.contact_id, a.campaign_id, a.slot, a.status, a.started)
            for a in self.attempts.values()
            if a.status != "closed" and a.instance_id == self.instance_id
        ]

    async def abandon_counts(self, since: datetime) -> dict[int, AbandonCounts]:
        self._reach()
        return {}


@dataclass(frozen=True)
class Event:
    name: str
    fields: dict[str, str]


@dataclass
class FakePbx:
    """A PBX whose events the test sends; ``fail_originate`` makes the next Originates raise."""

    ready: bool = True
    originates: list[tuple[dict[str, str], dict[str, str]]] = field(default_factory=list)
    fail_originate: list[PbxError] = field(default_factory=list)
    agents: AgentsView = field(default_factory=lambda: AgentsView(1, 1, 0, 0, 0))
    agent_states: dict[str, AgentState] = field(default_factory=dict)
    last_calls: dict[str, float] = field(default_factory=dict)
    channels: list[Channel] = field(default_factory=list)
    members: dict[str, list[AgentLive]] = field(default_factory=dict)  # by queue
    actions: list[AgentAction] = field(default_factory=list)
    fail_action: list[PbxError] = field(default_factory=list)
    transfers: list[tuple[AgentAction, str, dict[str, str]]] = field(default_factory=list)
    _on_event: Callable[[PbxEvent], None] | None = None
    _on_ready: Callable[[], Awaitable[None]] | None = None

    def subscribe(
        self,
        on_event: Callable[[PbxEvent], None],
        on_ready: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        self._on_event, self._on_ready = on_event, on_ready

    async def connect(self) -> None:
        assert self._on_ready is not None
        await self._on_ready()

    def push(self, name: str, attempt_id: int, **fields: str) -> None:
        assert self._on_event is not None
        self._on_event(Event(name, {"Uniqueid": channel_id(attempt_id), **fields}))

    async def originate(self, fields: dict[str, str], variables: dict[str, str]) -> None:
        if self.fail_originate:
            raise self.fail_originate.pop(0)
        self.originates.append((fields, variables))

    def attempt_channels(self, attempt_id: int) -> list[Channel]:
        return [c for c in self.channels if c.attempt_id == attempt_id]

    def queue_agents(self, queue: str, now: float) -> AgentsView:
        return self.agents

    def agent_state(self, queue: str, agent: str, now: float) -> AgentState:
        return self.agent_states.get(agent, AgentState.FREE)

    def agent_last_call(self, queue: str, agent: str) -> float:
        return self.last_calls.get(agent, 0.0)

    async def refresh_queues(self) -> None:
        return None

    def queue_members(self, queue: str, now: float) -> list[AgentLive]:
        return list(self.members.get(queue, []))

    def status(self) -> PbxStatus:
        return PbxStatus(self.ready, "22.0.0-fake")

    async def agent_action(self, action: AgentAction) -> None:
        if self.fail_action:
            raise self.fail_action.pop(0)
        self.actions.append(action)

    async def transfer(self, action: AgentAction, exten: str, variables: dict[str, str]) -> None:
        if self.fail_action:
            raise self.fail_action.pop(0)
        self.transfers.append((action, exten, variables))


@dataclass
class MemoryLiveStore:
    """The live-store port in memory: the views published, the agents' seconds, the
    supervisors' actions the test queues, and the workspace agents (ready ones by interface,
    with their queues; those in after-call work; those whose limit the test says is over)."""

    views: list[Mapping[str, object]] = field(default_factory=list)
    seconds: list[AgentSeconds] = field(default_factory=list)
    commands: list[AgentCommand] = field(default_factory=list)
    finished: dict[int, str | None] = field(default_factory=dict)
    withdrawn: bool = False
    ready_agents: dict[str, list[str]] = field(default_factory=dict)
    after_call: dict[str, tuple[int, int, list[str]]] = field(default_factory=dict)
    overdue: list[str] = field(default_factory=list)

    async def start_after_call(self, agent: str, campaign_id: int, attempt_id: int) -> list[str]:
        queues = self.ready_agents.pop(agent, None)
        if queues is None:
            return []
        self.after_call[agent] = (campaign_id, attempt_id, queues)
        return queues

    async def end_after_calls(self) -> list[tuple[str, list[str]]]:
        ended = [(a, self.after_call.pop(a)[2]) for a in self.overdue if a in self.after_call]
        self.overdue = []
        for agent, queues in ended:
            self.ready_agents[agent] = queues
        return ended

    async def publish(self, view: Mapping[str, object]) -> None:
        self.views.append(view)

    async def add_agent_seconds(self, rows: Sequence[AgentSeconds]) -> None:
        self.seconds += rows

    async def next_commands(self, wait_s: float) -> list[AgentCommand]:
        taken, self.commands = self.commands, []
        return taken

    async def finish_command(self, command_id: int, error: str | None) -> None:
        self.finished[command_id] = error

    async def withdraw(self) -> None:
        self.withdrawn = True


@dataclass
class MemoryPreviewStore:
    """The preview-store port in memory, over a :class:`MemoryStore`'s contacts: the agents
    the test sets, ready while the live store has them ready (after-call work moves them out
    of it); a claim takes the next due contact of the agent's preview campaigns
    (callbacks are the Postgres store's, tested there); the offers, each gone once its
    attempt closed (Postgres deletes it in the close's transaction)."""

    store: MemoryStore
    live: MemoryLiveStore
    agents: list[ReadyAgent] = field(default_factory=list)
    offers: dict[int, PreviewOffer] = field(default_factory=dict)

    def _closed(self, offer: PreviewOffer) -> bool:
        attempt = self.store.attempts.get(offer.attempt_id or 0)
        return attempt is not None and attempt.status == "closed"

    async def withdraw_offers(self) -> None:
        self.offers = {u: o for u, o in self.offers.items() if not self._closed(o)}

    async def ready_agents(self, campaign_ids: Sequence[int]) -> list[ReadyAgent]:
        found = []
        for a in self.agents:
            mine = tuple(c for c in a.campaign_ids if c in campaign_ids)
            if mine and a.endpoint in self.live.ready_agents:
                found.append(replace(a, campaign_ids=mine, has_offer=a.user_id in self.offers))
        return found

    async def claim_for_agent(
        self, user_id: int, callback_campaigns: Sequence[int], preview_campaigns: Sequence[int]
    ) -> AgentClaim | None:
        for campaign_id in preview_campaigns:
            for claimed in await self.store.claim(campaign_id, 1):
                return AgentClaim(claimed, campaign_id, callback=False)
        return None

    async def offer(self, agent: ReadyAgent, claim: AgentClaim, slot: int, number: str) -> bool:
        if agent.user_id in self.offers:
            return False
        self.offers[agent.user_id] = PreviewOffer(
            agent.user_id,
            claim.contact.id,
            claim.campaign_id,
            slot,
            number,
            self.store.instance_id,
            self.store.now(),
            None,
            claim.callback,
            manual=False,
        )
        return True

    async def offer_of(self, endpoint: str) -> PreviewOffer | None:
        user = next((a.user_id for a in self.agents if a.endpoint == endpoint), None)
        return None if user is None else self.offers.get(user)

    async def calling(self, user_id: int, attempt_id: int) -> None:
        self.offers[user_id] = replace(self.offers[user_id], attempt_id=attempt_id)
