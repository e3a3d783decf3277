"""The do-not-call lists' screen (docs/compliance.md): the client's list for supervisors and
admins; the installation's (every client's calls obey it) read by admins and changed by
installation admins only, as the calling systems are; a list's numbers searched by their
start, paged; numbers added (several at once) and removed; a file (CSV, Excel) uploaded and
loaded whole or not at all. All of it is dialerd.dnc; this module is HTTP only. Every change
is in the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from yarl import URL

from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION, SETTINGS
from dialerd.console.guard import refuse_unless_installation_admin, requires
from dialerd.console.render import MenuItem, page
from dialerd.console.upload import read_upload
from dialerd.dnc import service
from dialerd.dnc.service import DncRejected
from dialerd.domain import Role
from dialerd.imports.service import scratch

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Do not call", "dnc", Role.SUPERVISOR)
PAGE = 50
INSTALLATION = "installation"


def _list_of(request: web.Request, value: Any, *, change: bool) -> tuple[str, int | None]:
    """The list a request is about: ("client", its client's id) or ("installation", None),
    the latter read by admins and changed (``change``) by installation admins only."""
    user = request[SESSION].user
    if str(value or "") != INSTALLATION:
        return "client", user.client_id
    if not user.role.may(Role.ADMIN):
        raise web.HTTPForbidden(text="Only an admin may read the installation's list")
    if change:
        refuse_unless_installation_admin(request)
    return INSTALLATION, None


def _where(scope: str, client_id: int | None) -> str:
    return (
        "the installation's do-not-call list"
        if client_id is None
        else (f"client {client_id}'s do-not-call list")
    )


async def _page(
    request: web.Request,
    values: Any,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> web.Response:
    scope, client_id = _list_of(request, values.get("list"), change=False)
    search = str(values.get("q", "")).strip()
    raw_page = str(values.get("page", "1"))
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10**6 else 1
    try:
        async with request.app[POOL].acquire() as conn:
            entries, total = await service.page(conn, client_id, search, (number - 1) * PAGE, PAGE)
    except DncRejected as exc:
        entries, total, error, status = [], 0, str(exc), 400
    pages = max(1, -(-total // PAGE))
    base = URL(str(request.app.router["dnc"].url_for()))
    query = {"list": scope} if scope == INSTALLATION else {}
    if search:
        query["q"] = search
    context = {
        "scope": scope,
        "entries": entries,
        "total": total,
        "search": search,
        "page": number,
        "pages": pages,
        "prev": str(base.with_query({**query, "page": number - 1})) if number > 1 else "",
        "next": str(base.with_query({**query, "page": number + 1})) if number < pages else "",
        "notice": notice,
        "error": error,
        "max_mb": request.app[SETTINGS].import_max_bytes / 1e6,
    }
    return page(request, "dnc/list.html", context, status=status)


@routes.get("/dnc", name="dnc")
@requires(Role.SUPERVISOR)
async def dnc_list(request: web.Request) -> web.StreamResponse:
    return await _page(request, request.query)


@routes.post("/dnc/add", name="dnc_add")
@requires(Role.SUPERVISOR)
async def dnc_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    scope, client_id = _list_of(request, form.get("list"), change=True)
    raw = str(form.get("numbers", "")).replace(",", "\n").splitlines()
    numbers = [n for n in (r.strip() for r in raw) if n]
    region = str(form.get("region", "")).strip() or None
    try:
        async with request.app[POOL].acquire() as conn:
            entries, added = await service.add(conn, client_id, numbers, region, "console")
    except DncRejected as exc:
        return await _page(request, form, error=str(exc), status=400)
    await audit(
        request, "dnc.add", _where(scope, client_id), {"numbers": [e.number for e in entries]}
    )
    notice = f"{added} added to the list, {len(entries) - added} already on it."
    return await _page(request, {"list": scope}, notice=notice)


@routes.post("/dnc/remove", name="dnc_remove")
@requires(Role.SUPERVISOR)
async def dnc_remove(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    scope, client_id = _list_of(request, form.get("list"), change=True)
    number = str(form.get("number", ""))
    try:
        async with request.app[POOL].acquire() as conn:
            removed = await service.remove(conn, client_id, [number], None)
    except DncRejected as exc:
        return await _page(request, form, error=str(exc), status=400)
    if not removed:
        raise web.HTTPNotFound(text=f"{number} is not on {_where(scope, client_id)}")
    await audit(request, "dnc.remove", _where(scope, client_id), {"number": number})
    return await _page(request, form, notice=f"{number} was taken off the list.")


@routes.post("/dnc/upload", name="dnc_upload")
@requires(Role.SUPERVISOR)
async def dnc_upload(request: web.Request) -> web.StreamResponse:
    """A file's numbers put on the list (multipart, sent by htmx with the CSRF header)."""
    max_bytes = request.app[SETTINGS].import_max_bytes
    with scratch() as folder:
        path = folder / "upload"
        sent = await read_upload(request, max_bytes, path)
        fields, name = sent.fields, sent.name
        scope, client_id = _list_of(request, fields.get("list"), change=True)
        if not name:
            return await _page(request, fields, error="Choose a file to upload.", status=400)
        try:
            numbers = await asyncio.to_thread(
                service.read_file, path, fields.get("region") or None, max_bytes
            )
            async with request.app[POOL].acquire() as conn:
                loaded = await service.load_file(conn, client_id, numbers, name)
        except DncRejected as exc:
            return await _page(request, fields, error=f"{name}: {exc}", status=400)
    await audit(
        request,
        "dnc.load",
        _where(scope, client_id),
        {"file": name, "rows": loaded.rows, "added": loaded.added},
    )
    notice = (
        f"{name}: {loaded.rows} numbers read, {loaded.added} added to the list, "
        f"{loaded.rows - loaded.added} already on it (or twice in the file)."
    )
    return await _page(request, {"list": scope}, notice=notice)
