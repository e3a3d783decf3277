"""Creating, changing and reading campaigns: one validation for the HTTP API and the command.

Campaigns belong to a client (the API token's, or ``--client`` on the command line); another
client's campaign is not found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson
import pydantic
import structlog

from dialerd.campaigns.schema import ALIASES, INT4_MAX, CampaignSettings, record
from dialerd.compliance import caller_id_missing, country_hours
from dialerd.store import campaigns as store

log = structlog.get_logger(__name__)


class CampaignError(Exception):
    """A request the campaigns refuse; the message says why."""


class CampaignRejected(CampaignError):
    """Bad settings or a bad ID; ``fields`` has each bad setting's message by its JSON name
    ("" for what concerns several), so that a form can put it next to its field."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class CampaignNotFound(CampaignError):
    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"no campaign with ID {campaign_id}")


class CampaignConflict(CampaignError):
    """The name (or ID) is taken."""


def _validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Column -> value of valid settings, or CampaignRejected that names every bad field."""
    try:
        # Through JSON so that strict mode reads times and enums from their JSON spelling.
        settings = CampaignSettings.model_validate_json(orjson.dumps(data))
    except pydantic.ValidationError as exc:
        raise rejected(exc) from None
    refusals = compliance_refusals(settings)
    if refusals:
        raise CampaignRejected(
            "; ".join(f"{field}: {why}" for field, why in refusals.items()), refusals
        )
    return settings.model_dump()


def compliance_refusals(settings: CampaignSettings) -> dict[str, str]:
    """What the regulators' rules refuse of valid settings (docs/compliance.md), by field.
    Not in the model: a campaign stored before a rule came is still shown."""
    refusals = {}
    if caller_id_missing(settings.active, settings.dial_string, settings.caller_id):
        refusals[ALIASES["caller_id"]] = "an active campaign must send a caller ID"
    hours = country_hours(settings.default_region)
    if hours is not None and not settings.call_hours_override:
        why = hours.exceeded_by(settings.window_start, settings.window_end, settings.window_days)
        if why is not None:
            refusals[ALIASES["window_start"]] = (
                f"{why} ({hours.source}); only an admin may let the window reach outside"
                f" them ({ALIASES['call_hours_override']})"
            )
    return refusals


def rejected(exc: pydantic.ValidationError) -> CampaignRejected:
    """A validation's errors, every bad field named (campaigns and their result codes)."""
    parts = []
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
        field = str(err["loc"][0]) if err["loc"] else ""
        fields[field] = f"{fields[field]}; {err['msg']}" if field in fields else err["msg"]
    return CampaignRejected("; ".join(parts), fields)


async def create(conn: store.Conn, client_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """A new campaign from its record (``ID`` optional); the stored record."""
    data = dict(body)
    campaign_id = data.pop("ID", None)
    if campaign_id is not None and (
        not isinstance(campaign_id, int)
        or isinstance(campaign_id, bool)
        or not 1 <= campaign_id <= INT4_MAX
    ):
        raise CampaignRejected(
            f"ID: must be an integer from 1 to {INT4_MAX}",
            {"ID": f"must be an integer from 1 to {INT4_MAX}"},
        )
    values = _validate(data)
    try:
        campaign = await store.insert(conn, client_id, campaign_id, values)
    except asyncpg.UniqueViolationError:
        what = f"ID {campaign_id} or name" if campaign_id is not None else "name"
        raise CampaignConflict(f"a campaign with this {what} exists already") from None
    log.info("campaign_created", campaign_id=campaign.id, client_id=client_id, name=campaign.name)
    return record(campaign)


async def update(
    conn: store.Conn, client_id: int, campaign_id: int, patch: Mapping[str, Any]
) -> dict[str, Any]:
    """Changes the settings present in ``patch``; a setting set to null goes back to unset."""
    async with conn.transaction():
        current = await store.get(conn, client_id, campaign_id, for_update=True)
        if current is None:
            raise CampaignNotFound(campaign_id)
        merged = {k: v for k, v in record(current).items() if k in ALIASES.values()}
        values = _validate(merged | dict(patch))
        try:
            campaign = await store.update(conn, client_id, campaign_id, values)
        except asyncpg.UniqueViolationError:
            raise CampaignConflict("a campaign with this name exists already") from None
    assert campaign is not None  # locked above
    log.info("campaign_updated", campaign_id=campaign_id, client_id=client_id, fields=list(patch))
    return record(campaign)


async def show(conn: store.Conn, client_id: int, campaign_id: int) -> dict[str, Any]:
    campaign = await store.get(conn, client_id, campaign_id)
    if campaign is None:
        raise CampaignNotFound(campaign_id)
    return record(campaign)


async def list_all(conn: store.Conn, client_id: int) -> list[dict[str, Any]]:
    return [record(campaign) for campaign in await store.find(conn, client_id)]
