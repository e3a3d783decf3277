"""Admin pages: the client's users (add, disable, enable, new password; an agent's phone and
campaigns) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, page
from dialerd.domain import Role
from dialerd.store import campaigns as campaign_store
from dialerd.users import service as users

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Admin", "users", Role.ADMIN, section="/console/admin/")
AUDIT_PAGE = 100


async def _users_page(
    request: web.Request,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool, client_id = request.app[POOL], request[SESSION].user.client_id
    found = await users.users_of_client(pool, client_id)
    async with pool.acquire() as conn:
        campaigns = await campaign_store.find(conn, client_id)
    blank = {"login": "", "name": "", "role": Role.SUPERVISOR.value, "phone": "", "endpoint": ""}
    return page(
        request,
        "admin/users.html",
        {
            "users": found,
            "roles": [r.value for r in Role],
            "error": error,
            "form": form or blank,
            "form_campaigns": (form or {}).get("campaigns", "").split(","),
            "campaigns": campaigns,
            "agent_campaigns": await users.agent_campaigns(pool, client_id),
        },
        status=status,
    )


def _campaign_ids(posted: MultiDictProxy[Any]) -> list[int]:
    return [int(v) for v in posted.getall("campaign", []) if isinstance(v, str) and v.isdigit()]


@routes.get("/admin/users", name="users")
@requires(Role.ADMIN)
async def user_list(request: web.Request) -> web.StreamResponse:
    return await _users_page(request)


@routes.post("/admin/users", name="user_add")
@requires(Role.ADMIN)
async def user_add(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = {k: str(posted.get(k, "")) for k in ("login", "name", "role", "phone", "endpoint")}
    campaign_ids = _campaign_ids(posted)
    form["campaigns"] = ",".join(str(i) for i in campaign_ids)
    try:
        role = Role(form["role"])
        added = await users.add_user(
            request.app[POOL],
            request[SESSION].user.client_id,
            form["login"],
            str(posted.get("password", "")),
            role,
            form["name"],
            form["phone"] or None,
            endpoint=form["endpoint"] or None,
            campaign_ids=campaign_ids,
        )
    except ValueError:
        return await _users_page(request, f"Unknown role {form['role']!r}", form, 400)
    except users.UserError as exc:
        return await _users_page(request, str(exc), form, 400)
    detail: dict[str, object] = {"role": role.value}
    if added.endpoint:
        detail |= {"endpoint": added.endpoint, "campaigns": campaign_ids}
    await audit(request, "user.add", f"user {added.login}", detail)
    raise web.HTTPSeeOther(str(request.app.router["users"].url_for()))


@routes.post("/admin/users/{login}/{action:disable|enable|password|campaigns}", name="user_action")
@requires(Role.ADMIN)
async def user_action(request: web.Request) -> web.StreamResponse:
    login, action = request.match_info["login"], request.match_info["action"]
    me = request[SESSION].user
    pool = request.app[POOL]
    detail: dict[str, object] = {}
    try:
        if action == "password":
            password = str((await request.post()).get("password", ""))
            await users.change_password(pool, login, password, me.client_id)
        elif action == "campaigns":
            campaign_ids = _campaign_ids(await request.post())
            detail["campaigns"] = campaign_ids
            await users.set_agent_campaigns(pool, me.client_id, login, campaign_ids)
        else:
            if login.lower() == me.login.lower() and action == "disable":
                raise users.UserError("You cannot disable yourself")
            await users.set_disabled(pool, login, action == "disable", me.client_id)
    except users.UserError as exc:
        return await _users_page(request, str(exc), status=400)
    await audit(request, f"user.{action}", f"user {login}", detail)
    raise web.HTTPSeeOther(str(request.app.router["users"].url_for()))


@routes.get("/admin/audit", name="audit")
@requires(Role.ADMIN)
async def audit_log(request: web.Request) -> web.StreamResponse:
    before = None
    at, last_id = request.query.get("before_at"), request.query.get("before_id", "")
    if at and last_id.isdigit():
        try:
            before = (datetime.fromisoformat(at), int(last_id))
        except ValueError:
            raise web.HTTPBadRequest(text="Bad page cursor") from None
    rows = await users.audit_page(
        request.app[POOL], request[SESSION].user.client_id, before, AUDIT_PAGE + 1
    )
    more = len(rows) > AUDIT_PAGE
    return page(request, "admin/audit.html", {"rows": rows[:AUDIT_PAGE], "more": more})
