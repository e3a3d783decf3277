"""The wallboard's service, for the console (and anything else that shows it): a snapshot of a
client's campaigns (one, or all), an async iterator of snapshots that yields a new one within
a second of an engine's change, and the supervisors' actions on an agent.

Live figures come from the engines' views (:mod:`dialerd.wallboard.merge`); what only the
database knows (the hopper, contacts left, abandon rates, the day's chart) is read at most
every ``DB_REFRESH_S``, so that a burst of live changes does not become a burst of queries.

An action on an agent is always a row for the engine whose live view shows the agent, woken by
a NOTIFY: that engine has the AMI connection to the agent's Asterisk, whichever dialerd the
supervisor's browser talks to (one without an AMI connection too).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from dialerd.dialer.rules import Callee, CallWindow, callee, pick_slot
from dialerd.domain import SPY_KINDS, AgentAction, AgentActionKind, Campaign
from dialerd.reports.figures import ratio
from dialerd.store import campaigns as campaign_store
from dialerd.store import live as live_store
from dialerd.store.dialer import abandon_counts
from dialerd.wallboard.merge import InstanceView, merge, summary

DB_REFRESH_S = 5.0
POLL_S = 2.0  # without a NOTIFY (a lost listener), the views are read this often anyway
HOPPER_SIZE = 10
CHART_BIN_S = 900  # the day's chart in quarter hours
ACTION_WAIT_S = 5.0
PAUSE_REASON = "supervisor"


class WallboardError(Exception):
    """An action that cannot be done; the message says why, for the supervisor."""


def dial_string_of_phone(phone: str) -> str:
    """A user's phone as Asterisk dials it: a dial string as it is, an endpoint name as
    PJSIP/<name>."""
    phone = phone.strip()
    return phone if "/" in phone else f"PJSIP/{phone}"


def hopper_entry(
    contact: live_store.DueContact, window: CallWindow, now: datetime
) -> dict[str, Any]:
    """A due contact as the scheduler would take it: the number it would dial, and whether
    the call window is open for that number (else the claim gives it back until then)."""
    slot = pick_slot(contact.slots, contact.next_number)
    number = contact.slots[slot].number if slot is not None else None
    where = callee(number, window.timezone) if number else Callee((window.timezone,), None)
    opens = window.next_opening(now, *where)
    return {
        "contact_id": contact.id,
        "name": contact.name,
        "number": number,
        "due": contact.dt_next_try.timestamp() if contact.dt_next_try else None,
        "in_window": opens <= now,
        "window_opens": opens.timestamp(),
    }


def _midnight(zone: str, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class _DbFigures:
    at: float
    key: tuple[int | None, int | None]
    figures: dict[str, Any]


async def instance_views(pool: asyncpg.Pool) -> list[InstanceView]:
    """Every engine's published live view, with its age."""
    return [InstanceView(v.instance_id, v.view, v.age_s) for v in await live_store.live_views(pool)]


class Wallboard:
    def __init__(
        self, pool: asyncpg.Pool, dsn: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self._clock = clock
        self._db: _DbFigures | None = None

    async def _campaigns(self, client_id: int | None, campaign_id: int | None) -> list[Campaign]:
        async with self.pool.acquire() as conn:
            return await campaign_store.find(conn, client_id, campaign_id=campaign_id)

    async def _db_figures(
        self, client_id: int | None, campaign_id: int | None, now: datetime
    ) -> dict[str, Any]:
        key = (client_id, campaign_id)
        cached = self._db
        if cached is not None and cached.key == key and self._clock() - cached.at < DB_REFRESH_S:
            return cached.figures
        found = await self._campaigns(client_id, campaign_id)
        ids = [c.id for c in found]
        counts = await abandon_counts(self.pool, now - timedelta(days=30))
        left = await live_store.dialable_left(self.pool, ids)
        per_campaign: dict[int, dict[str, Any]] = {}
        for c in found:
            window = CallWindow.of(c)
            n = counts.get(c.id)
            due = await live_store.next_due_contacts(self.pool, c.id, HOPPER_SIZE)
            per_campaign[c.id] = {
                "id": c.id,
                "name": c.name,
                "active": c.active,
                "queue": c.queue,
                "abandon_limit": c.abandon_limit,
                "abandon_today": _share(n.abandoned_today, n.answered_today) if n else None,
                "abandon_30d": _share(n.abandoned_window, n.answered_window) if n else None,
                "dialable_left": left.get(c.id, 0),
                "in_window": window.is_open(now, (c.timezone,)),
                "window_opens": window.next_opening(now, (c.timezone,)).timestamp(),
                "hopper": [hopper_entry(d, window, now) for d in due],
            }
        zone = found[0].timezone if len(found) == 1 else "UTC"
        since = _midnight(zone, now)
        bins = await live_store.day_bins(self.pool, ids, since, CHART_BIN_S)
        chart = [
            {
                "at": b.at.timestamp(),
                "occupancy": _share(b.talk_s + b.wrapup_s, b.talk_s + b.wrapup_s + b.ready_s),
                "abandon_rate": _share(b.abandoned, b.answered),
            }
            for b in bins
        ]
        figures = {"campaigns": per_campaign, "chart": chart}
        self._db = _DbFigures(self._clock(), key, figures)
        return figures

    async def snapshot(
        self, client_id: int | None, campaign_id: int | None = None
    ) -> dict[str, Any]:
        """The wallboard of one campaign, or of all the client's (None: every client's)."""
        now = datetime.now(UTC)
        views = await instance_views(self.pool)
        live = merge(views, client_id)
        db = await self._db_figures(client_id, campaign_id, now)
        shown = []
        for cid, figures in db["campaigns"].items():
            merged = live["campaigns"].get(cid)
            campaign = {**figures, **(merged or _idle()), "alerts": []}
            campaign["name"], campaign["active"] = figures["name"], figures["active"]
            logged_in = [a for a in campaign["agents"] if a["state"] != "out"]
            alerts = campaign["alerts"]
            if logged_in and figures["dialable_left"] == 0:
                alerts.append(_alert("no_contacts", "agents logged in, no dialable contacts left"))
            if figures["active"] and not figures["in_window"]:
                alerts.append(_alert("outside_window", "outside its call window"))
            if figures["active"] and merged is None:
                alerts.append(_alert("no_engine", "no running dialer is dialling it"))
            shown.append(campaign)
        return {
            "at": now.timestamp(),
            "campaign_id": campaign_id,
            "campaigns": shown,
            "summary": summary(shown),
            "chart": db["chart"],
            "pbx": live["pbx"],
            "stale": live["stale"],
        }

    async def updates(
        self,
        client_id: int | None,
        campaign_id: int | None = None,
        stop: asyncio.Event | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Snapshots: one at once, then a new one within a second of every change an engine
        publishes (LISTEN on its own connection), and every ``POLL_S`` anyway; until ``stop``
        is set."""
        listener = live_store.Listener(self.dsn, live_store.LIVE_CHANNEL)
        try:
            await listener.start()
            while stop is None or not stop.is_set():
                yield await self.snapshot(client_id, campaign_id)
                await listener.wait(POLL_S, stop)
        finally:
            await listener.close()

    async def act(
        self,
        *,
        client_id: int,
        user_id: int | None,
        phone: str | None,
        campaign_id: int,
        agent: str,
        kind: AgentActionKind,
    ) -> None:
        """Carries out a supervisor's action on an agent of one of the client's campaigns
        through the engine that sees it; raises :class:`WallboardError` with the reason
        when it cannot be done or the engine says it failed."""
        found = await self._campaigns(client_id, campaign_id)
        if not found:
            raise WallboardError(f"there is no campaign {campaign_id}")
        campaign, queue = found[0], found[0].queue
        if queue is None:
            raise WallboardError(f"{campaign.name} has no queue")
        if kind in SPY_KINDS and not (phone or "").strip():
            raise WallboardError("your user has no phone to listen with: an admin can set one")
        views = await instance_views(self.pool)
        shown = merge(views, client_id)["campaigns"].get(campaign.id)
        entry = next((a for a in shown["agents"] if a["agent"] == agent), None) if shown else None
        if entry is None or entry["state"] == "out":
            raise WallboardError(f"{agent} is not logged in to {campaign.name} on a running dialer")
        action = AgentAction(
            kind,
            queue,
            agent,
            reason=PAUSE_REASON if kind is AgentActionKind.PAUSE else "",
            phone=dial_string_of_phone(phone or "") if kind in SPY_KINDS else "",
        )
        await command_engine(
            self.pool, entry["instance_id"], client_id, user_id, action, clock=self._clock
        )


async def command_engine(
    pool: asyncpg.Pool,
    instance_id: str,
    client_id: int,
    user_id: int | None,
    action: AgentAction,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Has the engine ``instance_id`` carry out ``action`` and waits for it (at most
    ``ACTION_WAIT_S``); raises :class:`WallboardError` when it failed or took too long."""
    command_id = await live_store.insert_command(pool, instance_id, client_id, user_id, action)
    deadline = clock() + ACTION_WAIT_S
    while clock() < deadline:
        state = await live_store.command_state(pool, command_id, client_id)
        if state is not None and state.done:
            if state.error:
                raise WallboardError(f"Asterisk refused it: {state.error}")
            return
        await asyncio.sleep(0.05)
    raise WallboardError(f"the dialer {instance_id} did not carry it out in time")


async def campaign_counts(pool: asyncpg.Pool, client_id: int) -> dict[int, dict[str, Any]]:
    """Each of the client's campaigns that a running engine dials: its agents by state and its
    calls by state (``summary``), over every fresh live view; for the campaign list."""
    views = await instance_views(pool)
    return {cid: summary([c]) for cid, c in merge(views, client_id)["campaigns"].items()}


def _alert(kind: str, text: str) -> dict[str, str]:
    return {"kind": kind, "text": text}


def _share(part: float, whole: float) -> float | None:
    """The reports' ratio (None of nothing), rounded for the page."""
    shared = ratio(part, whole)
    return None if shared is None else round(shared, 4)


def _idle() -> dict[str, Any]:
    """A campaign no running engine shows."""
    return {
        "instances": [],
        "breaker": None,
        "agents": [],
        "calls": [],
        "pacer": None,
        "mode": None,
    }
