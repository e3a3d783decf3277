"""Users, sign-in and sessions, and the audit log: one service for the console and the command.

A session is a random token in the browser's cookie; the database keeps only its sha256, the
user and the session's CSRF token. Sign-in failures are counted per account and per address
(throttle.py); while one of them must wait, the password is not even checked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from dialerd.domain import Role, User
from dialerd.store import users as store
from dialerd.users import throttle
from dialerd.users.passwords import check_strength, hash_password, needs_rehash, verify_password

log = structlog.get_logger(__name__)

_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
_PHONE = re.compile(r"[A-Za-z0-9_]+/[!-~]{1,120}")  # a dial string: PJSIP/sup1
_ONLY_ADMINS = "Only an admin may be an installation admin"


class UserError(Exception):
    """A request about users that is refused; the message says why."""


class SignInRefused(Exception):
    """Wrong name or password, a disabled account, or too many failures (``wait_s`` > 0)."""

    def __init__(self, message: str, wait_s: float = 0.0) -> None:
        super().__init__(message)
        self.wait_s = wait_s


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # the cookie's value; only its hash is stored
    user: User
    csrf_token: str


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_login(login: str) -> str:
    if not _LOGIN.fullmatch(login):
        raise UserError(
            "The login must be 1 to 80 letters, digits or . _ @ -, starting with a letter or digit"
        )
    return login


def _check_phone(phone: str | None) -> str | None:
    if phone and not _PHONE.fullmatch(phone):
        raise UserError("The phone must be an Asterisk dial string such as PJSIP/supervisor1")
    return phone or None


async def _new_hash(password: str) -> str:
    reason = check_strength(password)
    if reason is not None:
        raise UserError(reason)
    return await hash_password(password)


def _check_endpoint(role: Role, endpoint: str | None) -> str | None:
    """An agent's phone as its queue member interface (PJSIP/agent1); only agents have one."""
    endpoint = (endpoint or "").strip() or None
    if role is not Role.AGENT:
        if endpoint:
            raise UserError("Only an agent has an endpoint")
        return None
    if endpoint is None or not _PHONE.fullmatch(endpoint) or "," in endpoint:
        raise UserError("An agent needs its phone as a queue member interface such as PJSIP/agent1")
    return endpoint


async def add_user(
    db: store.Db,
    client_id: int,
    login: str,
    password: str,
    role: Role,
    display_name: str = "",
    phone: str | None = None,
    *,
    endpoint: str | None = None,
    campaign_ids: Sequence[int] = (),
    installation_admin: bool = False,
) -> User:
    """A new user; an agent needs its ``endpoint`` and works the client's campaigns of
    ``campaign_ids``; an admin may be an installation admin (the command's only)."""
    login = _check_login(login)
    if installation_admin and role is not Role.ADMIN:
        raise UserError(_ONLY_ADMINS)
    phone = _check_phone(phone)
    endpoint = _check_endpoint(role, endpoint)
    if campaign_ids and role is not Role.AGENT:
        raise UserError("Only an agent works campaigns")
    try:
        # before the password's hash, which takes long: a form naming another client's
        # campaign is refused as fast as one naming a missing campaign (the insert checks
        # again in its transaction)
        if campaign_ids:
            await store.check_campaigns(db, client_id, campaign_ids)
        user = await store.insert_user(
            db,
            client_id,
            login,
            display_name.strip(),
            role,
            await _new_hash(password),
            phone,
            endpoint,
            campaign_ids,
            installation_admin,
        )
    except store.LoginTaken:
        raise UserError(f"The login {login!r} is taken") from None
    except store.EndpointTaken:
        raise UserError(f"Another agent has the phone {endpoint}") from None
    except store.UnknownCampaigns as exc:
        raise UserError(_unknown_campaigns(exc)) from None
    log.info(
        "user_added",
        user_id=user.id,
        client_id=client_id,
        login=login,
        role=role.value,
        installation_admin=installation_admin,
    )
    return user


async def set_installation_admin(db: store.Db, login: str, granted: bool) -> None:
    """Grants the admin ``login`` the installation's shared settings, or takes them away (its
    sessions keep going: the next request reads the user anew)."""
    role = await store.set_installation_admin(db, login, granted)
    if role is None:
        raise UserError(f"No user {login!r}")
    if role is not Role.ADMIN:
        raise UserError(f"{_ONLY_ADMINS}; {login!r} is a {role.value}")
    log.info(
        "user_installation_admin_granted" if granted else "user_installation_admin_revoked",
        login=login,
    )


async def set_agent_campaigns(
    db: store.Db, client_id: int, login: str, campaign_ids: Sequence[int]
) -> None:
    """The campaigns the agent ``login`` of the client works (from its next sign-in)."""
    found = await store.user_by_login(db, login)
    if found is None or found[0].client_id != client_id or found[0].role is not Role.AGENT:
        raise UserError(f"No agent {login!r}")
    try:
        await store.set_agent_campaigns(db, found[0].id, client_id, campaign_ids)
    except store.UnknownCampaigns as exc:
        raise UserError(_unknown_campaigns(exc)) from None


def _unknown_campaigns(exc: store.UnknownCampaigns) -> str:
    return "No campaign " + ", ".join(str(i) for i in exc.args) + " of this client"


async def agent_campaigns(db: store.Db, client_id: int) -> dict[int, list[int]]:
    """Each agent of the client (by user id) → the campaigns it works."""
    return await store.agent_campaigns(db, client_id)


async def change_password(
    db: store.Db, login: str, password: str, client_id: int | None = None
) -> None:
    """A new password for ``login`` (of ``client_id``, when given); its sessions end."""
    if not await store.set_password(db, login, await _new_hash(password), client_id):
        raise UserError(f"No user {login!r}")
    log.info("user_password_changed", login=login)


async def set_disabled(
    db: store.Db, login: str, disabled: bool, client_id: int | None = None
) -> None:
    """Disables (ending its sessions) or enables ``login``."""
    if not await store.set_disabled(db, login, disabled, client_id):
        raise UserError(f"No user {login!r}")
    log.info("user_disabled" if disabled else "user_enabled", login=login)


async def users_of_client(db: store.Db, client_id: int) -> list[User]:
    return await store.users_of_client(db, client_id)


async def check_password(db: store.Db, login: str, password: str) -> tuple[User | None, bool]:
    """The account named ``login`` (None if there is none) and whether ``password`` opens it:
    its password, and the account enabled (a hash made with older argon2 parameters is
    renewed on the way)."""
    found = await store.user_by_login(db, login.strip()) if len(login) <= 80 else None
    stored = found[1] if found is not None else None
    if not await verify_password(stored, password) or found is None or found[0].disabled:
        return (found[0] if found is not None else None), False
    user, stored_hash = found
    if needs_rehash(stored_hash):
        await store.rehash_password(db, user.id, await hash_password(password))
    return user, True


async def sign_in(
    db: store.Db, login: str, password: str, address: str | None, idle_s: float
) -> Session:
    login = login.strip()
    limits = {throttle.account_key(login): throttle.ACCOUNT}
    if address:
        limits[throttle.address_key(address)] = throttle.ADDRESS
    keys = list(limits)
    seen = await store.sign_in_failures(db, keys)
    wait = max((throttle.wait_s(limits[k], n, since) for k, (n, since) in seen.items()), default=0)
    if wait > 0:
        log.info("sign_in_throttled", login=login, address=address, wait_s=round(wait, 1))
        raise SignInRefused(
            f"Too many failed sign-ins: try again in {max(1, round(wait))} s", wait_s=wait
        )
    user, opened = await check_password(db, login, password)
    if user is None or not opened:
        await store.record_sign_in_failure(db, keys, throttle.FORGET_AFTER_S)
        log.info("sign_in_failed", login=login, address=address)
        if user is not None:
            # In the account's client's audit log. A name that is no account's belongs to no
            # client, and may be a password typed into the wrong field: only the log has it.
            why = "account disabled" if user.disabled else "wrong password"
            await audit(
                db, user, "user.sign_in_failed", f"user {user.login}", {"reason": why}, address
            )
        raise SignInRefused("Wrong login or password")
    await store.clear_sign_in_failures(db, keys[0])
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await store.insert_session(db, _token_hash(token), user.id, csrf, address, idle_s)
    await audit(db, user, "user.sign_in", f"user {user.login}", address=address)
    log.info("signed_in", user_id=user.id, login=user.login, address=address)
    return Session(token, user, csrf)


async def session(db: store.Db, token: str, idle_s: float) -> Session | None:
    """The live session of a cookie's token, or None (unknown, expired, disabled user)."""
    if not token or len(token) > 100:
        return None
    found = await store.session_user(db, _token_hash(token), idle_s)
    return None if found is None else Session(token, found[0], found[1])


async def sign_out(db: store.Db, session: Session, address: str | None) -> None:
    await store.delete_session(db, _token_hash(session.token))
    user = session.user
    await audit(db, user, "user.sign_out", f"user {user.login}", address=address)


async def audit(
    db: store.Db,
    user: User,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    address: str | None = None,
) -> None:
    """Records a console action (``campaign.pause``, ``contact.reset`` …) of ``user``."""
    await store.insert_audit(db, user, action, target, detail or {}, address)


async def audit_page(
    db: store.Db, client_id: int, before: tuple[datetime, int] | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    return await store.audit_page(db, client_id, before, limit)
