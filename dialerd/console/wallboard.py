"""The wallboard: every engine's agents, calls, pacer figures and PBX side, per campaign and for
all, pushed to the browser with server-sent events (htmx-ext-sse swaps the live part within a
second of an engine's change); the hopper, the alerts, abandon rates against the limit, the
day's chart (uPlot); supervisors' actions on an agent (docs/wallboard.md)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION, SETTINGS
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, fragment, page
from dialerd.domain import SPY_KINDS, AgentActionKind, Role
from dialerd.wallboard.service import Wallboard, WallboardError

routes = web.RouteTableDef()
# Set when the server stops: the event streams end (else the shutdown waits for the browsers).
STOPPING = web.AppKey("wallboard_stopping", asyncio.Event)
MENU_ITEM = MenuItem("Wallboard", "wallboard", Role.VIEWER, section="/console/wallboard")

# Seconds in a state after which its time turns amber, then red (None: never).
AGE_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "free": (120, 300),  # idle agents: the pacer is not keeping them busy
    "ringing": (10, 20),
    "talking": (300, 600),
    "wrapup": (30, 120),
    "paused": (300, 900),
    "out": (None, None),
    "waiting": (2, 5),  # an answered call waiting for an agent is about to be abandoned
    "agent": (300, 600),
    "ending": (None, None),
    "transferred": (300, 600),
}
AGENT_STATES = {
    "free": ("Free", "ok"),
    "ringing": ("Ringing", "warn"),
    "talking": ("Talking", "talk"),
    "wrapup": ("Wrap-up", "wrap"),
    "paused": ("Paused", "paused"),
    "out": ("Logged out", "idle"),
}
CALL_STATES = {
    "ringing": ("Ringing", "warn"),
    "waiting": ("Waiting for an agent", "bad"),
    "agent": ("With an agent", "talk"),
    "ending": ("Ending", "idle"),
    "transferred": ("Transferred", "talk"),
}
ACTIONS = {
    AgentActionKind.PAUSE: "Pause",
    AgentActionKind.SIGN_OUT: "Sign out",
    AgentActionKind.LISTEN: "Listen",
    AgentActionKind.WHISPER: "Whisper",
    AgentActionKind.BARGE: "Barge",
}
DONE = {
    AgentActionKind.PAUSE: "paused",
    AgentActionKind.SIGN_OUT: "signed out",
    AgentActionKind.LISTEN: "listened to: your phone rings",
    AgentActionKind.WHISPER: "whispered to: your phone rings",
    AgentActionKind.BARGE: "barged in on: your phone rings",
}


def _board(request: web.Request) -> Wallboard:
    return Wallboard(request.app[POOL], request.app[SETTINGS].require_database_url())


def _context(snap: dict[str, Any], campaign_id: int | None) -> dict[str, Any]:
    return {
        "snap": snap,
        "campaign_id": campaign_id,
        "age_limits": AGE_LIMITS,
        "agent_states": AGENT_STATES,
        "call_states": CALL_STATES,
        "actions": ACTIONS,
        "spy_kinds": {k.value for k in SPY_KINDS},
    }


async def _page(request: web.Request, campaign_id: int | None) -> web.Response:
    user = request[SESSION].user
    board = _board(request)
    snap = await board.snapshot(user.client_id, campaign_id)
    if campaign_id is not None and not snap["campaigns"]:
        raise web.HTTPNotFound(text=f"There is no campaign {campaign_id}")
    everything = snap if campaign_id is None else await board.snapshot(user.client_id)
    events = request.app.router["wallboard_events"].url_for()
    if campaign_id is not None:
        events = events.with_query(campaign=str(campaign_id))
    context = _context(snap, campaign_id) | {
        "events_url": str(events),
        "choices": [(c["id"], c["name"]) for c in everything["campaigns"]],
    }
    return page(request, "wallboard/board.html", context)


@routes.get("/wallboard", name="wallboard")
@requires(Role.VIEWER)
async def overview(request: web.Request) -> web.StreamResponse:
    return await _page(request, None)


@routes.get(r"/wallboard/{campaign_id:\d+}", name="wallboard_campaign")
@requires(Role.VIEWER)
async def one_campaign(request: web.Request) -> web.StreamResponse:
    return await _page(request, int(request.match_info["campaign_id"]))


def sse(event: str, data: str) -> bytes:
    """One server-sent event; each line of ``data`` is a ``data:`` line."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


@routes.get("/wallboard/events", name="wallboard_events")
@requires(Role.VIEWER)
async def events(request: web.Request) -> web.StreamResponse:
    """The live part of the wallboard as server-sent events ``live`` (HTML to swap in); 404
    for a campaign that is not the user's client's, as its page."""
    raw = request.query.get("campaign", "")
    campaign_id = int(raw) if raw.isdigit() else None
    board = _board(request)
    client_id = request[SESSION].user.client_id
    if campaign_id is not None and not (await board.snapshot(client_id, campaign_id))["campaigns"]:
        raise web.HTTPNotFound(text=f"There is no campaign {campaign_id}")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold the events back
        }
    )
    await response.prepare(request)
    updates = board.updates(client_id, campaign_id, request.app[STOPPING])
    # The browser went away (or reconnects): nothing to tell anybody.
    with contextlib.suppress(ConnectionResetError):
        try:
            async for snap in updates:
                html = fragment(request, "wallboard/_live.html", _context(snap, campaign_id))
                await response.write(sse("live", html))
        finally:
            await updates.aclose()
    return response


def setup(app: web.Application) -> None:
    app[STOPPING] = asyncio.Event()

    async def stopping(app: web.Application) -> None:
        app[STOPPING].set()

    app.on_shutdown.append(stopping)


@routes.post(r"/wallboard/{campaign_id:\d+}/action", name="wallboard_action")
@requires(Role.SUPERVISOR)
async def action(request: web.Request) -> web.StreamResponse:
    campaign_id = int(request.match_info["campaign_id"])
    form = await request.post()
    agent = str(form.get("agent", "")).strip()
    try:
        kind = AgentActionKind(str(form.get("action", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="Unknown action") from None
    if not agent:
        raise web.HTTPBadRequest(text="Which agent?")
    user = request[SESSION].user
    error = None
    try:
        await _board(request).act(
            client_id=user.client_id,
            user_id=user.id,
            phone=user.phone,
            campaign_id=campaign_id,
            agent=agent,
            kind=kind,
        )
    except WallboardError as exc:
        error = str(exc)
    await audit(
        request,
        f"agent.{kind.value}",
        f"agent {agent}",
        {"campaign_id": campaign_id, "error": error},
    )
    message = error or f"{agent} {DONE[kind]}"
    if request.headers.get("HX-Request"):
        return web.Response(
            text=fragment(request, "wallboard/_result.html", {"message": message, "ok": not error}),
            content_type="text/html",
        )
    raise web.HTTPSeeOther(
        str(request.app.router["wallboard_campaign"].url_for(campaign_id=str(campaign_id)))
    )
