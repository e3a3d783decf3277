"""Rendering pages: the Jinja environment (autoescaped), what every template gets, the menu."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from dialerd.console.context import CSRF_FIELD, CSRF_HEADER, SESSION
from dialerd.domain import Role


@dataclass(frozen=True, slots=True)
class MenuItem:
    title: str
    route: str  # the route's name
    role: Role
    section: str = ""  # the path prefix that is this item's (default: its route's path)


MENU = web.AppKey("console_menu", list[MenuItem])


def page(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, _globals(request) | context, status=status
    )


def _globals(request: web.Request) -> dict[str, Any]:
    """What every template gets (also error pages rendered before the session was read)."""
    session = request.get(SESSION)
    menu = [m for m in request.app[MENU] if session is not None and session.user.role.may(m.role)]
    return {
        "session": session,
        "user": session.user if session is not None else None,
        "csrf_token": session.csrf_token if session is not None else "",
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "menu": menu,
        "path": request.path,
        "url": lambda name, **parts: str(request.app.router[name].url_for(**_text(parts))),
        "may": lambda role: session is not None and session.user.role.may(Role(role)),
    }


def _text(parts: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in parts.items()}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", "\u202f")  # a thin space between thousands


def _percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}\u00a0%"


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("dialerd.console", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,  # a typo in a template is an error, not an empty cell
    )
    env.filters.update(when=_when, number=_number, percent=_percent)
