"""The agent's workspace at /console/agent/: sign in to the queues of the agent's campaigns,
pause with a reason, ready, sign out, hang up, transfer the call to a number or another queue;
the screen pop of the call the agent is on,
pushed with server-sent events within a second of the bridge; after a call, after-call work
until the agent records a result code in the form (or presses "Done" where the campaign has
no codes) or the campaign's wrap-up limit; the preview offer with Call and Skip, and a manual
call (docs/workspace.md). Only agents reach it, and each sees only its own calls."""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION, SETTINGS
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, fragment, page
from dialerd.console.wallboard import STOPPING, sse
from dialerd.domain import AgentActionKind, AgentStatus, ResultCodeType, Role, TransferKind
from dialerd.workspace.moves import may_move
from dialerd.workspace.service import Workspace, WorkspaceError, WorkspaceView

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Workspace", "workspace", Role.AGENT, section="/console/agent/")

STATES = {
    AgentStatus.READY: ("Ready", "ok"),
    AgentStatus.PAUSED: ("Paused", "paused"),
    AgentStatus.AFTER_CALL: ("After-call work", "wrap"),
    AgentStatus.OUT: ("Signed out", "idle"),
}
PHONE_STATES = {"ringing": ("Ringing", "warn"), "talking": ("On a call", "talk")}
# The routes' moves, and what the agent is told when one is done.
MOVES = {
    "sign_in": (AgentActionKind.SIGN_IN, "Signed in to your queues"),
    "pause": (AgentActionKind.PAUSE, "Paused"),
    "ready": (AgentActionKind.READY, "Ready for calls"),
    "sign_out": (AgentActionKind.SIGN_OUT, "Signed out of your queues"),
}


def _target(request: web.Request) -> str:
    """What the audit log names an agent's action on: its phone."""
    return f"agent {request[SESSION].user.endpoint}"


def _workspace(request: web.Request) -> Workspace:
    settings = request.app[SETTINGS]
    return Workspace(
        request.app[POOL], settings.require_database_url(), settings.claim_lease_seconds
    )


def _context(view: WorkspaceView) -> dict[str, Any]:
    return {
        "w": view,
        "states": STATES,
        "phone_states": PHONE_STATES,
        "may": {name: may_move(kind, view.status) for name, (kind, _) in MOVES.items()},
        "callback": ResultCodeType.CALLBACK,
    }


@routes.get("/agent/", name="workspace")
@requires(Role.AGENT)
async def workspace_page(request: web.Request) -> web.StreamResponse:
    try:
        view = await _workspace(request).view(request[SESSION].user)
    except WorkspaceError as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    return page(request, "workspace/workspace.html", _context(view))


@routes.get("/agent/events", name="workspace_events")
@requires(Role.AGENT)
async def events(request: web.Request) -> web.StreamResponse:
    """The live part of the workspace as server-sent events ``live``, sent when it changed."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    updates = _workspace(request).updates(request[SESSION].user, request.app[STOPPING])
    sent = None
    with contextlib.suppress(ConnectionResetError):
        try:
            async for view in updates:
                html = fragment(request, "workspace/_live.html", _context(view))
                if html != sent:
                    await response.write(sse("live", html))
                    sent = html
        finally:
            await updates.aclose()
    return response


async def _answer(request: web.Request, error: str | None, done: str) -> web.StreamResponse:
    """htmx gets the result line (the state itself comes with the event stream, which the
    change wakes: a reply rendered earlier must not overwrite a later state); a plain form
    goes back to the page."""
    if request.headers.get("HX-Request"):
        html = fragment(
            request, "wallboard/_result.html", {"message": error or done, "ok": not error}
        )
        return web.Response(text=html, content_type="text/html")
    raise web.HTTPSeeOther(str(request.app.router["workspace"].url_for()))


@routes.post("/agent/{move:sign_in|pause|ready|sign_out}", name="workspace_move")
@requires(Role.AGENT)
async def move(request: web.Request) -> web.StreamResponse:
    kind, done = MOVES[request.match_info["move"]]
    reason = str((await request.post()).get("reason", "")).strip()
    error = None
    try:
        await _workspace(request).move(request[SESSION].user, kind, reason)
    except WorkspaceError as exc:
        error = str(exc)
    await audit(
        request, f"workspace.{kind.value}", _target(request), {"reason": reason, "error": error}
    )
    return await _answer(request, error, done)


@routes.post("/agent/result", name="workspace_result")
@requires(Role.AGENT)
async def result(request: web.Request) -> web.StreamResponse:
    """The result-code form: records the result of the after-call work's call, then ready."""
    form = await request.post()
    code = str(form.get("code", "")).strip()
    day, at = str(form.get("callback_date", "")), str(form.get("callback_time", ""))
    for_me = form.get("callback_for") == "me"
    detail: dict[str, Any] = {"code": code, "date": day, "time": at, "for_me": for_me}
    error = done = None
    try:
        if not code.isdigit():
            raise WorkspaceError("Choose a result for the call")
        recorded = await _workspace(request).record(
            request[SESSION].user, int(code), day, at, for_me
        )
        detail |= {"attempt": recorded.attempt_id, "contact": recorded.contact_id}
        done = f"{recorded.code.name}: recorded. Ready for calls"
    except WorkspaceError as exc:
        error = str(exc)
    await audit(request, "workspace.result", _target(request), detail | {"error": error})
    return await _answer(request, error, done or "")


@routes.post("/agent/hangup", name="workspace_hangup")
@requires(Role.AGENT)
async def hangup(request: web.Request) -> web.StreamResponse:
    error = None
    try:
        await _workspace(request).hangup(request[SESSION].user)
    except WorkspaceError as exc:
        error = str(exc)
    await audit(request, "workspace.hangup", _target(request), {"error": error})
    return await _answer(request, error, "Hung up")


@routes.post("/agent/call", name="workspace_call")
@requires(Role.AGENT)
async def call(request: web.Request) -> web.StreamResponse:
    error = None
    try:
        await _workspace(request).call(request[SESSION].user)
    except WorkspaceError as exc:
        error = str(exc)
    await audit(request, "workspace.call", _target(request), {"error": error})
    return await _answer(request, error, "Calling")


@routes.post("/agent/skip", name="workspace_skip")
@requires(Role.AGENT)
async def skip(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reason = str(form.get("reason", "")).strip()
    contact = str(form.get("contact", ""))
    error = None
    if not contact.isdigit():
        error = "Which contact? Reload the page"
    else:
        try:
            await _workspace(request).skip(request[SESSION].user, int(contact), reason)
        except WorkspaceError as exc:
            error = str(exc)
    await audit(
        request,
        "workspace.skip",
        f"contact {contact}",
        {"agent": request[SESSION].user.endpoint, "reason": reason, "error": error},
    )
    return await _answer(request, error, "Skipped")


@routes.post("/agent/manual", name="workspace_manual")
@requires(Role.AGENT)
async def manual(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw = str(form.get("number", ""))
    campaign = str(form.get("campaign", ""))
    error, number = None, raw
    if not campaign.isdigit():
        error = "Choose one of your campaigns"
    else:
        try:
            number = await _workspace(request).manual_call(
                request[SESSION].user, int(campaign), raw
            )
        except WorkspaceError as exc:
            error = str(exc)
    await audit(
        request,
        "workspace.manual_call",
        _target(request),
        {"number": number, "campaign": campaign, "error": error},
    )
    return await _answer(request, error, f"Calling {number}")


@routes.post("/agent/transfer", name="workspace_transfer")
@requires(Role.AGENT)
async def transfer(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    to, target = str(form.get("to", "")), str(form.get("target", "")).strip()
    error, done = None, ""
    try:
        kind = TransferKind(to)
    except ValueError:
        error = f"Transfer to a number or a queue, not {to[:20]!r}"
    else:
        try:
            done = await _workspace(request).transfer(request[SESSION].user, kind, target)
        except WorkspaceError as exc:
            error = str(exc)
    await audit(
        request,
        "workspace.transfer",
        _target(request),
        {"to": to, "target": done or target, "error": error},
    )
    return await _answer(request, error, f"Transferred to {done}")


async def leave_queues(request: web.Request) -> None:
    """An agent who signs out of the console leaves its queues first (if it was in them)."""
    user = request[SESSION].user
    ws = _workspace(request)
    with contextlib.suppress(WorkspaceError):
        if may_move(AgentActionKind.SIGN_OUT, (await ws.view(user)).status):
            await ws.move(user, AgentActionKind.SIGN_OUT)
            await audit(
                request, "workspace.sign_out", _target(request), {"reason": "", "error": None}
            )
