"""Campaigns: ``GET/POST/PATCH /dialler/campaigns[/{id}]`` and the ``dialerd campaign`` command.

Both speak the same JSON record (the contacts API's casing: ``ID``, ``Name``, ``bActive``,
``dtCreated`` …) and go through the same validation, so a setting accepted by one is accepted
by the other. Campaigns belong to the client of the API token (``--client`` on the command line).
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, time
from enum import Enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import orjson
import pydantic
import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, json_response
from dialerd.config import Settings
from dialerd.domain import DialMode, MachineAction
from dialerd.numbers import is_region
from dialerd.store import campaigns as store
from dialerd.store.pool import connect

log = structlog.get_logger(__name__)

_INT4_MAX = 2**31 - 1
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (CR/LF would break AMI actions)
_ASTERISK_NAME = r"^[A-Za-z0-9_.\-]+$"
_DIAL_STRING = r"^[!-~]*\{number\}[!-~]*$"  # printable ASCII, no spaces, with the placeholder

Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_PRINTABLE)]


class CampaignSettings(BaseModel):
    """Every setting of a campaign; attribute names are the column names of ``campaigns``."""

    model_config = ConfigDict(strict=True, extra="forbid", use_enum_values=True)

    name: Annotated[Text, StringConstraints(min_length=1, max_length=200)] = Field(alias="Name")
    queue: Annotated[Text, StringConstraints(max_length=80, pattern=_ASTERISK_NAME)] | None = Field(
        None, alias="Queue", description="Asterisk queue that answered calls go to"
    )
    dial_string: Annotated[Text, StringConstraints(max_length=200, pattern=_DIAL_STRING)] | None = (
        Field(None, alias="DialString", description="e.g. PJSIP/{number}@trunk")
    )
    caller_id: Annotated[Text, StringConstraints(max_length=80)] | None = Field(
        None, alias="CallerID"
    )
    dial_mode: DialMode = Field(DialMode.PROGRESSIVE, alias="DialMode")
    dial_ratio: float = Field(1.5, gt=0, le=100, alias="DialRatio")
    max_lines_per_agent: float = Field(3.0, ge=1, le=100, alias="MaxLinesPerAgent")
    abandon_limit: float = Field(0.03, gt=0, lt=1, alias="AbandonLimit")
    aggressiveness: float = Field(1.0, gt=0, le=100, alias="Aggressiveness")
    max_calls_in_flight: int | None = Field(None, gt=0, le=100_000, alias="MaxCallsInFlight")
    max_originate_rate: float | None = Field(None, gt=0, le=10_000, alias="MaxOriginateRate")
    ring_timeout_s: int = Field(30, ge=15, le=600, alias="RingTimeoutSeconds")
    agent_timeout_s: int = Field(2, ge=1, le=10, alias="AgentTimeoutSeconds")
    amd_enabled: bool = Field(False, alias="bAmdEnabled")
    machine_action: MachineAction = Field(MachineAction.HANGUP, alias="MachineAction")
    window_start: time = Field(time(8), alias="WindowStart", description="local time, HH:MM")
    window_end: time = Field(time(20), alias="WindowEnd", description="local time, HH:MM")
    window_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        [1, 2, 3, 4, 5], min_length=1, max_length=7, alias="WindowDays", description="1 = Monday"
    )
    timezone: Text = Field("UTC", alias="Timezone")
    default_region: Text | None = Field(None, alias="DefaultRegion")
    max_attempts: int = Field(3, ge=1, le=1000, alias="MaxAttempts")
    min_call_interval_h: float = Field(12.0, ge=0, le=8760, alias="MinCallIntervalHours")
    retry_minutes: dict[str, Annotated[int, Field(ge=0, le=525_600)]] = Field(
        {}, alias="RetryMinutes", description="CONNRES (0-7) -> minutes until the next try"
    )
    active: bool = Field(True, alias="bActive")

    @field_validator("window_days")
    @classmethod
    def _days_unique(cls, days: list[int]) -> list[int]:
        if len(set(days)) != len(days):
            raise ValueError("weekdays must not repeat")
        return sorted(days)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (IANA name, e.g. Europe/Oslo)") from exc
        return name

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        if region is not None and not is_region(region):
            raise ValueError(f"unknown region {region!r} (ISO 3166 code, e.g. NO)")
        return region.upper() if region else None

    @field_validator("retry_minutes")
    @classmethod
    def _connres_keys(cls, minutes: dict[str, int]) -> dict[str, int]:
        for key in minutes:
            if key not in {"0", "1", "2", "3", "4", "5", "6", "7"}:
                raise ValueError(f"key {key!r} is not a CONNRES (0-7)")
        return minutes

    @pydantic.model_validator(mode="after")
    def _window_not_empty(self) -> CampaignSettings:
        if self.window_start >= self.window_end:
            raise ValueError("WindowStart must be before WindowEnd")
        return self


_ALIASES = {name: field.alias or name for name, field in CampaignSettings.model_fields.items()}


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "")


def _json_value(value: Any) -> Any:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return float(f"{value:.7g}")  # `real` columns: show 1.2, not 1.2000000476837158
    return value


def record(row: asyncpg.Record) -> dict[str, Any]:
    """The API's JSON record of a campaign row."""
    out: dict[str, Any] = {"ID": row["id"]}
    out.update((_ALIASES[c], _json_value(row[c])) for c in store.COLUMNS)
    out["dtCreated"] = _timestamp(row["created_at"])
    out["dtUpdated"] = _timestamp(row["updated_at"])
    return out


def _validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Column -> value of valid settings, or ApiError 400 that names every bad field."""
    try:
        # Through JSON so that strict mode reads times and enums from their JSON spelling.
        settings = CampaignSettings.model_validate_json(orjson.dumps(data))
    except pydantic.ValidationError as exc:
        raise ApiError(400, _describe(exc)) from None
    return settings.model_dump()


def _describe(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


async def create(conn: store.Conn, client_id: int, body: Any) -> dict[str, Any]:
    data = dict(_object(body))
    campaign_id = data.pop("ID", None)
    if campaign_id is not None and (
        not isinstance(campaign_id, int)
        or isinstance(campaign_id, bool)
        or not 1 <= campaign_id <= _INT4_MAX
    ):
        raise ApiError(400, f"ID: must be an integer from 1 to {_INT4_MAX}")
    values = _validate(data)
    try:
        row = await store.insert(conn, client_id, campaign_id, values)
    except asyncpg.UniqueViolationError:
        what = f"ID {campaign_id} or name" if campaign_id is not None else "name"
        raise ApiError(409, f"a campaign with this {what} exists already") from None
    log.info("campaign_created", campaign_id=row["id"], client_id=client_id, name=row["name"])
    return record(row)


async def update(conn: store.Conn, client_id: int, campaign_id: int, body: Any) -> dict[str, Any]:
    """Changes the settings present in ``body``; a setting set to null goes back to unset."""
    patch = _object(body)
    async with conn.transaction():
        current = await store.get(conn, client_id, campaign_id, for_update=True)
        if current is None:
            raise ApiError(404, f"no campaign with ID {campaign_id}")
        merged = {k: v for k, v in record(current).items() if k in _ALIASES.values()}
        values = _validate(merged | patch)
        try:
            row = await store.update(conn, client_id, campaign_id, values)
        except asyncpg.UniqueViolationError:
            raise ApiError(409, "a campaign with this name exists already") from None
    assert row is not None  # locked above
    log.info("campaign_updated", campaign_id=campaign_id, client_id=client_id, fields=list(patch))
    return record(row)


async def show(conn: store.Conn, client_id: int, campaign_id: int) -> dict[str, Any]:
    row = await store.get(conn, client_id, campaign_id)
    if row is None:
        raise ApiError(404, f"no campaign with ID {campaign_id}")
    return record(row)


async def list_all(conn: store.Conn, client_id: int) -> list[dict[str, Any]]:
    return [record(row) for row in await store.of_client(conn, client_id)]


# HTTP


def _id(request: web.Request) -> int:
    campaign_id = int(request.match_info["id"])  # the route admits digits only
    if campaign_id > _INT4_MAX:
        raise ApiError(404, f"no campaign with ID {campaign_id}")
    return campaign_id


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise ApiError(400, "the body is missing")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None


def _one(campaign: dict[str, Any]) -> web.Response:
    return json_response({"records": [campaign], "count": 1, "status": 200})


async def _list(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        records = await list_all(conn, request[CLIENT_ID])
    return json_response(
        {
            "filter": "",
            "limitStart": 0,
            "limitPageSize": -1,
            "records": records,
            "count": len(records),
            "orderBy": "Name",
            "ascending": True,
            "status": 200,
        }
    )


async def _show(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return _one(await show(conn, request[CLIENT_ID], _id(request)))


async def _create(request: web.Request) -> web.Response:
    body = await _body(request)
    async with request.app[POOL].acquire() as conn:
        return _one(await create(conn, request[CLIENT_ID], body))


async def _update(request: web.Request) -> web.Response:
    campaign_id = _id(request)
    body = await _body(request)
    async with request.app[POOL].acquire() as conn:
        return _one(await update(conn, request[CLIENT_ID], campaign_id, body))


routes = [
    web.get("/dialler/campaigns", _list),
    web.post("/dialler/campaigns", _create),
    web.get(r"/dialler/campaigns/{id:\d+}", _show),
    web.patch(r"/dialler/campaigns/{id:\d+}", _update),
]


# The `dialerd campaign` command: one flag per setting, named after its column.


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
            out[_ALIASES[name]] = raw or None  # '' clears an optional setting
            continue
        try:
            out[_ALIASES[name]] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(400, f"--{name.replace('_', '-')}: not a JSON value: {raw}") from None
    return out


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name, field in CampaignSettings.model_fields.items():
        kind = "text" if _is_text(field.annotation) else "JSON"
        shown = _json_value(
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
            help=f"{_ALIASES[name]}{about}: {kind}{default}",
        )


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings.require_database_url())
    try:
        if args.action == "list":
            result: Any = await list_all(conn, args.client)
        elif args.action == "show":
            result = await show(conn, args.client, args.id)
        elif args.action == "create":
            body = _flag_values(args) | ({"ID": args.id} if args.id is not None else {})
            result = await create(conn, args.client, body)
        else:
            result = await update(conn, args.client, args.id, _flag_values(args))
    except ApiError as exc:
        print(f"error: {exc.error}", file=sys.stderr)
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
