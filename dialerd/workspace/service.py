"""The agent's workspace, for the console: the agent's state and its moves (sign in, pause with
a reason, ready, sign out), hanging up or transferring its call, and the screen pop of the
call it is on,
as a snapshot and as a stream that follows the engines' live views.

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
from datetime import datetime
from typing import Any

import asyncpg

from dialerd.contacts.service import contact_view
from dialerd.domain import (
    AgentAction,
    AgentActionKind,
    AgentStatus,
    Transfer,
    TransferKind,
    User,
    cause_words,
    connres_words,
)
from dialerd.store import admin as admin_store
from dialerd.store import agents
from dialerd.store import live as live_store
from dialerd.wallboard.service import POLL_S, WallboardError, command_engine, instance_views
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
SETTINGS_REFRESH_S = 5.0  # a stream reads the agent's campaigns and pause reasons this often


class WorkspaceError(Exception):
    """An action the agent cannot do now; the message says why."""


@dataclass(frozen=True)
class Pop:
    """The screen pop of the call an agent is on."""

    attempt_id: int
    contact_id: int
    campaign: str
    name: str
    number: str
    fields: list[tuple[str, str]]  # the contact's other fields and info fields, by name
    attempts: list[dict[str, Any]]  # the contact's earlier attempts, newest first
    crm_url: str | None


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


@dataclass
class _StreamCache:
    """What one event stream keeps between its views: each attempt's pop; the campaigns and
    pause reasons, read again every ``SETTINGS_REFRESH_S``; the history, read again when the
    state changed. A view after an engine's NOTIFY then costs two reads."""

    clock: Callable[[], float] = time.monotonic
    pops: dict[int, Pop | None] = field(default_factory=dict)
    settings_at: float = -1e9
    campaigns: list[agents.AgentCampaign] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    queues: list[agents.ClientQueue] = field(default_factory=list)
    history_of: int | None = None  # the state period the history was read in
    history: list[agents.StatePeriod] = field(default_factory=list)


def _endpoint(user: User) -> str:
    if user.endpoint is None:
        raise WorkspaceError("Your user has no phone: an admin sets it on Admin → Users")
    return user.endpoint


class Workspace:
    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self.pool = pool
        self.dsn = dsn

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
        pop = None
        if phone.attempt_id is not None:
            if phone.attempt_id not in cache.pops:
                cache.pops[phone.attempt_id] = await self._pop(user, phone)
            pop = cache.pops[phone.attempt_id]
        own_queue = next((c.queue for c in cache.campaigns if c.id == phone.campaign_id), None)
        limit = None
        if now is not None and now.state is AgentStatus.AFTER_CALL:
            limit = next(
                (c.wrapup_limit_s for c in cache.campaigns if c.id == now.campaign_id), None
            )
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
        )

    async def _pop(self, user: User, phone: Phone) -> Pop | None:
        assert phone.attempt_id is not None
        contact_id = await agents.attempt_contact(self.pool, phone.attempt_id, user.client_id)
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
        earlier = [a for a in found.attempts if a["id"] != phone.attempt_id]
        earlier.sort(key=lambda a: a["dt_call_start"], reverse=True)
        return Pop(
            phone.attempt_id,
            c["id"],
            found.campaign.name,
            c["name"] or "",
            phone.number or "",
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
