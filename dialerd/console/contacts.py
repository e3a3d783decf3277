"""Call tasks: search a campaign's contacts, a contact's page with its numbers and history,
and lock, unlock, reset or delete one contact or everything a search matches (after a
confirmation that says how many). The contacts API's operations (dialerd/contacts/service.py):
a reset here is the API's reset."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from aiohttp import web

from dialerd.campaigns import service as campaigns
from dialerd.console.audit import audit
from dialerd.console.context import POOL, SESSION
from dialerd.console.guard import requires
from dialerd.console.render import MenuItem, page
from dialerd.contacts import service
from dialerd.contacts.search import Cursor, Search, SearchError, encode_cursor, parse_search
from dialerd.domain import (
    Campaign,
    Connres,
    ContactAction,
    ContactSort,
    Role,
    SearchState,
    cause_text,
    connres_text,
)
from dialerd.store.contacts import ContactConflict

routes = web.RouteTableDef()
MENU_ITEM = MenuItem("Call tasks", "contacts", Role.VIEWER)

LABELS = {
    "name": "Name starts with",
    "number": "Phone number",
    "customer": "Customer",
    "state": "State",
    "outcome": "Last outcome",
    "next_from": "Next try from",
    "next_to": "Next try before",
}
FIELDS = (*LABELS, "sort")
STATES = [(s.value, s.value.replace("due", "due now").capitalize()) for s in SearchState]
OUTCOMES = [(str(c.value), connres_text(c)) for c in Connres]
SORTS = [
    ("id", "ID, oldest first"),
    ("-id", "ID, newest first"),
    ("name", "Name, A–Z"),
    ("-name", "Name, Z–A"),
    ("next_try", "Next try, soonest first"),
    ("-next_try", "Next try, latest first"),
]
ACTIONS = {
    ContactAction.LOCK: ("Lock", "locked"),
    ContactAction.UNLOCK: ("Unlock", "unlocked"),
    ContactAction.RESET: ("Reset", "reset"),
    ContactAction.DELETE: ("Delete", "deleted"),
}


def _id(raw: str, bits: int = 63) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**bits:
        raise web.HTTPNotFound()
    return int(raw)


def _action(raw: str) -> ContactAction:
    try:
        return ContactAction(raw)
    except ValueError:
        raise web.HTTPNotFound() from None


def _zone(campaign: Campaign) -> ZoneInfo:
    try:
        return ZoneInfo(campaign.timezone)
    except (ZoneInfoNotFoundError, ValueError):  # checked when saved; a safe fallback anyway
        return ZoneInfo("UTC")


def state_of(row: asyncpg.Record) -> tuple[str, str]:
    """A contact's state in words and its colour class, as the list and the page show it."""
    if row["locked"]:
        return "Locked", "warn"
    if row["open_attempt_id"] is not None:
        return "Calling now", "talk"
    if row["state"] == "done":
        return "Done", "ok"
    if row["state"] == "finished":
        return "Finished", "idle"
    due = row["dt_next_try"]
    if due is None or due <= datetime.now(UTC):
        return "Due", "ok"
    return "Waiting", "idle"


async def _campaign(request: web.Request, campaign_id: int) -> Campaign:
    found = await service.campaign(request.app[POOL], request[SESSION].user.client_id, campaign_id)
    if found is None:  # another client's campaign does not exist for this user
        raise web.HTTPNotFound(text=f"No campaign {campaign_id}")
    return found


def _form(query: Mapping[str, str]) -> dict[str, str]:
    return {name: query.get(name, "") for name in FIELDS}


def _url(request: web.Request, route: str, query: Mapping[str, str], **parts: str) -> str:
    kept = {k: v for k, v in query.items() if v}
    base = str(request.app.router[route].url_for(**parts))
    return base + ("?" + urlencode(kept) if kept else "")


def _search_of(form: Mapping[str, str], campaign: Campaign, cursor: str = "") -> Search:
    return parse_search(
        {**form, "cursor": cursor}, campaign.id, campaign.default_region, _zone(campaign)
    )


def _conditions(form: Mapping[str, str]) -> list[tuple[str, str]]:
    """What a search asks, in words, for its confirmation."""
    words = dict(STATES) | dict(OUTCOMES)
    return [(label, words.get(form[k], form[k])) for k, label in LABELS.items() if form[k]]


@routes.get("/contacts", name="contacts")
@requires(Role.VIEWER)
async def search_screen(request: web.Request) -> web.StreamResponse:
    """The search: the whole page, or the search section only."""
    client_id = request[SESSION].user.client_id
    async with request.app[POOL].acquire() as conn:
        listed = await campaigns.list_all(conn, client_id)
    context: dict[str, Any] = {
        "campaigns": listed,
        "states": STATES,
        "outcomes": OUTCOMES,
        "sorts": SORTS,
        "actions": ACTIONS,
        "errors": {},
        "page": None,
        "campaign": None,
        "state_of": state_of,
        "connres_text": connres_text,
        "notice": "",
    }
    form = _form(request.query)
    context["form"] = form
    template = (
        "contacts/search_section.html"
        if "HX-Request" in request.headers
        else "contacts/search.html"
    )
    if not listed:
        return page(request, template, context)
    raw = request.query.get("campaign", "")
    campaign = await _campaign(request, _id(raw, 31) if raw else listed[0]["ID"])
    context["campaign"] = campaign
    query = {"campaign": str(campaign.id), **form}
    context["query"] = query
    done = request.query.get("done", "")
    if done in {a.value for a in ContactAction} and request.query.get("count", "").isdigit():
        count = int(request.query["count"])
        verb = ACTIONS[ContactAction(done)][1].capitalize()
        context["notice"] = f"{verb}: {count:,} contact{'s' if count != 1 else ''}"
    try:
        s = _search_of(form, campaign, request.query.get("cursor", ""))
    except SearchError as exc:
        context["errors"] = exc.errors
        return page(request, template, context, status=400)
    found = await service.search(request.app[POOL], client_id, s)

    def at(cursor: Cursor | None) -> str:
        if cursor is None:
            return ""
        return _url(request, "contacts", query | {"cursor": encode_cursor(cursor)})

    context["page"] = found
    context["next_url"] = at(found.next)
    context["previous_url"] = at(found.previous)
    context["bulk_urls"] = {
        a: _url(request, "contacts_bulk", query | {"action": a.value}) for a in ACTIONS
    }
    context["sorted_by"] = s.sort
    context["by_next_try"] = ContactSort.NEXT_TRY
    return page(request, template, context)


@routes.get("/contacts/bulk", name="contacts_bulk")
@requires(Role.SUPERVISOR)
async def bulk_confirm(request: web.Request) -> web.StreamResponse:
    """How many contacts the action would act on, and the button that does it."""
    campaign = await _campaign(request, _id(request.query.get("campaign", ""), 31))
    action = _action(request.query.get("action", ""))
    form = _form(request.query)
    back = _url(request, "contacts", {"campaign": str(campaign.id), **form})
    try:
        s = _search_of(form, campaign)
    except SearchError:
        raise web.HTTPSeeOther(back) from None
    matches = await service.count_matching(
        request.app[POOL], request[SESSION].user.client_id, s.filter
    )
    context = {
        "campaign": campaign,
        "action": action,
        "verb": ACTIONS[action][0],
        "matches": matches,
        "form": form,
        "conditions": _conditions(form),
        "back": back,
    }
    return page(request, "contacts/bulk.html", context)


@routes.post("/contacts/bulk")
@requires(Role.SUPERVISOR)
async def bulk_act(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    text = {k: str(v) for k, v in posted.items()}
    campaign = await _campaign(request, _id(text.get("campaign", ""), 31))
    action = _action(text.get("action", ""))
    form = _form(text)
    query = {"campaign": str(campaign.id), **form}
    try:
        s = _search_of(form, campaign)
    except SearchError:
        raise web.HTTPSeeOther(_url(request, "contacts", query)) from None
    client_id = request[SESSION].user.client_id
    try:
        done = await service.act_on_matching(request.app[POOL], client_id, s.filter, action)
    except ContactConflict as exc:
        raise web.HTTPConflict(text=f"Nothing was changed. {exc}.") from None
    conditions = {k: v for k, v in form.items() if v and k != "sort"}
    await audit(
        request,
        f"contacts.{action.value}",
        f"campaign {campaign.id}",
        {"contacts": done, "search": conditions},
    )
    raise web.HTTPSeeOther(
        _url(request, "contacts", query | {"done": action.value, "count": str(done)})
    )


@routes.get("/contacts/{contact_id}", name="contact")
@requires(Role.VIEWER)
async def contact_page(request: web.Request) -> web.StreamResponse:
    return await _contact_page(request, _id(request.match_info["contact_id"]))


async def _contact_page(
    request: web.Request, contact_id: int, error: str = "", status: int = 200
) -> web.StreamResponse:
    view = await service.contact_view(
        request.app[POOL], request[SESSION].user.client_id, contact_id
    )
    if view is None:
        raise web.HTTPNotFound(text=f"No contact {contact_id}")
    context = {
        "view": view,
        "c": view.contact,
        "state": state_of(view.contact),
        "data": {k: v for k, v in view.contact["data"].items() if v is not None},
        "cause_text": cause_text,
        "connres_text": connres_text,
        "error": error,
        "back": _url(request, "contacts", {"campaign": str(view.campaign.id)}),
    }
    return page(request, "contacts/contact.html", context, status=status)


@routes.post("/contacts/{contact_id}/{action}", name="contact_action")
@requires(Role.SUPERVISOR)
async def contact_action(request: web.Request) -> web.StreamResponse:
    contact_id = _id(request.match_info["contact_id"])
    action = _action(request.match_info["action"])
    pool, client_id = request.app[POOL], request[SESSION].user.client_id
    view = await service.contact_view(pool, client_id, contact_id)
    if view is None:
        raise web.HTTPNotFound(text=f"No contact {contact_id}")
    try:
        done = await service.act_on_contact(pool, client_id, contact_id, action)
    except ContactConflict as exc:
        return await _contact_page(request, contact_id, f"Not reset: {exc}.", status=409)
    if done is None:  # deleted meanwhile
        raise web.HTTPNotFound(text=f"No contact {contact_id}")
    detail = {"campaign": view.campaign.id, "name": view.contact["name"]}
    await audit(request, f"contact.{action.value}", f"contact {contact_id}", detail)
    if action is ContactAction.DELETE:
        query = {"campaign": str(view.campaign.id), "done": "delete", "count": "1"}
        raise web.HTTPSeeOther(_url(request, "contacts", query))
    raise web.HTTPSeeOther(_url(request, "contact", {}, contact_id=str(contact_id)))
