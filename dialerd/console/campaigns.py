"""Campaigns: the list, create, edit, copy, pause and resume, and on the edit screen the
campaign's result codes (add, change, remove); the campaigns API's services and validation, so
the forms say what the API would (next to the field it concerns)."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import time
from enum import Enum
from time import monotonic
from typing import Annotated, Any

from aiohttp import web
from multidict import MultiDictProxy

from dialerd.campaigns import resultcodes, service
from dialerd.campaigns.resultcodes import ResultCodeNotFound
from dialerd.campaigns.schema import ALIASES, CampaignSettings, json_value
from dialerd.campaigns.service import CampaignConflict, CampaignNotFound, CampaignRejected
from dialerd.compliance import after_care_on
from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, fragment, page
from dialerd.domain import (
    RESULT_CODE_TYPE_WORDS,
    Connres,
    DialMode,
    MachineAction,
    ResultCodeType,
    Role,
    connres_words,
)
from dialerd.reports.figures import CampaignFigures, over_limit
from dialerd.reports.service import campaign_figures
from dialerd.wallboard.service import campaign_counts

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Campaigns", "campaigns", Role.VIEWER)
REFRESH_S = 10  # the list's figures are read again this often while it is open
# The store's figures cost a few hundred ms with a million contacts: each process reads them at
# most this often per client, however many browsers show the list.
FIGURES_MAX_AGE_S = 5.0
FIGURES = web.AppKey("campaign_figures", dict[int, tuple[float, dict[int, CampaignFigures]]])


@dataclass(frozen=True, slots=True)
class Field:
    alias: str  # the setting's JSON name, also the form field's name
    label: str
    help: str = ""
    unit: str = ""

    @property
    def kind(self) -> str:
        return _kind(CampaignSettings.model_fields[_COLUMN[self.alias]].annotation)

    @property
    def optional(self) -> bool:
        return _optional(CampaignSettings.model_fields[_COLUMN[self.alias]].annotation)


_COLUMN = {alias: column for column, alias in ALIASES.items()}

SECTIONS: list[tuple[str, list[Field]]] = [
    (
        "Campaign",
        [
            Field("Name", "Name"),
            Field("bActive", "Active", "An inactive campaign places no calls"),
            Field(
                "DialMode",
                "Dial mode",
                "progressive: one call per free agent; ratio: a fixed "
                "number of calls per free agent; predictive: as many as keep the abandon rate "
                "under its limit; preview: each agent sees the next contact and calls it",
            ),
            Field("DialRatio", "Dial ratio", "Calls per free agent (ratio mode)"),
            Field("MaxLinesPerAgent", "Lines per agent at most", "A cap on calls per free agent"),
            Field("AbandonLimit", "Abandon limit", "A fraction: 0.03 is 3 % of answered calls"),
            Field("Aggressiveness", "Aggressiveness", "Predictive mode: above 1 dials harder"),
        ],
    ),
    (
        "Asterisk",
        [
            Field("Queue", "Queue", "The Asterisk queue whose agents take the answered calls"),
            Field("DialString", "Dial string", "e.g. PJSIP/{number}@dialerd-trunk"),
            Field("CallerID", "Caller ID", 'e.g. "Sales" <4721000000>'),
            Field("MaxCallsInFlight", "Calls in flight at most", "Empty: the installation's cap"),
            Field(
                "MaxOriginateRate",
                "Calls placed per second at most",
                "Empty: the installation's cap",
                "/s",
            ),
            Field("RingTimeoutSeconds", "Ring timeout", "", "s"),
            Field(
                "AgentTimeoutSeconds",
                "Time to reach an agent",
                "After this, an answered call is abandoned (it gets the message)",
                "s",
            ),
            Field(
                "WrapUpLimitSeconds",
                "After-call work at most",
                "An agent is ready again after this, unless they pressed Done before",
                "s",
            ),
            Field("bAmdEnabled", "Detect answering machines"),
            Field("MachineAction", "On an answering machine"),
        ],
    ),
    (
        "Calling window",
        [
            Field("WindowStart", "From", "Local time of the campaign's time zone"),
            Field("WindowEnd", "To"),
            Field("WindowDays", "Days"),
            Field("Timezone", "Time zone", "IANA name, e.g. Europe/Oslo"),
        ],
    ),
    (
        "Numbers and retries",
        [
            Field(
                "DefaultRegion",
                "Default region",
                "ISO country code for numbers without one, e.g. NO",
            ),
            Field("MaxAttempts", "Attempts per number at most"),
            Field("MinCallIntervalHours", "Hours between calls at least", "", "h"),
            Field(
                "RetryMinutes",
                "Retry after",
                "Minutes until the next try, by outcome; empty: the default",
            ),
            Field(
                "CallbackGraceSeconds",
                "Callback grace",
                "An agent's own callback goes to any agent this long after its time",
                "s",
            ),
        ],
    ),
    (
        "Compliance",
        [
            Field(
                "bAbandonAfterCare",
                "Abandon after-care",
                "A person whose call was abandoned is called again within 72 hours only with an"
                " agent on the line (on by default where the default region is GB)",
            ),
            Field(
                "bCallHoursOverride",
                "Window may exceed the country's calling hours",
                "Only an admin may set this",
            ),
        ],
    ),
]
OVERRIDE = ALIASES["call_hours_override"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
CHOICES: dict[str, list[str]] = {
    "DialMode": [m.value for m in DialMode],
    "MachineAction": [a.value for a in MachineAction],
}
RETRY_OUTCOMES = [(c.value, connres_words(c)) for c in Connres]


def _args(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is Annotated:
        return _args(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(a for arg in typing.get_args(annotation) for a in _args(arg))
    return (annotation,)


def _optional(annotation: Any) -> bool:
    return type(None) in _args(annotation)


def _kind(annotation: Any) -> str:
    kinds = [a for a in _args(annotation) if a is not type(None)]
    first = typing.get_origin(kinds[0]) or kinds[0]
    if first is bool:
        return "bool"
    if first in (int, float):
        return "number"
    if first is list:
        return "days"
    if first is dict:
        return "retries"
    if first is time:
        return "time"
    if isinstance(first, type) and issubclass(first, Enum):
        return "choice"
    return "text"


def _number(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw  # the validation says it is not a number, next to the field


def body_of(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The campaigns API's record of what the form says."""
    body: dict[str, Any] = {}
    for _, fields in SECTIONS:
        for field in fields:
            raw = str(form.get(field.alias, "")).strip()
            if field.kind in ("number", "text", "time", "choice") and field.alias not in form:
                continue  # not on the form at all: the default, or unchanged
            if field.kind == "bool":
                body[field.alias] = field.alias in form
            elif field.kind == "days":
                body[field.alias] = [int(d) for d in form.getall(field.alias, []) if d.isdigit()]
            elif field.kind == "retries":
                body[field.alias] = {
                    str(code): _number(value)
                    for code, _ in RETRY_OUTCOMES
                    if (value := str(form.get(f"RetryMinutes.{code}", "")).strip())
                }
            elif not raw:
                body[field.alias] = None  # optional: unset; required: "a value is needed"
            else:
                body[field.alias] = _number(raw) if field.kind == "number" else raw
    return body


def _defaults() -> dict[str, Any]:
    values = {}
    for column, field in CampaignSettings.model_fields.items():
        default = field.default.value if isinstance(field.default, Enum) else field.default
        values[ALIASES[column]] = json_value(default) if not field.is_required() else ""
    return values


RESULT_TYPES = [(int(t), RESULT_CODE_TYPE_WORDS[t]) for t in ResultCodeType]


@dataclass(frozen=True, slots=True)
class CodeForm:
    """A result code form that was refused: which row ("new" for the add row), what it said,
    and the API's messages by field ("" for what concerns several)."""

    row: str
    values: dict[str, Any]
    errors: dict[str, str]


async def _form(
    request: web.Request,
    values: dict[str, Any],
    campaign_id: int | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    refused: CodeForm | None = None,
) -> web.Response:
    """The campaign's form; an existing campaign's also has its result codes."""
    errors = errors or {}
    after_care = ALIASES["abandon_after_care"]
    if values.get(after_care) is None:  # the region's default, as the checkbox shows it
        values = values | {after_care: after_care_on(None, values.get(ALIASES["default_region"]))}
    codes: list[dict[str, Any]] = []
    if campaign_id is not None:
        async with request.app[POOL].acquire() as conn:
            codes = await resultcodes.list_codes(conn, request[SESSION].user.client_id, campaign_id)
    return page(
        request,
        "campaigns/form.html",
        {
            "values": values,
            "campaign_id": campaign_id,
            "errors": errors,
            "general_error": errors.get("", ""),
            "sections": SECTIONS,
            "weekdays": WEEKDAYS,
            "choices": CHOICES,
            "retry_outcomes": RETRY_OUTCOMES,
            "codes": codes,
            "result_types": RESULT_TYPES,
            "refused": refused,
        },
        status=status,
    )


def _campaign_id(request: web.Request) -> int:
    raw = request.match_info["campaign_id"]
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        raise web.HTTPNotFound()
    return int(raw)


async def _show(request: web.Request, campaign_id: int) -> dict[str, Any]:
    try:
        async with request.app[POOL].acquire() as conn:
            return await service.show(conn, request[SESSION].user.client_id, campaign_id)
    except CampaignNotFound:
        raise web.HTTPNotFound(text=f"No campaign {campaign_id}") from None


async def _list_context(request: web.Request) -> dict[str, Any]:
    """Every campaign with its figures from history and what the engines see now."""
    client_id = request[SESSION].user.client_id
    cache = request.app[FIGURES]
    async with request.app[POOL].acquire() as conn:
        records = await service.list_all(conn, client_id)
        at, figures = cache.get(client_id, (-FIGURES_MAX_AGE_S, {}))
        if monotonic() - at >= FIGURES_MAX_AGE_S:
            figures = await campaign_figures(conn, client_id)
            cache[client_id] = (monotonic(), figures)
    live = await campaign_counts(request.app[POOL], client_id)
    return {
        "campaigns": records,
        "figures": figures,
        "live": live,
        "over_limit": over_limit,
        "refresh_s": REFRESH_S,
    }


@routes.get("/campaigns", name="campaigns")
@requires(Role.VIEWER)
async def campaign_list(request: web.Request) -> web.StreamResponse:
    return page(request, "campaigns/list.html", await _list_context(request))


@routes.get("/campaigns/table", name="campaigns_table")
@requires(Role.VIEWER)
async def campaign_table(request: web.Request) -> web.StreamResponse:
    """The list's table alone: htmx swaps it in every REFRESH_S seconds."""
    html = fragment(request, "campaigns/_table.html", await _list_context(request))
    return web.Response(text=html, content_type="text/html")


@routes.get("/campaigns/new", name="campaign_new")
@requires(Role.SUPERVISOR)
async def new_form(request: web.Request) -> web.StreamResponse:
    return await _form(request, _defaults(), None)


async def _save(request: web.Request, campaign_id: int | None) -> web.StreamResponse:
    form = await request.post()
    body = body_of(form)
    user = request[SESSION].user
    if not user.role.may(Role.ADMIN):  # the override stays as an admin left it
        kept = False if campaign_id is None else (await _show(request, campaign_id))[OVERRIDE]
        body[OVERRIDE] = kept
    try:
        async with request.app[POOL].acquire() as conn:
            if campaign_id is None:
                saved = await service.create(conn, user.client_id, body)
            else:
                saved = await service.update(conn, user.client_id, campaign_id, body)
    except CampaignRejected as exc:
        return await _form(request, body, campaign_id, exc.fields, status=400)
    except CampaignConflict as exc:
        return await _form(request, body, campaign_id, {"Name": str(exc)}, status=409)
    except CampaignNotFound:
        raise web.HTTPNotFound(text=f"No campaign {campaign_id}") from None
    action = "campaign.create" if campaign_id is None else "campaign.update"
    await audit(request, action, f"campaign {saved['ID']}", {"name": saved["Name"]})
    raise web.HTTPSeeOther(str(request.app.router["campaigns"].url_for()))


@routes.post("/campaigns/new")
@requires(Role.SUPERVISOR)
async def create(request: web.Request) -> web.StreamResponse:
    return await _save(request, None)


@routes.get("/campaigns/{campaign_id}/edit", name="campaign_edit")
@requires(Role.SUPERVISOR)
async def edit_form(request: web.Request) -> web.StreamResponse:
    campaign_id = _campaign_id(request)
    return await _form(request, await _show(request, campaign_id), campaign_id)


@routes.post("/campaigns/{campaign_id}/edit")
@requires(Role.SUPERVISOR)
async def update(request: web.Request) -> web.StreamResponse:
    return await _save(request, _campaign_id(request))


async def _set_active(request: web.Request, active: bool) -> web.StreamResponse:
    campaign_id = _campaign_id(request)
    try:
        async with request.app[POOL].acquire() as conn:
            saved = await service.update(
                conn, request[SESSION].user.client_id, campaign_id, {"bActive": active}
            )
    except CampaignNotFound:
        raise web.HTTPNotFound(text=f"No campaign {campaign_id}") from None
    except CampaignRejected as exc:  # e.g. no caller ID: its form says what to set
        return await _form(request, await _show(request, campaign_id), campaign_id, exc.fields, 400)
    await audit(
        request,
        "campaign.resume" if active else "campaign.pause",
        f"campaign {campaign_id}",
        {"name": saved["Name"]},
    )
    raise web.HTTPSeeOther(str(request.app.router["campaigns"].url_for()))


@routes.post("/campaigns/{campaign_id}/pause", name="campaign_pause")
@requires(Role.SUPERVISOR)
async def pause(request: web.Request) -> web.StreamResponse:
    return await _set_active(request, False)


@routes.post("/campaigns/{campaign_id}/resume", name="campaign_resume")
@requires(Role.SUPERVISOR)
async def resume(request: web.Request) -> web.StreamResponse:
    return await _set_active(request, True)


@routes.post("/campaigns/{campaign_id}/copy", name="campaign_copy")
@requires(Role.SUPERVISOR)
async def copy(request: web.Request) -> web.StreamResponse:
    """A paused copy of every setting and result code under a new name; its edit form comes
    next."""
    campaign_id = _campaign_id(request)
    source = await _show(request, campaign_id)
    settings = {k: v for k, v in source.items() if k in ALIASES.values()}
    client_id = request[SESSION].user.client_id
    async with request.app[POOL].acquire() as conn:
        taken = {c["Name"] for c in await service.list_all(conn, client_id)}
        name = f"{source['Name']} (copy)"
        number = 2
        while name in taken:
            name, number = f"{source['Name']} (copy {number})", number + 1
        async with conn.transaction():  # the copy comes with its result codes, or not at all
            saved = await service.create(
                conn, client_id, settings | {"Name": name, "bActive": False}
            )
            codes = await resultcodes.copy_codes(conn, client_id, campaign_id, saved["ID"])
    await audit(
        request,
        "campaign.copy",
        f"campaign {saved['ID']}",
        {"from": campaign_id, "name": name, "result_codes": codes},
    )
    raise web.HTTPSeeOther(
        str(request.app.router["campaign_edit"].url_for(campaign_id=str(saved["ID"])))
    )


def code_body(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The campaigns API's result code record of what a code's form says."""
    minutes = str(form.get("RetryMinutes", "")).strip()
    return {
        "Name": str(form.get("Name", "")).strip(),
        "DiallerResultCodesTypesID": _number(str(form.get("DiallerResultCodesTypesID", ""))),
        "RetryMinutes": _number(minutes) if minutes else None,
        "Position": _number(str(form.get("Position", "0")).strip() or "0"),
        "bActive": "bActive" in form,
    }


def _code_id(request: web.Request) -> int:
    raw = request.match_info["code_id"]
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        raise web.HTTPNotFound()
    return int(raw)


async def _code_refused(
    request: web.Request,
    campaign_id: int,
    code_id: int | None,
    body: dict[str, Any],
    fields: dict[str, str],
    message: str,
    status: int,
) -> web.Response:
    refused = CodeForm("new" if code_id is None else str(code_id), body, fields or {"": message})
    values = await _show(request, campaign_id)
    return await _form(request, values, campaign_id, status=status, refused=refused)


async def _code_saved(
    request: web.Request, code_id: int | None, *, remove: bool = False
) -> web.StreamResponse:
    """Adds (``code_id`` None), changes or removes one result code of the campaign, then back
    to the campaign's form; a refusal shows the form with the API's message at that code."""
    campaign_id = _campaign_id(request)
    client_id = request[SESSION].user.client_id
    body = code_body(await request.post())
    try:
        async with request.app[POOL].acquire() as conn:
            if code_id is None:
                saved = await resultcodes.create_code(conn, client_id, campaign_id, body)
                action, code_id, name = "create", saved["ID"], saved["Name"]
            elif remove:
                name = await resultcodes.delete_code(conn, client_id, campaign_id, code_id)
                action = "delete"
            else:
                saved = await resultcodes.update_code(conn, client_id, campaign_id, code_id, body)
                action, name = "update", saved["Name"]
    except CampaignNotFound:
        raise web.HTTPNotFound(text=f"No campaign {campaign_id}") from None
    except ResultCodeNotFound as exc:  # removed meanwhile
        raise web.HTTPNotFound(text=str(exc)) from None
    except CampaignRejected as exc:
        return await _code_refused(request, campaign_id, code_id, body, exc.fields, str(exc), 400)
    except CampaignConflict as exc:
        return await _code_refused(request, campaign_id, code_id, body, {}, str(exc), 409)
    await audit(
        request,
        f"campaign.result_code.{action}",
        f"campaign {campaign_id}",
        {"code": code_id, "name": name},
    )
    edit = request.app.router["campaign_edit"].url_for(campaign_id=str(campaign_id))
    raise web.HTTPSeeOther(f"{edit}#result-codes")


@routes.post("/campaigns/{campaign_id}/resultcodes", name="result_code_new")
@requires(Role.SUPERVISOR)
async def add_code(request: web.Request) -> web.StreamResponse:
    return await _code_saved(request, None)


@routes.post("/campaigns/{campaign_id}/resultcodes/{code_id}", name="result_code")
@requires(Role.SUPERVISOR)
async def change_code(request: web.Request) -> web.StreamResponse:
    return await _code_saved(request, _code_id(request))


@routes.post("/campaigns/{campaign_id}/resultcodes/{code_id}/delete", name="result_code_delete")
@requires(Role.SUPERVISOR)
async def remove_code(request: web.Request) -> web.StreamResponse:
    return await _code_saved(request, _code_id(request), remove=True)
