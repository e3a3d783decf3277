"""The composition root of ``dialerd serve``: pool, HTTP API and background workers."""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from dialerd.api.app import init_app
from dialerd.config import Settings
from dialerd.store.pool import create_pool

log = structlog.get_logger(__name__)


async def serve(settings: Settings) -> None:
    pool = await create_pool(settings.require_database_url())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(init_app(settings, pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("http_listening", host=settings.http_host, port=settings.http_port)
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
        await pool.close()
        log.info("stopped")
