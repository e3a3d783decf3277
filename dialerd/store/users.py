"""Console users, their sessions, sign-in failures and the audit log (users.sql)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from dialerd.domain import Role, User
from dialerd.store.sqlfiles import q

Db = asyncpg.Connection | asyncpg.Pool


class LoginTaken(Exception):
    """Another user has this sign-in name."""


class EndpointTaken(Exception):
    """Another agent has this phone."""


class UnknownCampaigns(Exception):
    """Campaigns that are not the client's (their ids are the args)."""


async def check_campaigns(db: Db, client_id: int, campaign_ids: Sequence[int]) -> None:
    """Raises :class:`UnknownCampaigns` naming those of ``campaign_ids`` not the client's."""
    rows = await db.fetch(q("client_campaign_ids"), client_id, list(campaign_ids))
    unknown = sorted(set(campaign_ids) - {r["id"] for r in rows})
    if unknown:
        raise UnknownCampaigns(*unknown)


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        client_id=row["client_id"],
        login=row["login"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        disabled=row["disabled"],
        phone=row["phone"],
        endpoint=row["endpoint"],
        installation_admin=row["installation_admin"],
    )


async def insert_user(
    db: Db,
    client_id: int,
    login: str,
    display_name: str,
    role: Role,
    password_hash: str,
    phone: str | None,
    endpoint: str | None = None,
    campaign_ids: Sequence[int] = (),
    installation_admin: bool = False,
) -> User:
    """A new user; an agent with its endpoint and the client's campaigns it works (of
    ``campaign_ids``, those that are the client's), in one transaction."""
    async with _transaction(db) as conn:
        try:
            row = await conn.fetchrow(
                q("insert_user"),
                client_id,
                login,
                display_name,
                role.value,
                password_hash,
                phone,
                endpoint,
                installation_admin,
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "users_endpoint":
                raise EndpointTaken(endpoint or "") from None
            raise LoginTaken(login) from None
        assert row is not None
        if campaign_ids:
            await check_campaigns(conn, client_id, campaign_ids)
            await conn.execute(q("set_agent_campaigns"), row["id"], client_id, list(campaign_ids))
    return _user(row)


@contextlib.asynccontextmanager
async def _transaction(db: Db) -> AsyncIterator[Any]:
    """A connection in a transaction: ``db`` itself, or one of the pool's."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with db.transaction():
            yield db


async def set_agent_campaigns(
    db: Db, user_id: int, client_id: int, campaign_ids: Sequence[int]
) -> None:
    """The campaigns an agent works: exactly these of the client's."""
    await check_campaigns(db, client_id, campaign_ids)
    await db.execute(q("set_agent_campaigns"), user_id, client_id, list(campaign_ids))


async def agent_campaigns(db: Db, client_id: int) -> dict[int, list[int]]:
    """Each agent of the client → the ids of the campaigns it works."""
    rows = await db.fetch(q("agent_campaigns_of_client"), client_id)
    return {r["user_id"]: list(r["campaign_ids"]) for r in rows}


async def user_by_login(db: Db, login: str) -> tuple[User, str] | None:
    """The user and its password hash."""
    row = await db.fetchrow(q("user_by_login"), login)
    return None if row is None else (_user(row), row["password_hash"])


async def users_of_client(db: Db, client_id: int) -> list[User]:
    return [_user(r) for r in await db.fetch(q("users_of_client"), client_id)]


async def set_password(db: Db, login: str, password_hash: str, client_id: int | None) -> bool:
    return await db.fetchval(q("set_password"), login, password_hash, client_id) is not None


async def set_disabled(db: Db, login: str, disabled: bool, client_id: int | None) -> bool:
    return await db.fetchval(q("set_disabled"), login, disabled, client_id) is not None


async def set_installation_admin(db: Db, login: str, granted: bool) -> Role | None:
    """Grants or revokes ``login``'s installation admin (only an admin's changes): its role, or
    None when there is no such user."""
    role = await db.fetchval(q("set_installation_admin"), login, granted)
    return None if role is None else Role(role)


async def rehash_password(db: Db, user_id: int, password_hash: str) -> None:
    await db.execute(q("rehash_password"), user_id, password_hash)


async def insert_session(
    db: Db, token_hash: bytes, user_id: int, csrf: str, address: str | None, ttl_s: float
) -> None:
    await db.execute(q("insert_session"), token_hash, user_id, csrf, address, ttl_s)


async def session_user(db: Db, token_hash: bytes, ttl_s: float) -> tuple[User, str] | None:
    """The user of a live session and its CSRF token; the session's idle time starts again."""
    row = await db.fetchrow(q("session_user"), token_hash, ttl_s)
    return None if row is None else (_user(row), row["csrf_token"])


async def delete_session(db: Db, token_hash: bytes) -> None:
    await db.execute(q("delete_session"), token_hash)


async def delete_expired_sessions(db: Db) -> None:
    await db.execute(q("delete_expired_sessions"))


async def sign_in_failures(db: Db, keys: list[str]) -> dict[str, tuple[int, float]]:
    """Key -> (failures, seconds since the last one)."""
    rows = await db.fetch(q("sign_in_failures"), keys)
    return {r["key"]: (r["failures"], r["since_s"]) for r in rows}


async def record_sign_in_failure(db: Db, keys: list[str], forget_after_s: float) -> None:
    await db.execute(q("record_sign_in_failure"), keys, forget_after_s)


async def clear_sign_in_failures(db: Db, key: str) -> None:
    await db.execute(q("clear_sign_in_failures"), key)


async def insert_audit(
    db: Db,
    user: User,
    action: str,
    target: str,
    detail: dict[str, Any],
    address: str | None,
) -> None:
    await db.execute(
        q("insert_audit"), user.client_id, user.id, user.login, action, target, detail, address
    )


async def audit_page(
    db: Db, client_id: int, before: tuple[datetime, int] | None, limit: int
) -> list[dict[str, Any]]:
    at, last_id = before if before is not None else (None, None)
    return [dict(r) for r in await db.fetch(q("audit_page"), client_id, at, last_id, limit)]
