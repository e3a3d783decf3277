"""A campaign's abandon-rate report over HTTP (docs/compliance.md):
``GET /dialler/campaigns/{id}/abandonrate?from=&to=`` as the dialler API's records, and
``…/abandonrate.csv`` the same rows as CSV. Thin over dialerd.reports.service."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, json_response
from dialerd.api.records import Records
from dialerd.campaigns.schema import INT4_MAX, json_value
from dialerd.reports.figures import Period, ReportRejected, over_limit
from dialerd.reports.service import AbandonReport, ReportNotFound, abandon_report

_RATE = "abandoned / live answers; null without live answers"


class AbandonRateDay(BaseModel):
    """One day of a campaign (its time zone), and the 30 days ending with it."""

    CampaignID: int
    Day: str = Field(description="YYYY-MM-DD, the campaign's local day")
    LiveAnswers: int = Field(description="answered by a person (machines excluded)")
    Abandoned: int = Field(description="live answers no agent took in time")
    Rate: float | None = Field(description=_RATE)
    LiveAnswers30d: int = Field(description="the day and the 29 before it")
    Abandoned30d: int
    Rate30d: float | None
    AbandonLimit: float
    bLimitKept: bool = Field(description="the day's rate is not above the limit")
    bLimitKept30d: bool


class PacerWindow(BaseModel):
    """What the predictive pacer holds under the limit now: the 30 × 24 hours up to now."""

    Hours: int
    LiveAnswers: int
    Abandoned: int
    Rate: float | None = Field(description=_RATE)
    AbandonLimit: float
    bLimitKept: bool


class AbandonRate(Records[AbandonRateDay]):
    window: PacerWindow


COLUMNS = list(AbandonRateDay.model_fields)


def _rows(report: AbandonReport) -> list[dict[str, Any]]:
    return [
        {
            "CampaignID": d.campaign_id,
            "Day": d.day.isoformat(),
            "LiveAnswers": d.answered,
            "Abandoned": d.abandoned,
            "Rate": d.rate,
            "LiveAnswers30d": d.answered_30d,
            "Abandoned30d": d.abandoned_30d,
            "Rate30d": d.rate_30d,
            "AbandonLimit": json_value(d.abandon_limit),
            "bLimitKept": not over_limit(d.rate, d.abandon_limit),
            "bLimitKept30d": not over_limit(d.rate_30d, d.abandon_limit),
        }
        for d in report.days
    ]


async def _report(request: web.Request) -> AbandonReport:
    campaign_id = int(request.match_info["id"])  # the route admits digits only
    try:
        if campaign_id > INT4_MAX:
            raise ReportNotFound(campaign_id)
        first, last = request.query.get("from"), request.query.get("to")
        if first is None or last is None:
            raise ReportRejected("from and to are needed (YYYY-MM-DD, both included)")
        period = Period.parse(first, last)
        async with request.app[POOL].acquire() as conn:
            return await abandon_report(conn, request[CLIENT_ID], campaign_id, period)
    except ReportNotFound as exc:
        raise ApiError(404, str(exc)) from None
    except ReportRejected as exc:
        raise ApiError(400, str(exc)) from None


async def _json(request: web.Request) -> web.Response:
    report = await _report(request)
    w = report.window
    window = {
        "Hours": 720,
        "LiveAnswers": w.answered,
        "Abandoned": w.abandoned,
        "Rate": w.rate,
        "AbandonLimit": json_value(w.abandon_limit),
        "bLimitKept": not over_limit(w.rate, w.abandon_limit),
    }
    return json_response(AbandonRate.of(_rows(report), window=window))


async def _csv(request: web.Request) -> web.Response:
    report = await _report(request)
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_rows(report))
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="abandonrate.csv"'},
    )


routes = [
    web.get(r"/dialler/campaigns/{id:\d+}/abandonrate", _json),
    web.get(r"/dialler/campaigns/{id:\d+}/abandonrate.csv", _csv),
]
