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


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", "\u202f")  # a thin space between thousands


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}\u00a0%"


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def weekdays(days: list[int] | tuple[int, ...]) -> str:
    """ISO weekdays (1 = Monday) as runs: [1, 2, 3, 4, 5, 7] -> "Mon–Fri, Sun"."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        _DAYS[r[0] - 1] if len(r) == 1 else f"{_DAYS[r[0] - 1]}–{_DAYS[r[-1] - 1]}" for r in runs
    )


def setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("dialerd.console", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,  # a typo in a template is an error, not an empty cell
    )
    env.filters.update(when=_when, number=number, percent=percent, weekdays=weekdays)
