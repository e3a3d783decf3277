"""A bare panoramisk ``Manager``, logged in: the reference that benchmarks and lab tests compare
the dialer with, so it deliberately bypasses :mod:`dialerd.pbx.ami`. Test and benchmark code,
so not in the shipped package: bench/dial.py imports it from here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from panoramisk import Manager


async def bare_manager(
    host: str,
    port: int,
    username: str,
    secret: str,
    *,
    on_event: Callable[[Manager, Any], None] | None = None,
    login_timeout: float = 10.0,
) -> Any:
    """A connected Manager whose login has completed (``connect()`` returns before it does);
    panoramisk's own pings are off. ``on_event`` gets every event from the start."""
    manager = Manager(
        host=host,
        port=port,
        username=username,
        secret=secret,
        ping_delay=3600,
        ping_interval=3600,
        loop=asyncio.get_running_loop(),
    )
    if on_event is not None:
        manager.register_event("*", on_event)
    async with asyncio.timeout(login_timeout):
        await manager.connect()
    deadline = time.monotonic() + login_timeout
    while not manager.authenticated:
        if time.monotonic() > deadline:
            manager.close()
            raise TimeoutError(f"AMI login at {host}:{port} did not complete in {login_timeout} s")
        await asyncio.sleep(0.05)
    return manager
