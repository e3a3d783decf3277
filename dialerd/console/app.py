"""The console's aiohttp sub-application, mounted at /console/: sessions, CSRF, its own error
pages, the screens.

Every request but the sign-in page's and the assets' needs a live session (else it is sent to
sign in); every state-changing request needs the session's CSRF token, as the form field
``csrf_token`` or the header ``X-CSRF-Token`` (htmx sends the header on every request; a
multipart upload must use the header, since its body is not read before the handler).
"""

from __future__ import annotations

import secrets
from types import ModuleType

import asyncpg
import structlog
from aiohttp import web
from yarl import URL

from dialerd.config import Settings
from dialerd.console import (
    admin,
    assets,
    campaigns,
    contacts,
    dnc,
    imports,
    reports,
    setup,
    signin,
    wallboard,
    workspace,
)
from dialerd.console.context import COOKIE, CSRF_FIELD, CSRF_HEADER, POOL, SESSION, SETTINGS
from dialerd.console.guard import Handler, is_public, roles_of
from dialerd.console.render import MENU, MenuItem, page, setup_templates
from dialerd.store.pool import database_unavailable
from dialerd.users import service as users

log = structlog.get_logger(__name__)

PREFIX = "/console/"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# The screens, in menu order: each module has `routes` and, if it is in the menu, `MENU_ITEM`.
SCREENS: list[ModuleType] = [
    campaigns,
    contacts,
    imports,
    dnc,
    wallboard,
    reports,
    admin,
    setup,
    workspace,
]


def signin_url(request: web.Request) -> str:
    target = URL(PREFIX + "signin")
    if request.method == "GET" and request.path != PREFIX + "signin":
        target = target.with_query(next=request.path_qs)
    return str(target)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = request.match_info.handler
    if request.match_info.http_exception is not None or is_public(route_handler):
        return await handler(request)
    if roles_of(route_handler) is None:  # a route without @requires is a bug, not a free page
        log.error("console_route_without_role", path=request.path)
        raise web.HTTPForbidden(text="This page declares no role")
    session = await users.session(
        request.app[POOL], request.cookies.get(COOKIE, ""), request.app[SETTINGS].session_idle_s
    )
    if session is None:
        if request.headers.get("HX-Request"):  # htmx: a full-page redirect, not a fragment
            return web.Response(status=401, headers={"HX-Redirect": signin_url(request)})
        raise web.HTTPSeeOther(signin_url(request))
    request[SESSION] = session
    if request.method not in _SAFE:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type == "application/x-www-form-urlencoded":
            sent = str((await request.post()).get(CSRF_FIELD, ""))
        if not sent or not secrets.compare_digest(sent, session.csrf_token):
            log.info("console_csrf_refused", path=request.path, user_id=session.user.id)
            raise web.HTTPForbidden(
                text="This form has expired or did not come from the console: reload the page"
            )
    with_user = {"user_id": session.user.id, "client_id": session.user.client_id}
    with structlog.contextvars.bound_contextvars(**with_user):
        return await handler(request)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors as the console's own pages (the APIs answer in their JSON envelopes)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None
        return _error_page(request, exc.status, exc.reason, message)
    except Exception as exc:
        if database_unavailable(exc):  # down or restarting: bounded by the pool's timeouts
            log.warning("console_database_unavailable", path=request.path, error=repr(exc))
            message = "The database cannot be reached; try again in a moment."
            return _error_page(request, 503, "Service unavailable", message)
        log.exception("console_request_failed", method=request.method, path=request.path)
        message = "Something went wrong; the error is in dialerd's log."
        return _error_page(request, 500, "Internal error", message)


def _error_page(
    request: web.Request, status: int, reason: str, message: str | None
) -> web.Response:
    context = {"status": status, "reason": reason, "message": message}
    return page(request, "error.html", context, status=status)


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    # Nothing of the console may be framed by another site or run a script from elsewhere.
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.match_info.http_exception is None and not is_public(request.match_info.handler):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_console(settings: Settings, pool: asyncpg.Pool) -> web.Application:
    app = web.Application(middlewares=[headers_middleware, errors_middleware, session_middleware])
    app[POOL] = pool
    app[SETTINGS] = settings
    app[MENU] = [
        m.MENU_ITEM for m in SCREENS if isinstance(getattr(m, "MENU_ITEM", None), MenuItem)
    ]
    setup_templates(app)
    app.add_routes(signin.routes)
    app[assets.NODE_MODULES] = settings.node_modules_dir()
    app.add_routes(assets.routes)
    for screen in SCREENS:
        app.add_routes(screen.routes)
    app[campaigns.FIGURES] = {}
    wallboard.setup(app)
    app.cleanup_ctx.append(imports.import_jobs)
    return app
