"""API tokens of a client: ``Authorization: Bearer <token>``; only the token's sha256 is
stored, so a token is shown once, when it is made. A token has a name (what uses it), may
expire, and can be revoked; either ends it at once, on every dialerd sharing the database,
because each request reads the token's row (docs/security.md)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from dialerd.store import admin as store

MAX_NAME_LENGTH = 100
_DAYS = re.compile(r"([1-9][0-9]{0,4})d")


class TokenError(Exception):
    """A token that cannot be made as asked (the message says why)."""


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"A token's name has at most {MAX_NAME_LENGTH} characters")
    if any(not c.isprintable() for c in name):
        raise TokenError("A token's name must be printable text")
    return name


def parse_expiry(text: str, now: datetime) -> datetime:
    """``30d`` (days from ``now``) or an ISO 8601 date or time (without a zone: UTC)."""
    if days := _DAYS.fullmatch(text):
        return now + timedelta(days=int(days.group(1)))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise TokenError(f"Expiry {text[:40]!r} is neither like 30d nor like 2027-01-31") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when <= now:
        raise TokenError(f"Expiry {text[:40]!r} has passed")
    return when


async def create_token(
    db: store.Db, client_id: int, name: str = "", expires_at: datetime | None = None
) -> str:
    """A new token of the client, returned once; ``expires_at`` must be aware (None: never)."""
    if expires_at is not None and expires_at.tzinfo is None:
        raise TokenError("A token's expiry needs a time zone")
    token = "dlr_" + secrets.token_urlsafe(32)
    await store.insert_token(db, client_id, hash_token(token), check_name(name), expires_at)
    return token


async def tokens_of_client(db: store.Db, client_id: int | None) -> list[dict[str, Any]]:
    """Each token's id, client, name, creation, expiry, last use and revocation (never the
    token); None: every client's (the operator's command)."""
    return await store.tokens_of_client(db, client_id)


async def revoke_token(db: store.Db, client_id: int | None, token_id: int) -> bool:
    """Revokes a live token of the client (None: of any client); False if there is none."""
    return await store.revoke_token(db, client_id, token_id)
