"""Import from Excel: upload a file into a campaign, pick the sheet, map its columns (the guess
or what the campaign remembers), see the preview, start; follow the progress (it is the job's
row in Postgres, so a reload or another dialerd shows it), read the result, download the
refused rows. All of it is dialerd.imports; this module is HTTP only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from aiohttp import web

from dialerd.campaigns import service as campaigns
from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION, SETTINGS
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, page
from dialerd.console.upload import read_upload
from dialerd.domain import Role
from dialerd.imports import service
from dialerd.imports.jobs import ImportJobs
from dialerd.store.imports import Settings, Uploader

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Imports", "imports", Role.SUPERVISOR)
JOBS = web.AppKey("console_import_jobs", ImportJobs)
_INT4_MAX = 2**31 - 1
_MAX_COLUMNS = 16384  # Excel's widest sheet


async def import_jobs(app: web.Application) -> AsyncIterator[None]:
    """Runs the import worker for as long as the console runs (app.cleanup_ctx)."""
    jobs = ImportJobs(app[POOL])
    app[JOBS] = jobs
    async with jobs.running():
        yield


def _uploader(request: web.Request) -> Uploader:
    user = request[SESSION].user
    return Uploader(user.id, user.login)


def _id(request: web.Request) -> int:
    raw = request.match_info["import_id"]
    if not raw.isdigit() or int(raw) > _INT4_MAX:
        raise web.HTTPNotFound(text=f"No import {raw}")
    return int(raw)


async def _list(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    client_id = request[SESSION].user.client_id
    async with request.app[POOL].acquire() as conn:
        jobs = await service.latest(conn, client_id)
        choices = await campaigns.list_all(conn, client_id)
    names = {c["ID"]: c["Name"] for c in choices}
    context = {"jobs": jobs, "campaigns": choices, "names": names, "error": error}
    context["max_mb"] = request.app[SETTINGS].import_max_bytes / 1e6
    return page(request, "imports/list.html", context, status=status)


@routes.get("/imports", name="imports")
@requires(Role.SUPERVISOR)
async def import_list(request: web.Request) -> web.StreamResponse:
    return await _list(request)


@routes.post("/imports", name="import_upload")
@requires(Role.SUPERVISOR)
async def upload(request: web.Request) -> web.StreamResponse:
    """The upload (multipart, sent by htmx with the CSRF header); on to the sheet's page."""
    max_bytes = request.app[SETTINGS].import_max_bytes
    with service.scratch() as folder:
        path = folder / "upload"
        sent = await read_upload(request, max_bytes, path)
        raw = sent.fields.get("campaign", "")
        campaign_id = int(raw) if raw.isdigit() and int(raw) <= _INT4_MAX else None
        name, size = sent.name, sent.size
        if campaign_id is None:
            return await _list(request, "Choose the campaign to import into.", 400)
        if not name:
            return await _list(request, "Choose a file to upload.", 400)
        try:
            async with request.app[POOL].acquire() as conn:
                import_id = await service.upload(
                    conn,
                    request[SESSION].user.client_id,
                    campaign_id,
                    _uploader(request),
                    name,
                    path,
                    max_bytes,
                )
        except service.Refused as exc:
            return await _list(request, f"{name}: {exc}", 400)
    await audit(
        request,
        "import.upload",
        f"import {import_id}",
        {"campaign": campaign_id, "file": name, "bytes": size},
    )
    target = str(request.app.router["import_show"].url_for(import_id=str(import_id)))
    return web.Response(status=204, headers={"HX-Redirect": target})


def _posted(values: Any) -> list[str] | None:
    """The mapping a form sent (map.0 … map.<width - 1>), None if it sent none."""
    raw = str(values.get("width", ""))
    if "map.0" not in values or not raw.isdigit() or int(raw) > _MAX_COLUMNS:
        return None
    return [str(values.get(f"map.{c}", "")) for c in range(int(raw))]


async def _sheet_page(
    request: web.Request, import_id: int, values: Any, error: str = "", status: int = 200
) -> web.Response:
    client_id = request[SESSION].user.client_id
    sheet_name = str(values.get("sheet", "")) or None
    same_sheet = values.get("mapped_sheet") == sheet_name
    async with request.app[POOL].acquire() as conn:
        job = await service.get(conn, client_id, import_id)
        if job is None:
            raise web.HTTPNotFound(text=f"No import {import_id}")
        if job.status != "uploaded":
            return _job_page(request, job)
        campaign = await campaigns.show(conn, client_id, job.campaign_id)
        columns = _posted(values) if same_sheet else None
        try:
            sheet = await service.look(conn, client_id, import_id, sheet_name, columns)
        except service.Refused as exc:
            context = {"job": job, "campaign": campaign, "message": str(exc)}
            return page(request, "imports/unreadable.html", context, status=400)
    options = {
        "system": str(values.get("system", "")) or (sheet.systems[0] if sheet.systems else ""),
        "attempts": values.get("attempts", campaign["MaxAttempts"]),
        "interval": values.get("interval", round(campaign["MinCallIntervalHours"])),
    }
    context = {
        "job": job,
        "campaign": campaign,
        "sheet": sheet,
        "options": options,
        "error": error,
    }
    return page(request, "imports/sheet.html", context, status=status)


def _job_page(request: web.Request, job: Any) -> web.Response:
    return page(request, "imports/job.html", {"job": job, "progress": service.progress(job)})


@routes.get("/imports/{import_id}", name="import_show")
@requires(Role.SUPERVISOR)
async def show(request: web.Request) -> web.StreamResponse:
    return await _sheet_page(request, _id(request), request.query)


@routes.post("/imports/{import_id}/start", name="import_start")
@requires(Role.SUPERVISOR)
async def start(request: web.Request) -> web.StreamResponse:
    import_id = _id(request)
    form = await request.post()
    sheet = str(form.get("sheet", ""))
    chosen = Settings(
        sheet=sheet,
        mapping=_posted(form) or [],
        system_code=str(form.get("system", "")),
        max_attempts=_int(form.get("attempts")),
        min_call_interval_h=_int(form.get("interval")),
    )
    try:
        async with request.app[POOL].acquire() as conn:
            await service.start(
                conn, request[SESSION].user.client_id, import_id, chosen, _uploader(request)
            )
    except service.Refused as exc:
        return await _sheet_page(request, import_id, form, str(exc), 400)
    request.app[JOBS].wake()
    await audit(
        request,
        "import.start",
        f"import {import_id}",
        {
            "sheet": sheet,
            "mapping": chosen.mapping,
            "system": chosen.system_code,
            "max_attempts": chosen.max_attempts,
            "min_call_interval_h": chosen.min_call_interval_h,
        },
    )
    target = str(request.app.router["import_show"].url_for(import_id=str(import_id)))
    if request.headers.get("HX-Request"):
        return web.Response(status=204, headers={"HX-Redirect": target})
    raise web.HTTPSeeOther(target)


def _int(raw: Any) -> int:
    """A whole number from a form; -1 for anything else, which the calltask checks refuse."""
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and int(text) <= _INT4_MAX else -1


@routes.get("/imports/{import_id}/progress", name="import_progress")
@requires(Role.SUPERVISOR)
async def progress(request: web.Request) -> web.StreamResponse:
    """The progress fragment htmx polls; once the import has ended, the whole result."""
    import_id = _id(request)
    async with request.app[POOL].acquire() as conn:
        job = await service.get(conn, request[SESSION].user.client_id, import_id)
    if job is None:
        raise web.HTTPNotFound(text=f"No import {import_id}")
    context = {"job": job, "progress": service.progress(job)}
    return page(request, "imports/_progress.html", context)


def _utf8_name(name: str) -> str:
    """RFC 6266's filename* for a name that is not plain ASCII."""
    return f"filename*=UTF-8''{quote(name)}"


@routes.get("/imports/{import_id}/refused.xlsx", name="import_refused")
@requires(Role.SUPERVISOR)
async def refused(request: web.Request) -> web.StreamResponse:
    import_id = _id(request)
    try:
        async with request.app[POOL].acquire() as conn:
            name, data = await service.refused_rows_file(
                conn, request[SESSION].user.client_id, import_id
            )
    except service.Refused as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    await audit(request, "import.refused_download", f"import {import_id}", {"file": name})
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return web.Response(
        body=data,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{plain}"; {_utf8_name(name)}'},
    )
