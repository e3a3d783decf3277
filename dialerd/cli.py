"""The ``dialerd`` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from dialerd import logs
from dialerd.campaigns.cli import register as register_campaign
from dialerd.config import Settings
from dialerd.dnc.cli import register as register_dnc
from dialerd.simulator.cli import register as register_simulate
from dialerd.store import admin
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect
from dialerd.users.cli import register as register_user
from dialerd.users.cli import register_token

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings.require_database_url())
    try:
        applied = await migrate(conn)
    finally:
        await conn.close()
    print(f"applied {len(applied)} migration(s)" + (f": {applied}" if applied else ""))
    return 0


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from dialerd.service import serve

    await serve(settings)
    return 0


async def _system_add(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings.require_database_url())
    try:
        await admin.add_calling_system(conn, args.code)
    finally:
        await conn.close()
    print(f"calling system {args.code} registered")
    return 0


async def _infofield_add(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings.require_database_url())
    try:
        await admin.define_info_field(conn, args.id, args.name)
    finally:
        await conn.close()
    print(f"info field {args.id} ({args.name}) defined")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dialerd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply the schema migrations (idempotent)").set_defaults(
        run=_migrate
    )
    sub.add_parser("serve", help="run the HTTP API and the dialer").set_defaults(run=_serve)

    system = sub.add_parser("system", help="calling systems (systemCode)").add_subparsers(
        dest="action", required=True
    )
    add = system.add_parser("add", help="register a calling system")
    add.add_argument("code")
    add.set_defaults(run=_system_add)

    infofield = sub.add_parser("infofield", help="info fields (emprId)").add_subparsers(
        dest="action", required=True
    )
    add = infofield.add_parser("add", help="define an info field")
    add.add_argument("id", type=int)
    add.add_argument("name")
    add.set_defaults(run=_infofield_add)

    for register in REGISTRARS:
        register(sub)
    return parser


# Areas that bring their own subcommands: each is a function(subparsers) -> None.
REGISTRARS: list[Callable[[Any], None]] = [
    register_token,
    register_campaign,
    register_dnc,
    register_simulate,
    register_user,
]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    run: Command = args.run
    try:
        return asyncio.run(run(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
