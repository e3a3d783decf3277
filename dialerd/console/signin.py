"""Sign-in, sign-out and the console's home."""

from __future__ import annotations

from aiohttp import web

from dialerd.console import workspace
from dialerd.console.context import COOKIE, POOL, SESSION, SETTINGS
from dialerd.console.guard import public, requires
from dialerd.console.render import MENU, page
from dialerd.domain import Role
from dialerd.users import service as users

routes = web.RouteTableDef()


def _next(raw: str | None) -> str:
    """Where to go after signing in: only a console path (never another site)."""
    if raw and raw.startswith("/console/") and not raw.startswith("/console//"):
        return raw
    return "/console/"


@routes.get("/signin", name="signin")
@public
async def signin_form(request: web.Request) -> web.StreamResponse:
    return page(
        request,
        "signin.html",
        {"login": "", "error": None, "next": _next(request.query.get("next"))},
    )


@routes.post("/signin")
@public
async def signin(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    login, password = str(form.get("login", "")), str(form.get("password", ""))
    target = _next(str(form.get("next", "")))
    try:
        session = await users.sign_in(
            request.app[POOL],
            login,
            password,
            request.remote,
            request.app[SETTINGS].session_idle_s,
        )
    except users.SignInRefused as exc:
        context = {"login": login, "error": str(exc), "next": target}
        return page(request, "signin.html", context, status=429 if exc.wait_s else 401)
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE,
        session.token,
        path="/console/",
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS].secure_cookies or request.secure,
    )
    raise response


@routes.post("/signout", name="signout")
@requires(Role.VIEWER, Role.AGENT)
async def signout(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    if session.user.role is Role.AGENT:  # nobody is left at the phone to take calls
        await workspace.leave_queues(request)
    await users.sign_out(request.app[POOL], session, request.remote)
    response = web.HTTPSeeOther("/console/signin")
    response.del_cookie(COOKIE, path="/console/")
    raise response


@routes.get("/", name="home")
@requires(Role.VIEWER, Role.AGENT)
async def home(request: web.Request) -> web.StreamResponse:
    """The first screen of the menu the user's role may see."""
    role = request[SESSION].user.role
    for item in request.app[MENU]:
        if role.may(item.role):
            raise web.HTTPSeeOther(str(request.app.router[item.route].url_for()))
    return page(
        request,
        "error.html",
        {"status": 403, "reason": "Nothing to show", "message": "Your role has no screens yet."},
    )
