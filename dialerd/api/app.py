"""The aiohttp application: middlewares (request ids, error envelopes, auth) and the routes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
import structlog
from aiohttp import web

from dialerd.api import abandonrate, calltasks, campaigns, contacts, dnc, metrics, openapi, proxy
from dialerd.api.auth import client_for_token
from dialerd.api.body import BadBody
from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, DiallerStatus, error_response, json_response
from dialerd.calltasks.errors import CalltaskError
from dialerd.config import Settings
from dialerd.store.pool import database_unavailable

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PUBLIC = frozenset({"/", "/health", metrics.PATH, *openapi.PUBLIC})  # /metrics: its own token
_OTHERS = web.AppKey("mounted_prefixes", tuple[str, ...])  # sub-apps with their own middlewares
DATABASE_UNAVAILABLE = "Service unavailable: the database cannot be reached, try again shortly"
RETRY_AFTER_S = "5"
_REASONS = {
    400: "Bad request",
    401: "Unauthorized: missing or invalid API token",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
}


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every log line of a request carries its ``request_id`` (contextvars: this task only)."""
    with structlog.contextvars.bound_contextvars(request_id=uuid.uuid4().hex):
        return await handler(request)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves in the envelope of its API; no stack trace ever reaches a client."""
    if _not_api(request):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except CalltaskError as exc:  # a refused import: always 400
        return json_response(exc.body(), 400)
    except BadBody as exc:
        return error_response(request.path, 400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request.path, exc.status, _REASONS.get(exc.status, exc.reason))
    except Exception as exc:
        if database_unavailable(exc):
            # Down or restarting: the client may try again; nothing was half-written (every
            # write is one transaction), and the pool's timeouts bound the wait.
            log.warning("request_database_unavailable", path=request.path, error=repr(exc))
            unavailable = error_response(request.path, 503, DATABASE_UNAVAILABLE)
            unavailable.headers["Retry-After"] = RETRY_AFTER_S
            return unavailable
        log.exception("request_failed", method=request.method, path=request.path)
        return error_response(request.path, 500, "Internal server error")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    public = request.path in _PUBLIC or request.path.startswith(openapi.PUBLIC_PREFIX)
    if public or _not_api(request):
        return await handler(request)
    client_id = await client_for_token(request.app[POOL], request.headers.get("Authorization"))
    if client_id is None:
        return error_response(request.path, 401, _REASONS[401])
    request[CLIENT_ID] = client_id
    return await handler(request)


def _not_api(request: web.Request) -> bool:
    """A request for a mounted sub-application (the console), which handles its own errors and
    sign-in; a bare prefix without its slash is redirected by the sub-app's own route."""
    return any(request.path.startswith(p.rstrip("/")) for p in request.app[_OTHERS])


async def health(_: web.Request) -> web.Response:
    return json_response(DiallerStatus(status=200).model_dump())


def init_app(
    settings: Settings,
    pool: asyncpg.Pool,
    mounts: Mapping[str, web.Application] | None = None,
    live_view: metrics.LiveView | None = None,
) -> web.Application:
    """The APIs, and ``mounts`` (prefix -> sub-application, e.g. the console at /console/);
    /metrics when it has a token (``live_view``: this process's engine's, if it dials)."""
    app = web.Application(
        middlewares=[
            proxy.forwarded_middleware,
            metrics.http_metrics_middleware,
            request_id_middleware,
            errors_middleware,
            auth_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[POOL] = pool
    app[proxy.TRUSTED] = settings.proxy_networks()
    if settings.metrics_token:
        app[metrics.METRICS_TOKEN] = settings.metrics_token
        if live_view is not None:
            app[metrics.LIVE_VIEW] = live_view
        app.router.add_get(metrics.PATH, metrics.handle)
    app[_OTHERS] = tuple(mounts or ())
    for prefix, sub in (mounts or {}).items():
        app.add_subapp(prefix, sub)
    app.router.add_get("/health", health)
    openapi.add_routes(app, settings)
    app.add_routes(contacts.routes)
    app.add_routes(campaigns.routes)
    app.add_routes(dnc.routes)
    app.add_routes(abandonrate.routes)
    app.add_routes(calltasks.routes)
    app.cleanup_ctx.append(calltasks.import_worker)
    return app
