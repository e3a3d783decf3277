"""What a handler takes from the app and the request: the pool and the token's client.

Its own module so that app.py can import the route modules and they can import these keys.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

POOL = web.AppKey("pool", asyncpg.Pool)
CLIENT_ID = web.RequestKey("client_id", int)  # the client the bearer token belongs to
