"""The ``dialerd user`` command: add (an agent with its endpoint and campaigns, an
installation admin), passwd, disable, enable, grant-installation, revoke-installation, list;
and ``dialerd token``: create, list, revoke an API token.

Passwords are read from standard input (one line), never from the command line, which other
users of the machine could read in the process list; at a terminal it is asked for twice.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from dialerd.config import Settings
from dialerd.domain import Role, User
from dialerd.store.pool import connect
from dialerd.store.users import Db
from dialerd.users import service, tokens
from dialerd.users.service import UserError


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UserError("The two passwords differ")
    return first


async def _refused_or_done(settings: Settings, work: Callable[[Db], Awaitable[None]]) -> int:
    """Runs ``work`` on a connection: 0, or 1 with ``error: …`` on standard error when the
    service refused it."""
    conn = await connect(settings.require_database_url())
    try:
        await work(conn)
    except (UserError, tokens.TokenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    return await _refused_or_done(settings, lambda conn: _user_action(args, conn))


async def _user_action(args: argparse.Namespace, conn: Db) -> None:
    if args.action == "add":
        user = await service.add_user(
            conn,
            args.client,
            args.login,
            _read_password(),
            Role(args.role),
            args.name,
            args.phone,
            endpoint=args.endpoint,
            campaign_ids=args.campaign,
            installation_admin=args.installation_admin,
        )
        print(f"user {user.login} ({_role(user)}, client {user.client_id}) added")
    elif args.action == "passwd":
        await service.change_password(conn, args.login, _read_password())
        print(f"password of {args.login} changed; its sessions have ended")
    elif args.action in ("disable", "enable"):
        await service.set_disabled(conn, args.login, args.action == "disable")
        print(f"user {args.login} {args.action}d")
    elif args.action in ("grant-installation", "revoke-installation"):
        granted = args.action == "grant-installation"
        await service.set_installation_admin(conn, args.login, granted)
        print(f"user {args.login} is {'now' if granted else 'no longer'} an installation admin")
    else:
        for user in await service.users_of_client(conn, args.client):
            state = "disabled" if user.disabled else "active"
            extra = f"\t{user.endpoint}" if user.endpoint else ""
            print(f"{user.login}\t{_role(user)}\t{state}\t{user.display_name}{extra}")


def _role(user: User) -> str:
    return "installation admin" if user.installation_admin else user.role.value


def register(sub: Any) -> None:
    """Adds ``dialerd user`` add, passwd, disable, enable, grant-installation,
    revoke-installation, list."""
    actions = sub.add_parser("user", help="console users").add_subparsers(
        dest="action", required=True
    )
    add = actions.add_parser("add", help="add a user; the password comes from standard input")
    add.add_argument("login")
    add.add_argument("--client", type=int, default=1, help="client id (default 1)")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.SUPERVISOR.value)
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--phone", help="the user's own SIP phone, e.g. PJSIP/supervisor1")
    add.add_argument(
        "--endpoint", help="an agent's phone, its queue member interface, e.g. PJSIP/agent1"
    )
    add.add_argument(
        "--campaign",
        type=int,
        action="append",
        default=[],
        help="a campaign an agent works (repeat for several)",
    )
    add.add_argument(
        "--installation-admin",
        action="store_true",
        help="an admin who may also change what every client shares: calling systems, their "
        "CRM links, info fields, the installation's do-not-call list",
    )
    for action, about in (
        ("passwd", "set a new password from standard input; the user's sessions end"),
        ("disable", "disable a user; its sessions end"),
        ("enable", "enable a disabled user"),
        ("grant-installation", "make an admin an installation admin"),
        ("revoke-installation", "make an installation admin a plain admin of its client"),
    ):
        actions.add_parser(action, help=about).add_argument("login")
    listing = actions.add_parser("list", help="a client's users")
    listing.add_argument("--client", type=int, default=1, help="client id (default 1)")
    for parser in actions.choices.values():
        parser.set_defaults(run=_run)


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


async def _run_token(args: argparse.Namespace, settings: Settings) -> int:
    return await _refused_or_done(settings, lambda conn: _token_action(args, conn))


async def _token_action(args: argparse.Namespace, conn: Db) -> None:
    if args.action == "create":
        now = datetime.now(UTC)
        expires = tokens.parse_expiry(args.expires, now) if args.expires else None
        print(await tokens.create_token(conn, args.client, args.name, expires))
    elif args.action == "revoke":
        if not await tokens.revoke_token(conn, args.client, args.id):
            raise tokens.TokenError(f"No live API token {args.id}")
        print(f"API token {args.id} revoked")
    else:
        print("id\tclient\tname\tcreated\texpires\tlast used\tstate")
        for t in await tokens.tokens_of_client(conn, args.client):
            state = "revoked" if t["revoked_at"] else "expired" if t["expired"] else "valid"
            when = (_when(t[k]) for k in ("created_at", "expires_at", "last_used_at"))
            print("\t".join([str(t["id"]), str(t["client_id"]), t["name"] or "-", *when, state]))


def register_token(sub: Any) -> None:
    """Adds ``dialerd token create|list|revoke``."""
    actions = sub.add_parser("token", help="API tokens").add_subparsers(
        dest="action", required=True
    )
    create = actions.add_parser("create", help="create a token for a client; printed once")
    create.add_argument("--client", type=int, required=True, help="client id")
    create.add_argument("--name", default="", help="what uses it, e.g. the CRM's name")
    create.add_argument(
        "--expires", help="when it stops working: 30d (days from now) or 2027-01-31[T12:00]"
    )
    listing = actions.add_parser("list", help="tokens (never their value), newest first")
    listing.add_argument("--client", type=int, help="only this client's")
    revoke = actions.add_parser("revoke", help="revoke a token: 401 at once, on every node")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--client", type=int, help="only if it is this client's")
    for parser in actions.choices.values():
        parser.set_defaults(run=_run_token)
