"""API tokens: ``Authorization: Bearer <token>``; only the token's sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets

import asyncpg

from dialerd.store import admin as store


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_token(db: store.Db, client_id: int) -> str:
    token = "dlr_" + secrets.token_urlsafe(32)
    await store.insert_token(db, client_id, hash_token(token))
    return token


async def client_for_token(pool: asyncpg.Pool, header: str | None) -> int | None:
    """The client id the Authorization header's token belongs to, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return await store.client_of_token(pool, hash_token(token))
