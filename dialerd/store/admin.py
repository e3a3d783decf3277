"""API tokens, calling systems and info fields: what an operator sets up (admin.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from dialerd.store.sqlfiles import q

Db = asyncpg.Connection | asyncpg.Pool


async def insert_token(
    db: Db, client_id: int, token_hash: bytes, name: str, expires_at: datetime | None
) -> int:
    token_id: int = await db.fetchval(q("insert_token"), client_id, token_hash, name, expires_at)
    return token_id


async def client_of_token(db: Db, token_hash: bytes) -> int | None:
    """The client of a valid (not revoked, not expired) token, or None; notes its use."""
    client_id: int | None = await db.fetchval(q("client_for_token"), token_hash)
    return client_id


async def add_calling_system(db: Db, code: str) -> None:
    """Registers a calling system (the calltask API's systemCode); nothing if it exists."""
    await db.execute(q("insert_calling_system"), code)


async def set_crm_url_template(db: Db, code: str, template: str | None) -> bool:
    """Sets (None: removes) a calling system's CRM link template; False: no such system."""
    return await db.fetchval(q("set_crm_url_template"), code, template) is not None


async def define_info_field(db: Db, field_id: int, name: str) -> None:
    """Defines or renames an info field (the calltask API's emprId)."""
    await db.execute(q("upsert_info_field"), field_id, name)


async def tokens_of_client(db: Db, client_id: int | None) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch(q("tokens_of_client"), client_id)]


async def revoke_token(db: Db, client_id: int | None, token_id: int) -> bool:
    return await db.fetchval(q("revoke_token"), client_id, token_id) is not None


async def calling_systems(db: Db) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch(q("calling_systems"))]


async def info_fields(db: Db) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch(q("info_fields"))]
