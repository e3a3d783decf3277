"""The composition root of ``dialerd serve``: pool, HTTP API and, when an AMI host is set, the
dialer engine with its AMI connection and live PBX state."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from dialerd import metrics
from dialerd.api.app import init_app
from dialerd.api.contacts import MAX_TEXT
from dialerd.api.metrics import LiveView, metrics_app
from dialerd.config import Settings
from dialerd.console.app import PREFIX as CONSOLE
from dialerd.console.app import init_console
from dialerd.dialer.engine import Engine
from dialerd.pbx.ami import AmiConnection
from dialerd.pbx.asterisk import AsteriskPbx
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.live import PostgresLiveStore
from dialerd.store.pool import create_pool
from dialerd.store.preview import PostgresPreviewStore

log = structlog.get_logger(__name__)

# The engine has connections of its own: requests waiting for one of the API's (a hundred
# clients at once) never hold up a tick (bench/api_load.py). It needs few: the tick, the live
# view's publisher and the agents' commands, one at a time each.
API_POOL_SIZE = 10
DIALER_POOL_SIZE = 4


@dataclass
class Dialer:
    """The engine and the PBX adapter it was built with."""

    engine: Engine
    pbx: AsteriskPbx

    def live_view(self) -> dict[str, Any]:
        """The engine's live view now, for /metrics."""
        return self.engine.live_view(self.engine.campaigns_live())


def build_app(
    settings: Settings, pool: asyncpg.Pool, live_view: LiveView | None = None
) -> web.Application:
    """The APIs with the console mounted at /console/ (and / leading to it)."""
    app = init_app(settings, pool, {CONSOLE: init_console(settings, pool)}, live_view)

    async def to_console(_: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(CONSOLE)

    app.router.add_get("/", to_console)
    app.router.add_get(CONSOLE.rstrip("/"), to_console)
    return app


def build_dialer(settings: Settings, pool: asyncpg.Pool) -> Dialer:
    """The engine wired to Postgres and to a new AMI connection (not started)."""
    assert settings.ami_host is not None
    ami = AmiConnection(
        settings.ami_host, settings.ami_port, settings.ami_username, settings.ami_secret
    )
    pbx = AsteriskPbx(ami)
    store = PostgresDialerStore(pool, settings.instance_id, settings.claim_lease_seconds)
    live = PostgresLiveStore(pool, settings.require_database_url(), settings.instance_id)
    preview = PostgresPreviewStore(pool, settings.instance_id, settings.claim_lease_seconds)
    engine = Engine(
        settings, store, pbx, drain_timeout_s=settings.drain_timeout_s, live=live, preview=preview
    )
    engine.attach()
    return Dialer(engine, pbx)


async def run_dialer(dialer: Dialer, stop: asyncio.Event) -> None:
    """Runs the engine until ``stop``, then drains it and closes its AMI connection."""
    await dialer.pbx.start()
    try:
        await dialer.engine.run(stop)
    finally:
        await dialer.pbx.stop()


async def _pool(settings: Settings, size: int) -> asyncpg.Pool:
    return await create_pool(
        settings.require_database_url(),
        max_size=size,
        connect_timeout_s=settings.db_connect_timeout_s,
        command_timeout_s=settings.db_command_timeout_s,
    )


async def serve(settings: Settings) -> None:
    """Runs until SIGTERM/SIGINT. A crashed dialer stops the whole service (exit status 1), so
    that a supervisor restarts it instead of leaving an API that no longer dials."""
    pool = await _pool(settings, API_POOL_SIZE)
    dialer_pool = await _pool(settings, DIALER_POOL_SIZE) if settings.ami_host else None
    lag = asyncio.create_task(metrics.watch_loop_lag(), name="loop-lag")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    built = build_dialer(settings, dialer_pool) if dialer_pool is not None else None
    live_view = built.live_view if built is not None else None
    # A request line long enough for a ?userData= of the most characters a UserData may have
    # (contacts.MAX_TEXT), each percent-encoded as a 4-byte UTF-8 character: 12 bytes.
    line = 12 * MAX_TEXT + 1024
    app = build_app(settings, pool, live_view)
    runners = [web.AppRunner(app, access_log=None, max_line_size=line)]
    await runners[0].setup()
    await web.TCPSite(runners[0], settings.http_host, settings.http_port).start()
    log.info("http_listening", host=settings.http_host, port=settings.http_port)
    if settings.metrics_port is not None:
        app = metrics_app(pool, settings.metrics_token, live_view)
        runners.append(web.AppRunner(app, access_log=None))
        await runners[1].setup()
        await web.TCPSite(runners[1], settings.metrics_host, settings.metrics_port).start()
        log.info("metrics_listening", host=settings.metrics_host, port=settings.metrics_port)
    dialer: asyncio.Task[None] | None = None
    if built is not None:
        dialer = asyncio.create_task(run_dialer(built, stop), name="dialer")
        dialer.add_done_callback(lambda _: stop.set())
        log.info("dialer_enabled", ami_host=settings.ami_host, ami_port=settings.ami_port)
    try:
        await stop.wait()
        log.info("stopping")
        if dialer is not None:
            await dialer  # no new calls; the calls in progress end and are recorded
    except Exception:
        log.exception("dialer_crashed")
        raise SystemExit(1) from None
    finally:
        if dialer is not None and not dialer.done():
            dialer.cancel()
        for runner in runners:
            await runner.cleanup()
        lag.cancel()
        await pool.close()
        if dialer_pool is not None:
            await dialer_pool.close()
        log.info("stopped")
