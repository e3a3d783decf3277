"""The agent's workspace, for the console: the agent's state and its moves (sign in, pause with
a reason, ready, sign out), hanging up or transferring its call, the screen pop of the call
it is on (or of its after-call work), the result-code form of after-call work and recording
its result, as a snapshot and as a stream that follows the engines' live views; the preview
offer the dialer reserved for the agent (Call or Skip it) and a manual call to a number it
types.

Every action goes to the engine that sees the agent, the way a supervisor's does
(:func:`dialerd.wallboard.service.command_engine`), one per queue of the agent's campaigns;
the state is recorded once Asterisk did it. The screen pop comes from the live view of the
engine that bridged the call (it names the attempt the agent is on), within a NOTIFY of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from dialerd.contacts.service import campaign as find_campaign
from dialerd.contacts.service import contact_view
from dialerd.domain import (
    AgentAction,
    AgentActionKind,
    AgentStatus,
    PreviewOffer,
    ResultChoice,
    ResultCode,
    ResultCodeType,
    Transfer,
    TransferKind,
    User,
    cause_words,
    connres_words,
)
from dialerd.numbers import normalize
from dialerd.results.service import RecordedResult, ResultError, record_result
from dialerd.store import admin as admin_store
from dialerd.store import agents, resultcodes
from dialerd.store import live as live_store
from dialerd.store import preview as preview_store
from dialerd.wallboard.service import POLL_S, WallboardError, command_engine, instance_views
from dialerd.workspace.callback import callback_time, callback_zone, zone_label
from dialerd.workspace.crm import crm_url
from dialerd.workspace.moves import (
    MOVES,
    Phone,
    engine_for,
    may_move,
    phone_of,
    transfer_target,
)

HISTORY_SHOWN = 10
PREVIOUS_ATTEMPTS = 10
SKIP_REASON_MAX = 200
SETTINGS_REFRESH_S = 5.0  # a stream reads the agent's campaigns and pause reasons this often


class WorkspaceError(Exception):
    """An action the agent cannot do now; the message says why."""


@dataclass(frozen=True)
class Pop:
    """The screen pop of the call an agent is on, or of the contact offered to it."""

    attempt_id: int | None  # None: an offer, not yet called
    contact_id: int
    campaign: str
    name: str
    number: str
    fields: list[tuple[str, str]]  # the contact's other fields and info fields, by name
    attempts: list[dict[str, Any]]  # the contact's earlier attempts, newest first
    crm_url: str | None


@dataclass(frozen=True)
class ResultForm:
    """After-call work's result-code form: the active codes of the call's campaign in their
    order, and the time zone a callback's time is meant in (``callback.callback_zone``)."""

    attempt_id: int
    codes: list[ResultCode]
    zone: str
    zone_label: str  # the zone's name and its UTC offset now


@dataclass(frozen=True)
class Offer:
    """The contact the dialer reserved for the agent, or its manual call: shown with Call and
    Skip, then as "calling" while the callee rings."""

    offer: PreviewOffer
    pop: Pop

    @property
    def calling(self) -> bool:
        return self.offer.attempt_id is not None


@dataclass(frozen=True)
class WorkspaceView:
    status: AgentStatus
    reason: str
    since: datetime | None
    wrapup_limit_s: int | None  # after-call work: when it ends by itself
    campaigns: list[agents.AgentCampaign]
    reasons: list[str]  # the client's pause reasons
    transfer_queues: list[agents.ClientQueue]  # where the call can be transferred to
    phone: Phone
    pop: Pop | None
    history: list[agents.StatePeriod]  # the last state periods, newest first
    # After-call work whose call has no result yet, in a campaign with active codes: the form
    # takes Done's place.
    result_form: ResultForm | None = None
    offer: Offer | None = None


@dataclass
class _StreamCache:
    """What one event stream keeps between its views: each attempt's pop; the campaigns and
    pause reasons, read again every ``SETTINGS_REFRESH_S``; the history, read again when the
    state changed. A view after an engine's NOTIFY then costs two reads."""

    clock: Callable[[], float] = time.monotonic
    pops: dict[int, Pop | None] = field(default_factory=dict)
    offers: dict[tuple[int, datetime], Pop | None] = field(default_factory=dict)
    settings_at: float = -1e9
    campaigns: list[agents.AgentCampaign] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    queues: list[agents.ClientQueue] = field(default_factory=list)
    history_of: int | None = None  # the state period the history was read in
    history: list[agents.StatePeriod] = field(default_factory=list)
    codes: dict[int, list[ResultCode]] = field(default_factory=dict)  # by after-call period


def _endpoint(user: User) -> str:
    if user.endpoint is None:
        raise WorkspaceError("Your user has no phone: an admin sets it on Admin → Users")
    return user.endpoint


class Workspace:
    def __init__(self, pool: asyncpg.Pool, dsn: str, lease_seconds: float = 120.0) -> None:
        self.pool = pool
        self.dsn = dsn
        self.lease_seconds = lease_seconds  # a manual call's contact is claimed for this long

    async def view(self, user: User, cache: _StreamCache | None = None) -> WorkspaceView:
        endpoint = _endpoint(user)
        cache = cache or _StreamCache()
        now = await agents.state_now(self.pool, user.id)
        if cache.clock() - cache.settings_at >= SETTINGS_REFRESH_S:
            cache.campaigns = await agents.campaigns_of_agent(self.pool, user.id)
            cache.reasons = await agents.pause_reasons(self.pool, user.client_id)
            cache.queues = await agents.client_queues(self.pool, user.client_id)
            cache.settings_at = cache.clock()
        period = now.id if now else None
        if cache.history_of != period or not cache.history:
            cache.history = await agents.history(self.pool, user.id, user.client_id, HISTORY_SHOWN)
            cache.history_of = period
        phone = phone_of(await instance_views(self.pool), user.client_id, endpoint)
        after_call = now if now is not None and now.state is AgentStatus.AFTER_CALL else None
        attempt = await self._after_call_attempt(user, after_call)
        pop = None
        # The call it is on, else the one whose after-call work it is in: the form's call.
        pop_of = phone.attempt_id
        if pop_of is None and after_call is not None:
            pop_of = after_call.attempt_id
        if pop_of is not None:
            if pop_of not in cache.pops:
                number = phone.number if pop_of == phone.attempt_id else attempt and attempt.number
                cache.pops[pop_of] = await self._pop(user, pop_of, number or "")
            pop = cache.pops[pop_of]
        offer = None
        held = await preview_store.offer_of_user(self.pool, user.id)
        if held is not None and pop is None:
            key = (held.contact_id, held.offered_at)
            if key not in cache.offers:
                cache.offers[key] = await self._pop(user, None, held.number, held.contact_id)
            shown = cache.offers[key]
            offer = None if shown is None else Offer(held, shown)
        own_queue = next((c.queue for c in cache.campaigns if c.id == phone.campaign_id), None)
        limit = None
        form = None
        if after_call is not None:
            limit = next(
                (c.wrapup_limit_s for c in cache.campaigns if c.id == after_call.campaign_id), None
            )
            if attempt is not None and not attempt.recorded:
                form = await self._result_form(after_call, attempt, cache)
        return WorkspaceView(
            now.state if now else AgentStatus.OUT,
            now.reason if now else "",
            now.started_at if now else None,
            limit,
            cache.campaigns,
            cache.reasons,
            [q for q in cache.queues if q.queue != own_queue],
            phone,
            pop,
            cache.history,
            form,
            offer,
        )

    async def _after_call_attempt(
        self, user: User, after_call: agents.StatePeriod | None
    ) -> agents.FormAttempt | None:
        if after_call is None or after_call.attempt_id is None:
            return None
        return await agents.attempt_for_result_form(
            self.pool, after_call.attempt_id, user.client_id
        )

    async def _result_form(
        self, after_call: agents.StatePeriod, attempt: agents.FormAttempt, cache: _StreamCache
    ) -> ResultForm | None:
        """The form for the after-call period's call; None when its campaign has no active
        codes (the plain Done then)."""
        assert after_call.attempt_id is not None and after_call.campaign_id is not None
        if after_call.id not in cache.codes:
            async with self.pool.acquire() as conn:
                found = await resultcodes.codes(conn, after_call.campaign_id)
            cache.codes[after_call.id] = [c for c in found if c.active]
        codes = cache.codes[after_call.id]
        if not codes:
            return None
        now = datetime.now(UTC)
        zone = callback_zone(attempt.number, attempt.campaign_zone, now)
        return ResultForm(after_call.attempt_id, codes, zone, zone_label(zone, now))

    async def _pop(
        self, user: User, attempt_id: int | None, number: str, contact_id: int | None = None
    ) -> Pop | None:
        """The pop of the call ``attempt_id`` (its contact read through it, so only the
        client's), or of the offered ``contact_id`` (the offer is the agent's own)."""
        if attempt_id is not None:
            contact_id = await agents.attempt_contact(self.pool, attempt_id, user.client_id)
        found = (
            None
            if contact_id is None
            else await contact_view(self.pool, user.client_id, contact_id)
        )
        if contact_id is None or found is None:
            return None
        c = found.contact
        names = {str(f["id"]): f["name"] for f in await admin_store.info_fields(self.pool)}
        shown = [(k, str(v)) for k, v in c["data"].items() if v not in (None, "")]
        shown += [(names.get(k, f"Info field {k}"), str(v)) for k, v in c["properties"].items()]
        templates = {
            s["code"]: s["crm_url_template"] for s in await admin_store.calling_systems(self.pool)
        }
        template = templates.get(c["system_code"])
        values = {
            "systemLookupCode": c["system_lookup_code"],
            "extCustId": c["ext_cust_id"],
            "systemCode": c["system_code"],
            "callCode": found.campaign.id,
            "contactId": c["id"],
        }
        earlier = [a for a in found.attempts if a["id"] != attempt_id]
        earlier.sort(key=lambda a: a["dt_call_start"], reverse=True)
        return Pop(
            attempt_id,
            c["id"],
            found.campaign.name,
            c["name"] or "",
            number,
            shown,
            [
                {
                    "started": a["dt_call_start"],
                    "number": a["phone_number"],
                    "connres": connres_words(a["connres"]) if a["status"] == "closed" else "",
                    "cause": cause_words(a["cause_code"]),
                    "agent": a["agent"],
                }
                for a in earlier[:PREVIOUS_ATTEMPTS]
            ],
            crm_url(template, values) if template else None,
        )

    async def updates(
        self, user: User, stop: asyncio.Event | None = None
    ) -> AsyncGenerator[WorkspaceView, None]:
        """Views: one at once, then one after every change an engine publishes (LISTEN on
        its own connection), and every ``POLL_S`` anyway; until ``stop`` is set."""
        listener = live_store.Listener(self.dsn, live_store.LIVE_CHANNEL)
        cache = _StreamCache()
        try:
            await listener.start()
            while stop is None or not stop.is_set():
                yield await self.view(user, cache)
                await listener.wait(POLL_S, stop)
        finally:
            await listener.close()

    async def move(self, user: User, kind: AgentActionKind, reason: str = "") -> None:
        """Signs the agent in or out, pauses it with ``reason`` (one of the client's) or
        makes it ready, in every queue of its campaigns; raises :class:`WorkspaceError`."""
        endpoint = _endpoint(user)
        now = await agents.state_now(self.pool, user.id)
        if not may_move(kind, now.state if now else None):
            state = now.state.value if now else AgentStatus.OUT.value
            raise WorkspaceError(f"You cannot {kind.value.replace('_', ' ')} while {state}")
        if kind is AgentActionKind.PAUSE and reason not in await agents.pause_reasons(
            self.pool, user.client_id
        ):
            raise WorkspaceError(f"{reason!r} is not one of the pause reasons")
        queues = agents.queues_of(await agents.campaigns_of_agent(self.pool, user.id))
        if not queues:
            raise WorkspaceError("You work no campaign with a queue: an admin assigns them")
        errors = await self._to_engine(
            user,
            [
                AgentAction(kind, q, endpoint, reason, member_name=user.display_name or user.login)
                for q in queues
            ],
        )
        if len(errors) == len(queues):
            raise WorkspaceError("; ".join(errors))
        _, to = MOVES[kind]

        def allowed(period: agents.StatePeriod | None) -> bool:
            return may_move(kind, period.state if period else None)

        await agents.move(self.pool, user.id, user.client_id, agents.NewState(to, reason), allowed)
        if errors:
            raise WorkspaceError("Done, except: " + "; ".join(errors))

    async def record(
        self, user: User, code_id: int, day: str = "", at: str = "", for_me: bool = False
    ) -> RecordedResult:
        """Records result code ``code_id`` for the call of the agent's after-call work (with
        a callback's ``day`` and ``at`` in the form's zone, and whether only this agent makes
        it), then makes the agent ready, in that order. A refused result raises
        :class:`WorkspaceError` and writes nothing: the agent stays in after-call work. A
        result recorded when the ready move fails raises too, naming both."""
        now = await agents.state_now(self.pool, user.id)
        if now is None or now.state is not AgentStatus.AFTER_CALL or now.attempt_id is None:
            raise WorkspaceError(
                "You are not in after-call work: a result is for the call just ended"
            )
        attempt = await self._after_call_attempt(user, now)
        if attempt is None:
            raise WorkspaceError(f"No call {now.attempt_id} of yours")
        form = await self._result_form(now, attempt, _StreamCache())
        code = next((c for c in form.codes if c.id == code_id), None) if form else None
        choice = ResultChoice()
        if code is not None and code.type is ResultCodeType.CALLBACK:
            assert form is not None
            try:
                choice = ResultChoice(callback_time(day, at, form.zone), for_me)
            except ValueError as exc:
                raise WorkspaceError(f"Not recorded: {exc}") from None
        try:
            recorded = await record_result(
                self.pool, user.client_id, now.attempt_id, code_id, user.id, choice
            )
        except ResultError as exc:
            raise WorkspaceError(f"Not recorded: {exc}") from None
        later = await agents.state_now(self.pool, user.id)
        if later is not None and later.id == now.id:  # the wrap-up limit may have ended it
            try:
                await self.move(user, AgentActionKind.READY)
            except WorkspaceError as exc:
                raise WorkspaceError(f"{recorded.code.name} recorded, but: {exc}") from None
        return recorded

    async def hangup(self, user: User) -> None:
        """Hangs up the call the agent is on."""
        endpoint = _endpoint(user)
        phone = phone_of(await instance_views(self.pool), user.client_id, endpoint)
        if phone.state not in ("talking", "ringing") or phone.campaign_id is None:
            raise WorkspaceError("You are not on a call")
        campaigns = await agents.campaigns_of_agent(self.pool, user.id)
        queue = next((c.queue for c in campaigns if c.id == phone.campaign_id), None)
        if queue is None:
            raise WorkspaceError("That call is not of one of your campaigns")
        errors = await self._to_engine(user, [AgentAction(AgentActionKind.HANGUP, queue, endpoint)])
        if errors:
            raise WorkspaceError(errors[0])

    async def transfer(self, user: User, kind: TransferKind, raw: str) -> str:
        """Transfers the call the agent is on (blind) to a number or another queue of its
        client's; returns the target (a number in E.164)."""
        endpoint = _endpoint(user)
        phone = phone_of(await instance_views(self.pool), user.client_id, endpoint)
        if phone.state != "talking" or phone.attempt_id is None:
            raise WorkspaceError("You are not on a call of the dialer")
        campaigns = await agents.campaigns_of_agent(self.pool, user.id)
        call = next((c for c in campaigns if c.id == phone.campaign_id), None)
        if call is None or call.queue is None:
            raise WorkspaceError("That call is not of one of your campaigns")
        queues = [q.queue for q in await agents.client_queues(self.pool, user.client_id)]
        try:
            target = transfer_target(kind, raw, call.default_region, queues, call.queue)
        except ValueError as exc:
            raise WorkspaceError(str(exc)) from None
        action = AgentAction(
            AgentActionKind.TRANSFER,
            call.queue,
            endpoint,
            transfer=Transfer(kind, target, phone.attempt_id),
        )
        errors = await self._to_engine(user, [action])
        if errors:
            raise WorkspaceError(errors[0])
        return target

    async def _to_engine(self, user: User, actions: list[AgentAction]) -> list[str]:
        """Each action carried out by the engine that sees the agent; what failed, and why."""
        instance = engine_for(await instance_views(self.pool), user.client_id, _endpoint(user))
        if instance is None:
            return [f"{a.queue}: no running dialer is connected to Asterisk" for a in actions]

        async def one(action: AgentAction) -> str | None:
            try:
                await command_engine(self.pool, instance, user.client_id, user.id, action)
            except WallboardError as exc:
                return f"{action.queue}: {exc}"
            return None

        done = await asyncio.gather(*(one(a) for a in actions))
        return [e for e in done if e is not None]

    async def call(self, user: User) -> None:
        """Calls the contact offered to the agent: the engine holding its claim writes the
        attempt and originates it, bridged to the agent's phone once the callee answers."""
        endpoint = _endpoint(user)
        offer = await preview_store.offer_of_user(self.pool, user.id)
        if offer is None:
            raise WorkspaceError("Nothing is offered to you")
        if offer.attempt_id is not None:
            raise WorkspaceError(f"{offer.number} is being called already")
        campaigns = await agents.campaigns_of_agent(self.pool, user.id)
        queue = next((c.queue for c in campaigns if c.id == offer.campaign_id), None)
        if queue is None:
            raise WorkspaceError("That contact is not of one of your campaigns")
        try:
            await command_engine(
                self.pool,
                offer.instance_id,
                user.client_id,
                user.id,
                AgentAction(AgentActionKind.CALL, queue, endpoint),
            )
        except WallboardError as exc:
            raise WorkspaceError(f"Not called: {exc}") from None

    async def skip(self, user: User, contact_id: int, reason: str) -> PreviewOffer:
        """Skips the offered contact with the agent's ``reason``: it is due again after its
        retry interval (the agent's own callback goes to anyone), and the agent is offered
        the next one or made ready again by the engine."""
        if not reason:
            raise WorkspaceError("Say why you skip it")
        if len(reason) > SKIP_REASON_MAX:
            raise WorkspaceError(f"The reason is longer than {SKIP_REASON_MAX} characters")
        try:
            return await preview_store.skip(self.pool, user.id, contact_id)
        except preview_store.OfferError as exc:
            raise WorkspaceError(str(exc)) from None

    async def manual_call(self, user: User, campaign_id: int, raw_number: str) -> str:
        """Calls ``raw_number`` in one of the agent's campaigns, the way an offer is called:
        a contact of the campaign is made for it (named as a manual call) and offered to the
        agent, in place of the offer it held. Returns the number in E.164."""
        endpoint = _endpoint(user)
        now = await agents.state_now(self.pool, user.id)
        if now is None or now.state is not AgentStatus.READY:
            raise WorkspaceError("You can place a call only while ready")
        mine = {c.id for c in await agents.campaigns_of_agent(self.pool, user.id) if c.queue}
        found = await find_campaign(self.pool, user.client_id, campaign_id)
        if found is None or campaign_id not in mine:
            raise WorkspaceError("That is not one of your campaigns")
        number = normalize(raw_number.strip(), found.default_region) if raw_number.strip() else None
        if number is None:
            raise WorkspaceError(f"{raw_number!r} is not a phone number this dialer can call")
        instance = engine_for(await instance_views(self.pool), user.client_id, endpoint)
        if instance is None:
            raise WorkspaceError("No running dialer is connected to Asterisk")
        try:
            await preview_store.manual_offer(
                self.pool,
                user.id,
                user.client_id,
                campaign_id,
                f"Manual call ({user.display_name or user.login})",
                number,
                instance,
                self.lease_seconds,
            )
        except preview_store.OfferError as exc:
            raise WorkspaceError(str(exc)) from None
        await self.call(user)
        return number
