"""Which role a console handler needs: ``@requires(Role.SUPERVISOR)``, or any of several
(``@requires(Role.VIEWER, Role.AGENT)``: every signed-in user).

Every handler of the console carries its role (the session middleware refuses a route that has
none, so a new route cannot be left open by mistake); a user whose role may none of them gets
403. A change to what every client of the installation shares also needs an installation admin
(``@installation_wide`` under ``@requires(Role.ADMIN)``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from dialerd.console.context import SESSION
from dialerd.domain import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The declared handlers (module-level functions: they live as long as the process).
_ROLES: dict[object, tuple[Role, ...]] = {}
_PUBLIC: set[object] = set()


def requires(role: Role, *or_roles: Role) -> Callable[[Handler], Handler]:
    roles = (role, *or_roles)

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            mine = request[SESSION].user.role
            if not any(mine.may(needed) for needed in roles):
                raise web.HTTPForbidden(text="Your role may not do this")
            return await handler(request)

        _ROLES[guarded] = roles
        return guarded

    return wrap


def installation_wide(handler: Handler) -> Handler:
    """Marks a handler that changes what every client shares: an installation admin's only."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        refuse_unless_installation_admin(request)
        return await handler(request)

    return guarded


def refuse_unless_installation_admin(request: web.Request) -> None:
    """403 unless the session's user may change what every client shares."""
    if not request[SESSION].user.may_change_installation():
        raise web.HTTPForbidden(
            text="Only an installation admin may change what every client shares"
        )


def roles_of(handler: object) -> tuple[Role, ...] | None:
    """The roles a handler was declared with, or None (a public page or an undeclared one)."""
    return _ROLES.get(handler)


def public(handler: Handler) -> Handler:
    """Marks a handler that needs no session (the sign-in page, the assets)."""
    _PUBLIC.add(handler)
    return handler


def is_public(handler: object) -> bool:
    return handler in _PUBLIC
