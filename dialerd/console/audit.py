"""Recording a console action in the audit log, with the session's user and address."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dialerd.console.context import POOL, SESSION
from dialerd.users import service as users


async def audit(
    request: web.Request, action: str, target: str = "", detail: dict[str, Any] | None = None
) -> None:
    """``action`` like ``campaign.pause``, ``target`` like ``campaign 123``."""
    await users.audit(
        request.app[POOL], request[SESSION].user, action, target, detail, request.remote
    )
