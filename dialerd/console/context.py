"""What console handlers take from the app and the request: pool, settings, the session."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from dialerd.config import Settings
from dialerd.users.service import Session

POOL = web.AppKey("console_pool", asyncpg.Pool)
SETTINGS = web.AppKey("console_settings", Settings)
SESSION = web.RequestKey("console_session", Session)

COOKIE = "dialerd_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
