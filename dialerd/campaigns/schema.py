"""A campaign's settings and its JSON record, as the HTTP API and the command line speak them:
the contacts API's casing (``ID``, ``Name``, ``bActive``, ``dtCreated`` …)."""

from __future__ import annotations

import contextlib
import struct
from datetime import UTC, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
)

from dialerd.domain import Campaign, DialMode, MachineAction
from dialerd.numbers import is_region

INT4_MAX = 2**31 - 1
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (CR/LF would break AMI actions)
_ASTERISK_NAME = r"^[A-Za-z0-9_.\-]+$"
_DIAL_STRING = r"^[!-~]*\{number\}[!-~]*$"  # printable ASCII, no spaces, with the placeholder

Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_PRINTABLE)]


def _as_stored(value: Any) -> Any:
    """A number as a ``real`` column keeps it (single precision, shown to 7 digits as
    json_value does), so that the bounds are checked on what is stored: 1e-300 is 0 there,
    and 0.99999999 is 1."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # too large for it: the bounds refuse it
            return float(f"{struct.unpack('f', struct.pack('f', value))[0]:.7g}")
    return value


Real = Annotated[float, BeforeValidator(_as_stored)]


class CampaignSettings(BaseModel):
    """Every setting of a campaign; attribute names are the column names of ``campaigns``."""

    model_config = ConfigDict(strict=True, extra="forbid", use_enum_values=True)

    name: Annotated[Text, StringConstraints(min_length=1, max_length=200)] = Field(alias="Name")
    queue: Annotated[Text, StringConstraints(max_length=80, pattern=_ASTERISK_NAME)] | None = Field(
        None, alias="Queue", description="Asterisk queue that answered calls go to"
    )
    dial_string: Annotated[Text, StringConstraints(max_length=200, pattern=_DIAL_STRING)] | None = (
        Field(None, alias="DialString", description="e.g. PJSIP/{number}@dialerd-trunk")
    )
    caller_id: Annotated[Text, StringConstraints(max_length=80)] | None = Field(
        None, alias="CallerID"
    )
    dial_mode: DialMode = Field(DialMode.PROGRESSIVE, alias="DialMode")
    dial_ratio: Real = Field(1.5, gt=0, le=100, alias="DialRatio")
    max_lines_per_agent: Real = Field(3.0, ge=1, le=100, alias="MaxLinesPerAgent")
    abandon_limit: Real = Field(0.03, gt=0, lt=1, alias="AbandonLimit")
    aggressiveness: Real = Field(1.0, gt=0, le=100, alias="Aggressiveness")
    max_calls_in_flight: int | None = Field(None, gt=0, le=100_000, alias="MaxCallsInFlight")
    max_originate_rate: Real | None = Field(None, gt=0, le=10_000, alias="MaxOriginateRate")
    ring_timeout_s: int = Field(30, ge=15, le=600, alias="RingTimeoutSeconds")
    agent_timeout_s: int = Field(2, ge=1, le=10, alias="AgentTimeoutSeconds")
    wrapup_limit_s: int = Field(
        60, ge=1, le=3600, alias="WrapUpLimitSeconds", description="after-call work at most"
    )
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
    min_call_interval_h: Real = Field(12.0, ge=0, le=8760, alias="MinCallIntervalHours")
    retry_minutes: dict[str, Annotated[int, Field(ge=0, le=525_600)]] = Field(
        {}, alias="RetryMinutes", description="CONNRES (0-7) -> minutes until the next try"
    )
    callback_grace_s: int = Field(
        300,
        ge=0,
        le=86400,
        alias="CallbackGraceSeconds",
        description="an agent's own callback goes to anyone once the agent has been signed"
        " out this long past its time",
    )
    abandon_after_care: bool | None = Field(
        None,
        alias="bAbandonAfterCare",
        description="a person whose call was abandoned is not called again within 72 hours"
        " but with an agent on the line; null: on where DefaultRegion is GB",
    )
    call_hours_override: bool = Field(
        False,
        alias="bCallHoursOverride",
        description="an admin lets the window reach outside the calling hours of"
        " DefaultRegion's country and of each callee's",
    )
    active: bool = Field(True, alias="bActive")

    @field_validator("window_days")
    @classmethod
    def _days_unique(cls, days: list[int]) -> list[int]:
        if len(set(days)) != len(days):
            raise ValueError("weekdays must not repeat")
        return sorted(days)

    @field_validator("window_start", "window_end")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:  # the window is in the campaign's (or callee's) zone
            raise ValueError("must be a local time without an offset, HH:MM")
        return value

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


# column -> JSON name
ALIASES = {name: field.alias or name for name, field in CampaignSettings.model_fields.items()}


def timestamp(value: datetime) -> str:
    """A record's UTC time, to the millisecond, as the contacts API writes it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "")


def json_value(value: Any) -> Any:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return float(f"{value:.7g}")  # `real` columns: show 1.2, not 1.2000000476837158
    return value


class CampaignRecord(CampaignSettings):
    """A campaign as the API and the command line show it: its settings, ID and times."""

    id: int = Field(alias="ID")
    created: str = Field(alias="dtCreated", description="UTC, YYYY-MM-DDTHH:MM:SS.mmm")
    updated: str = Field(alias="dtUpdated", description="UTC, YYYY-MM-DDTHH:MM:SS.mmm")

    @field_serializer("window_start", "window_end")
    def _hours_minutes(self, value: time) -> str:
        return value.strftime("%H:%M")


def record(campaign: Campaign) -> dict[str, Any]:
    """The JSON record of a campaign, built through CampaignRecord."""
    out: dict[str, Any] = {"ID": campaign.id}
    out.update((alias, json_value(getattr(campaign, name))) for name, alias in ALIASES.items())
    out["dtCreated"] = timestamp(campaign.created_at)
    out["dtUpdated"] = timestamp(campaign.updated_at)
    return CampaignRecord.model_validate_json(orjson.dumps(out)).model_dump(by_alias=True)
