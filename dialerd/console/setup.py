"""Admin pages for what integrations need: calling systems (the calltask API's systemCode) and
their CRM links (the workspace's screen pop), info fields (its emprId), the client's API tokens
(a new token is shown once, then only its id, name, expiry and last use) and the client's pause
reasons (the workspace).

Calling systems (with their CRM links) and info fields are shared by every client of the
installation, as the calltask API's lookups are: every admin reads them (its integrations name
them), only an installation admin changes them. Tokens and pause reasons belong to the admin's
client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp import web

from dialerd.calltasks.validate import MAX_KEY_LENGTH
from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION
from dialerd.console.guard import installation_wide, requires
from dialerd.console.render import page
from dialerd.domain import AFTER_CALL_REASON, PREVIEW_REASON, Role
from dialerd.store import admin as store
from dialerd.store import agents as agent_store
from dialerd.users import tokens
from dialerd.workspace.crm import PLACEHOLDERS, template_error

routes = web.RouteTableDef()
_CODE = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")  # printable, no spaces
_INT4_MAX = 2**31 - 1
MAX_REASON_LENGTH = 80


async def _page(
    request: web.Request,
    *,
    error: str | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> web.Response:
    pool = request.app[POOL]
    client_id = request[SESSION].user.client_id
    return page(
        request,
        "admin/setup.html",
        {
            "systems": await store.calling_systems(pool),
            "fields": await store.info_fields(pool),
            "tokens": await tokens.tokens_of_client(pool, client_id),
            "token_name_max": tokens.MAX_NAME_LENGTH,
            "reasons": await agent_store.pause_reasons(pool, client_id),
            "placeholders": PLACEHOLDERS,
            "error": error,
            "new_token": new_token,
        },
        status=status,
    )


def _back(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(str(request.app.router["setup"].url_for()))


@routes.get("/admin/setup", name="setup")
@requires(Role.ADMIN)
async def setup_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/admin/setup/systems", name="system_add")
@requires(Role.ADMIN)
@installation_wide
async def system_add(request: web.Request) -> web.StreamResponse:
    code = str((await request.post()).get("code", "")).strip()
    if not _CODE.fullmatch(code):
        return await _page(
            request,
            error=f"A systemCode is 1 to {MAX_KEY_LENGTH} printable characters without spaces",
            status=400,
        )
    await store.add_calling_system(request.app[POOL], code)
    await audit(request, "system.add", f"calling system {code}")
    raise _back(request)


@routes.post("/admin/setup/fields", name="field_define")
@requires(Role.ADMIN)
@installation_wide
async def field_define(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw_id, name = str(form.get("id", "")).strip(), str(form.get("name", "")).strip()
    if not raw_id.isdigit() or not 1 <= int(raw_id) <= _INT4_MAX:
        return await _page(
            request, error="An info field's emprId is a positive whole number", status=400
        )
    if not name or len(name) > 200:
        return await _page(
            request, error="An info field needs a name (200 characters at most)", status=400
        )
    await store.define_info_field(request.app[POOL], int(raw_id), name)
    await audit(request, "infofield.define", f"info field {raw_id}", {"name": name})
    raise _back(request)


@routes.post("/admin/setup/tokens", name="token_create")
@requires(Role.ADMIN)
async def token_create(request: web.Request) -> web.StreamResponse:
    client_id = request[SESSION].user.client_id
    posted = await request.post()
    name, days = str(posted.get("name", "")), str(posted.get("days", "")).strip()
    try:
        expires = tokens.parse_expiry(f"{days}d", datetime.now(UTC)) if days else None
        token = await tokens.create_token(request.app[POOL], client_id, name, expires)
    except tokens.TokenError as exc:
        return await _page(request, error=str(exc), status=400)
    detail = {"name": name.strip(), "expires": expires.isoformat() if expires else None}
    await audit(request, "token.create", f"API token of client {client_id}", detail)
    return await _page(request, new_token=token)


@routes.post("/admin/setup/tokens/{token_id:[0-9]{1,18}}/revoke", name="token_revoke")
@requires(Role.ADMIN)
async def token_revoke(request: web.Request) -> web.StreamResponse:
    token_id = int(request.match_info["token_id"])
    if not await tokens.revoke_token(request.app[POOL], request[SESSION].user.client_id, token_id):
        raise web.HTTPNotFound(text=f"No live API token {token_id} of your client")
    await audit(request, "token.revoke", f"API token {token_id}")
    raise _back(request)


@routes.post("/admin/setup/systems/{code}/crm", name="system_crm")
@requires(Role.ADMIN)
@installation_wide
async def system_crm(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    template = str((await request.post()).get("template", "")).strip()
    error = template_error(template) if template else None
    if error is not None:
        return await _page(request, error=error, status=400)
    if not await store.set_crm_url_template(request.app[POOL], code, template or None):
        raise web.HTTPNotFound(text=f"No calling system {code}")
    await audit(request, "system.crm", f"calling system {code}", {"template": template})
    raise _back(request)


@routes.post("/admin/setup/reasons", name="reason_add")
@requires(Role.ADMIN)
async def reason_add(request: web.Request) -> web.StreamResponse:
    reason = str((await request.post()).get("reason", "")).strip()
    if not reason or len(reason) > MAX_REASON_LENGTH or not reason.isprintable():
        return await _page(
            request,
            error=f"A pause reason is 1 to {MAX_REASON_LENGTH} printable characters",
            status=400,
        )
    own = {AFTER_CALL_REASON: "after a call", PREVIEW_REASON: "while a contact is offered"}
    if reason.lower() in own:
        return await _page(
            request,
            error=f"{reason.lower()!r} is the workspace's own, {own[reason.lower()]}",
            status=400,
        )
    client_id = request[SESSION].user.client_id
    await agent_store.add_pause_reason(request.app[POOL], client_id, reason)
    await audit(request, "pause_reason.add", f"pause reason {reason}")
    raise _back(request)


@routes.post("/admin/setup/reasons/delete", name="reason_delete")
@requires(Role.ADMIN)
async def reason_delete(request: web.Request) -> web.StreamResponse:
    reason = str((await request.post()).get("reason", ""))
    client_id = request[SESSION].user.client_id
    if not await agent_store.delete_pause_reason(request.app[POOL], client_id, reason):
        raise web.HTTPNotFound(text=f"No pause reason {reason!r}")
    await audit(request, "pause_reason.delete", f"pause reason {reason}")
    raise _back(request)
