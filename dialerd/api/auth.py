"""API tokens: ``Authorization: Bearer <token>`` names the client of a request."""

from __future__ import annotations

import asyncpg

from dialerd.store import admin as store
from dialerd.users.tokens import hash_token


async def client_for_token(pool: asyncpg.Pool, header: str | None) -> int | None:
    """The client id the Authorization header's token belongs to, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return await store.client_of_token(pool, hash_token(token))
