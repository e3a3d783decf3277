"""API tokens of a client: ``Authorization: Bearer <token>``; only the token's sha256 is
stored, so a token is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from dialerd.store import admin as store


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_token(db: store.Db, client_id: int) -> str:
    token = "dlr_" + secrets.token_urlsafe(32)
    await store.insert_token(db, client_id, hash_token(token))
    return token


async def tokens_of_client(db: store.Db, client_id: int) -> list[dict[str, Any]]:
    """Each token's id, creation and revocation time (never the token)."""
    return await store.tokens_of_client(db, client_id)


async def revoke_token(db: store.Db, client_id: int, token_id: int) -> bool:
    """Revokes a live token of the client; False if there is none with that id."""
    return await store.revoke_token(db, client_id, token_id)
