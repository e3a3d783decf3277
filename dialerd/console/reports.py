"""Reports: the abandon rate per campaign and day and over 30 days against the limit, the
outcomes by CONNRES and cause, the agents; the attempt history of the range as CSV or .xlsx.
Read-only: every role may see them (docs/reports.md says what each figure counts)."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, timedelta
from pathlib import Path

from aiohttp import web

from dialerd.campaigns import service as campaigns
from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, page
from dialerd.domain import Role
from dialerd.reports import export, service
from dialerd.reports.figures import Period, ReportRejected, over_limit

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Reports", "reports", Role.VIEWER)
DEFAULT_DAYS = 7
CHUNK = 1 << 16


def duration(seconds: float) -> str:
    """``3725.4`` → ``1:02:05`` (hours:minutes:seconds)."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _form_of(request: web.Request) -> dict[str, str]:
    """The form's values as sent; the last week and all campaigns by default."""
    today = date.today()
    return {
        "from": request.query.get("from", str(today - timedelta(days=DEFAULT_DAYS - 1))),
        "to": request.query.get("to", str(today)),
        "campaign": request.query.get("campaign", "").strip(),
    }


def _parse(form: dict[str, str]) -> tuple[Period, int | None]:
    """The period and the campaign (None: all); ReportRejected says what is wrong."""
    period = Period.parse(form["from"], form["to"])
    if not form["campaign"]:
        return period, None
    if not form["campaign"].isdigit():
        raise ReportRejected(f"campaign: not a campaign ID: {form['campaign'][:40]!r}")
    return period, int(form["campaign"])


def _field_of(exc: ReportRejected) -> str:
    """The form field an error concerns, to show it next to it ("" for the range)."""
    if isinstance(exc, service.ReportNotFound):
        return "campaign"
    field = str(exc).partition(":")[0]
    return field if field in ("from", "to", "campaign") else ""


@routes.get("/reports", name="reports")
@requires(Role.VIEWER)
async def report_page(request: web.Request) -> web.StreamResponse:
    client_id = request[SESSION].user.client_id
    form = _form_of(request)
    report, error, error_field, status = None, "", "", 200
    async with request.app[POOL].acquire() as conn:
        campaign_list = await campaigns.list_all(conn, client_id)
        try:
            period, campaign_id = _parse(form)
            report = await service.report(conn, client_id, campaign_id, period)
        except ReportRejected as exc:
            error, error_field = str(exc), _field_of(exc)
            # a campaign of another client's is answered as a missing one: not found
            status = 404 if isinstance(exc, service.ReportNotFound) else 400
    return page(
        request,
        "reports/report.html",
        {
            "form": form,
            "campaigns": campaign_list,
            "report": report,
            "error": error,
            "error_field": error_field,
            "over_limit": over_limit,
            "duration": duration,
        },
        status=status,
    )


def _filename(period: Period, campaign_id: int | None, suffix: str) -> str:
    which = f"campaign-{campaign_id}-" if campaign_id is not None else ""
    return f"attempts-{which}{period.first}-to-{period.last}.{suffix}"


def _download(request: web.Request) -> tuple[Period, int | None]:
    try:
        return _parse(_form_of(request))
    except ReportRejected as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


async def _audit(request: web.Request, period: Period, campaign_id: int | None, kind: str) -> None:
    """An export hands out the contacts' numbers: who took which is in the audit log."""
    target = f"campaign {campaign_id}" if campaign_id is not None else "all campaigns"
    detail = {"from": str(period.first), "to": str(period.last), "format": kind}
    await audit(request, "report.export", target, detail)


def _attachment(name: str, content_type: str) -> web.StreamResponse:
    return web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        }
    )


@routes.get("/reports/attempts.csv", name="report_csv")
@requires(Role.VIEWER)
async def attempts_csv(request: web.Request) -> web.StreamResponse:
    period, campaign_id = _download(request)
    client_id = request[SESSION].user.client_id
    try:
        async with service.attempts(request.app[POOL], client_id, campaign_id, period) as rows:
            await _audit(request, period, campaign_id, "csv")
            resp = _attachment(_filename(period, campaign_id, "csv"), "text/csv; charset=utf-8")
            await resp.prepare(request)
            async for chunk in export.csv_chunks(rows):
                await resp.write(chunk)
    except ReportRejected as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    await resp.write_eof()
    return resp


@routes.get("/reports/attempts.xlsx", name="report_xlsx")
@requires(Role.VIEWER)
async def attempts_xlsx(request: web.Request) -> web.StreamResponse:
    period, campaign_id = _download(request)
    client_id = request[SESSION].user.client_id
    with tempfile.TemporaryDirectory(prefix="dialerd-export-") as tmp:
        path = Path(tmp) / "attempts.xlsx"
        try:
            async with service.attempts(request.app[POOL], client_id, campaign_id, period) as rows:
                await _audit(request, period, campaign_id, "xlsx")
                await export.write_xlsx(rows, path)
        except ReportRejected as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        resp = _attachment(
            _filename(period, campaign_id, "xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        resp.content_length = path.stat().st_size
        await resp.prepare(request)
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                await resp.write(chunk)
    await resp.write_eof()
    return resp
