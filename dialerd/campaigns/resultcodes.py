"""A campaign's result codes (docs/result-codes.md): their settings and JSON record, and the
list, create, change and delete that the campaigns API and the console's campaign screen share,
with the campaigns' errors (CampaignRejected names each bad field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import orjson
import pydantic
import structlog
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from dialerd.campaigns.schema import Text, timestamp
from dialerd.campaigns.service import CampaignConflict, CampaignError, CampaignNotFound, rejected
from dialerd.domain import ResultCode, ResultCodeType
from dialerd.store import campaigns, resultcodes

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)


class ResultCodeNotFound(CampaignError):
    def __init__(self, campaign_id: int, code_id: int) -> None:
        super().__init__(f"campaign {campaign_id} has no result code with ID {code_id}")


class ResultCodeSettings(BaseModel):
    """What can be set of a result code; attribute names are the columns."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: Annotated[Text, StringConstraints(min_length=1, max_length=100)] = Field(alias="Name")
    type_id: ResultCodeType = Field(alias="DiallerResultCodesTypesID")
    retry_minutes: int | None = Field(None, ge=1, le=525_600, alias="RetryMinutes")
    position: int = Field(0, ge=0, le=10_000, alias="Position")
    active: bool = Field(True, alias="bActive")

    @field_validator("retry_minutes")
    @classmethod
    def _minutes_for_retry(cls, minutes: int | None, info: ValidationInfo) -> int | None:
        retry = info.data.get("type_id") is ResultCodeType.RETRY
        if retry and minutes is None:
            raise ValueError("a retry code needs its minutes")
        if minutes is not None and not retry and "type_id" in info.data:
            raise ValueError("only a retry code (type 3) has minutes")
        return minutes


ALIASES = {name: field.alias or name for name, field in ResultCodeSettings.model_fields.items()}


class ResultCodeRecord(BaseModel):
    """A result code as the API shows it."""

    ID: int
    DiallerCampaignsID: int
    Name: str
    DiallerResultCodesTypesID: ResultCodeType
    RetryMinutes: int | None
    Position: int
    bActive: bool
    dtCreated: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.mmm")
    dtUpdated: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.mmm")


def record(code: ResultCode) -> dict[str, Any]:
    """The JSON record of a result code, built through ResultCodeRecord."""
    return ResultCodeRecord(
        ID=code.id,
        DiallerCampaignsID=code.campaign_id,
        Name=code.name,
        DiallerResultCodesTypesID=code.type,
        RetryMinutes=code.retry_minutes,
        Position=code.position,
        bActive=code.active,
        dtCreated=timestamp(code.created_at),
        dtUpdated=timestamp(code.updated_at),
    ).model_dump(mode="json")


def _validate(data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        # RetryMinutes always sent, so that its check runs (and names it) when it is missing.
        sent = {"RetryMinutes": None} | dict(data)
        settings = ResultCodeSettings.model_validate_json(orjson.dumps(sent))
    except pydantic.ValidationError as exc:
        raise rejected(exc) from None
    values = settings.model_dump()
    values["type_id"] = int(values["type_id"])
    return values


def _taken(name: str) -> CampaignConflict:
    return CampaignConflict(f"the campaign has a result code named {name!r} already")


async def _campaign(conn: Conn, client_id: int, campaign_id: int) -> None:
    """Raises CampaignNotFound unless the campaign is the client's."""
    if await campaigns.get(conn, client_id, campaign_id) is None:
        raise CampaignNotFound(campaign_id)


async def list_codes(conn: Conn, client_id: int, campaign_id: int) -> list[dict[str, Any]]:
    await _campaign(conn, client_id, campaign_id)
    return [record(c) for c in await resultcodes.codes(conn, campaign_id)]


async def copy_codes(conn: Conn, client_id: int, from_id: int, to_id: int) -> int:
    """Gives campaign ``to_id`` a copy of every result code of ``from_id`` (a copied campaign
    records results as its source does); how many. Both must be the client's."""
    await _campaign(conn, client_id, from_id)
    await _campaign(conn, client_id, to_id)
    return await resultcodes.copy(conn, from_id, to_id)


async def create_code(
    conn: Conn, client_id: int, campaign_id: int, body: Mapping[str, Any]
) -> dict[str, Any]:
    await _campaign(conn, client_id, campaign_id)
    values = _validate(body)
    try:
        code = await resultcodes.insert(conn, campaign_id, values)
    except asyncpg.UniqueViolationError:
        raise _taken(values["name"]) from None
    log.info("result_code_created", campaign_id=campaign_id, code_id=code.id, name=code.name)
    return record(code)


async def update_code(
    conn: Conn, client_id: int, campaign_id: int, code_id: int, patch: Mapping[str, Any]
) -> dict[str, Any]:
    """Changes the settings present in ``patch``; history keeps the type each attempt's
    result had when it was recorded."""
    async with conn.transaction():
        await _campaign(conn, client_id, campaign_id)
        current = await resultcodes.code(conn, client_id, code_id)
        if current is None or current.campaign_id != campaign_id:
            raise ResultCodeNotFound(campaign_id, code_id)
        merged = {k: v for k, v in record(current).items() if k in ALIASES.values()}
        if "DiallerResultCodesTypesID" in patch and "RetryMinutes" not in patch:
            merged["RetryMinutes"] = None  # a new type: its minutes, if any, are in the patch
        values = _validate(merged | dict(patch))
        try:
            code = await resultcodes.update(conn, campaign_id, code_id, values)
        except asyncpg.UniqueViolationError:
            raise _taken(values["name"]) from None
    if code is None:  # deleted meanwhile
        raise ResultCodeNotFound(campaign_id, code_id)
    log.info("result_code_updated", campaign_id=campaign_id, code_id=code_id, fields=list(patch))
    return record(code)


async def delete_code(conn: Conn, client_id: int, campaign_id: int, code_id: int) -> str:
    """Deletes a result code never recorded for an attempt; its name."""
    async with conn.transaction():
        await _campaign(conn, client_id, campaign_id)
        current = await resultcodes.code(conn, client_id, code_id)
        if current is None or current.campaign_id != campaign_id:
            raise ResultCodeNotFound(campaign_id, code_id)
        try:
            await resultcodes.delete(conn, campaign_id, code_id)
        except asyncpg.ForeignKeyViolationError:
            raise CampaignConflict(
                f"result code {code_id} was recorded for attempts: history keeps it; "
                "set bActive to false instead"
            ) from None
    log.info("result_code_deleted", campaign_id=campaign_id, code_id=code_id)
    return current.name
