"""The ``dialerd campaign`` command: one flag per setting, named after its column."""

from __future__ import annotations

import argparse
import sys
import types
import typing
from datetime import time
from enum import Enum
from typing import Annotated, Any

import orjson

from dialerd.campaigns import service
from dialerd.campaigns.schema import ALIASES, CampaignSettings, json_value
from dialerd.campaigns.service import CampaignError, CampaignRejected
from dialerd.config import Settings
from dialerd.store.pool import connect


def _is_text(annotation: Any) -> bool:
    """True for settings whose flag value is taken as written (not parsed as JSON)."""
    if annotation in (str, time) or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return True
    if typing.get_origin(annotation) is Annotated:
        return _is_text(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_text(arg) for arg in typing.get_args(annotation))
    return False


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line, by their JSON names."""
    out: dict[str, Any] = {}
    for name, field in CampaignSettings.model_fields.items():
        raw = getattr(args, name)
        if raw is None:
            continue
        if _is_text(field.annotation):
            out[ALIASES[name]] = raw or None  # '' clears an optional setting
            continue
        try:
            out[ALIASES[name]] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise CampaignRejected(f"--{name.replace('_', '-')}: not a JSON value: {raw}") from None
    return out


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name, field in CampaignSettings.model_fields.items():
        kind = "text" if _is_text(field.annotation) else "JSON"
        shown = json_value(
            field.default.value if isinstance(field.default, Enum) else field.default
        )
        if kind == "JSON":
            shown = orjson.dumps(shown).decode()
        default = "" if field.is_required() else f", default {shown if shown else 'unset'}"
        about = f" ({field.description})" if field.description else ""
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            metavar=kind.upper(),
            help=f"{ALIASES[name]}{about}: {kind}{default}",
        )


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings.require_database_url())
    try:
        if args.action == "list":
            result: Any = await service.list_all(conn, args.client)
        elif args.action == "show":
            result = await service.show(conn, args.client, args.id)
        elif args.action == "create":
            body = _flag_values(args) | ({"ID": args.id} if args.id is not None else {})
            result = await service.create(conn, args.client, body)
        else:
            result = await service.update(conn, args.client, args.id, _flag_values(args))
    except CampaignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


def register(sub: Any) -> None:
    """Adds ``dialerd campaign create|update|list|show``."""
    actions = sub.add_parser("campaign", help="campaigns (callCode / DiallerCampaignsID)")
    actions = actions.add_subparsers(dest="action", required=True)
    parsers = {
        "create": actions.add_parser("create", help="create a campaign; prints it as JSON"),
        "update": actions.add_parser("update", help="change the given settings; prints JSON"),
        "list": actions.add_parser("list", help="print the client's campaigns as JSON"),
        "show": actions.add_parser("show", help="print one campaign as JSON"),
    }
    parsers["create"].add_argument("--id", type=int, help="campaign id (default: the next free)")
    for action in ("update", "show"):
        parsers[action].add_argument("id", type=int, help="campaign id")
    for action in ("create", "update"):
        _add_setting_flags(parsers[action])
    for parser in parsers.values():
        parser.add_argument("--client", type=int, default=1, help="client id (default 1)")
        parser.set_defaults(run=_run)
