"""Admin pages for what integrations need: calling systems (the calltask API's systemCode), info
fields (its emprId) and the client's API tokens (a new token is shown once, then only its id).

Calling systems and info fields are shared by every client of the installation, as the calltask
API's lookups are; tokens belong to the admin's client.
"""

from __future__ import annotations

import re

from aiohttp import web

from dialerd.calltasks.validate import MAX_KEY_LENGTH
from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION
from dialerd.console.guard import requires
from dialerd.console.render import page
from dialerd.domain import Role
from dialerd.store import admin as store
from dialerd.users import tokens

routes = web.RouteTableDef()
_CODE = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")  # printable, no spaces
_INT4_MAX = 2**31 - 1


async def _page(
    request: web.Request,
    *,
    error: str | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> web.Response:
    pool = request.app[POOL]
    return page(
        request,
        "admin/setup.html",
        {
            "systems": await store.calling_systems(pool),
            "fields": await store.info_fields(pool),
            "tokens": await tokens.tokens_of_client(pool, request[SESSION].user.client_id),
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
    token = await tokens.create_token(request.app[POOL], client_id)
    await audit(request, "token.create", f"API token of client {client_id}")
    return await _page(request, new_token=token)


@routes.post("/admin/setup/tokens/{token_id:[0-9]{1,18}}/revoke", name="token_revoke")
@requires(Role.ADMIN)
async def token_revoke(request: web.Request) -> web.StreamResponse:
    token_id = int(request.match_info["token_id"])
    if not await tokens.revoke_token(request.app[POOL], request[SESSION].user.client_id, token_id):
        raise web.HTTPNotFound(text=f"No live API token {token_id} of your client")
    await audit(request, "token.revoke", f"API token {token_id}")
    raise _back(request)
