"""The ``dialerd dnc`` command: a do-not-call list's numbers added, removed, listed, loaded
from a file (CSV, Excel). The installation's list (``--installation``), which every client's
calls obey, is managed here and in the console by the installation's admins; a client's list
(``--client N``) over the API too (docs/compliance.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from dialerd.config import Settings
from dialerd.dnc import service
from dialerd.dnc.service import DncRejected
from dialerd.store.pool import connected

_PAGE = 100


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        async with connected(settings.require_database_url()) as conn:
            await _act(conn, args, None if args.installation else args.client)
    except DncRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _act(conn: asyncpg.Connection, args: argparse.Namespace, client_id: int | None) -> None:
    if args.action == "add":
        entries, added = await service.add(conn, client_id, args.numbers, args.region, "cli")
        print(f"{added} added, {len(entries) - added} already on the list")
    elif args.action == "remove":
        removed = await service.remove(conn, client_id, args.numbers, args.region)
        print(f"{len(removed)} removed" + "".join(f"\n{n}" for n in removed))
    elif args.action == "list":
        entries, total = await service.page(conn, client_id, args.search, 0, args.limit)
        for e in entries:
            print(f"{e.number}\t{e.added_at.isoformat(timespec='seconds')}\t{e.source}")
        print(f"{len(entries)} of {total}", file=sys.stderr)
    else:
        started = time.perf_counter()
        numbers = await asyncio.to_thread(service.read_file, args.file, args.region)
        read_s = time.perf_counter() - started
        loaded = await service.load_file(conn, client_id, numbers, args.file.name)
        print(
            f"{loaded.rows} numbers read in {read_s:.1f} s, {loaded.added} added, "
            f"{loaded.rows - loaded.added} already on the list (or twice in the file), "
            f"{time.perf_counter() - started:.1f} s in all"
        )


def register(sub: Any) -> None:
    """Adds ``dialerd dnc add|remove|list|load``."""
    actions = sub.add_parser("dnc", help="do-not-call lists").add_subparsers(
        dest="action", required=True
    )
    parsers = {
        "add": actions.add_parser("add", help="put numbers on a list"),
        "remove": actions.add_parser("remove", help="take numbers off a list"),
        "list": actions.add_parser("list", help="a list's numbers, in number order"),
        "load": actions.add_parser(
            "load", help="put a file's numbers on a list (CSV, .xlsx, .xls, .ods): all or none"
        ),
    }
    for action, parser in parsers.items():
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--client", type=int, help="a client's list")
        scope.add_argument(
            "--installation", action="store_true", help="the installation's list (every client)"
        )
        if action in ("add", "remove"):
            parser.add_argument("numbers", nargs="+", metavar="NUMBER")
        if action != "list":
            parser.add_argument(
                "--region", help="the region of numbers without a country code (e.g. US)"
            )
        parser.set_defaults(run=_run)
    parsers["list"].add_argument("--search", default="", help="numbers that start with this")
    parsers["list"].add_argument("--limit", type=int, default=_PAGE)
    parsers["load"].add_argument("file", type=Path)
