"""The dialler contacts API (``/dialler/contacts…``): thin handlers that validate and delegate.

The by-ID and by-UserData variants of an operation share one handler: the route says which
key it carries (``{diallerContactsID}`` in the path, or ``?userData=``). Contract and
decisions: docs/contacts-api.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import orjson
import structlog
from aiohttp import web
from pydantic import ConfigDict, Field, create_model

from dialerd.api.body import BodyTexts, read_object
from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, DiallerStatus, json_response
from dialerd.api.records import (
    DATA_FIELDS,
    PHONE_FIELDS,
    DiallerContact,
    DiallerContactsHistory,
    Kind,
    Records,
    format_dt,
    render_contact,
    render_history,
)
from dialerd.campaigns.schema import INT4_MAX
from dialerd.contacts.service import act_on_contact
from dialerd.domain import ContactAction
from dialerd.store import contacts as store
from dialerd.store.contacts import Changes, ContactConflict, ContactRejected, Key

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

_DIGITS = re.compile(r"[1-9][0-9]{0,18}")
_NOT_FOUND = "Dialler contact not found"
_CAMPAIGN_NOT_FOUND = "Dialler campaign not found"

MAX_TEXT = 4000  # characters in one text field; the body as a whole is capped by max_body_bytes
# The bodies' fields and their JSON types: parse_changes checks them, these models give the
# document its schemas and check_fields its field names, so the two cannot differ.
_Text = Annotated[str, Field(max_length=MAX_TEXT)] | None
_DT = "ISO 8601, e.g. 2020-01-01T00:00:00 (kept as UTC); empty: none"
_COMMON: dict[str, Any] = {
    "UserData": (_Text, None),
    "Name": (_Text, Field(None, description="must not be empty")),
    **{
        name: (_Text, Field(None, description=_DT if kind is Kind.DATETIME else None))
        if kind in (Kind.TEXT, Kind.DATETIME)
        else (kind.python | None, None)
        for name, kind in DATA_FIELDS.items()
    },
    **{name: (_Text, None) for name in PHONE_FIELDS},
}
_FORBID = ConfigDict(extra="forbid")
ContactImport = create_model(
    "DiallerContactImport",
    __config__=_FORBID,
    __doc__="A contact to import: Name, DiallerCampaignsID or DiallerCampaignsName and at least "
    "one of PhoneNumber1..6 are mandatory.",
    DiallerCampaignsID=(Annotated[int, Field(ge=1, le=INT4_MAX)] | None, None),
    DiallerCampaignsName=(_Text, None),
    **_COMMON,
)
ContactUpdate = create_model(
    "DiallerContactUpdate",
    __config__=_FORBID,
    __doc__="The fields to change of the contact with this ID, or else with this UserData.",
    ID=(Annotated[int, Field(ge=1, lt=2**63)] | None, None),
    **_COMMON,
)
IMPORT_FIELDS = frozenset(ContactImport.model_fields)
UPDATE_FIELDS = frozenset(ContactUpdate.model_fields)
_BODY = BodyTexts(
    missing="Request body is missing: a JSON object is expected",
    malformed="Malformed JSON",
    not_object="The request body must be a JSON object",
)


def bad(reason: str) -> ApiError:
    return ApiError(400, reason)


# --- request parsing --------------------------------------------------------------------------


def check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        listed = ", ".join(repr(k[:40]) for k in unknown[:10])
        raise bad(f"Unknown or read-only field(s): {listed}")


def text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"{name} must be a string")
    if len(value) > MAX_TEXT:
        raise bad(f"{name} is longer than {MAX_TEXT} characters")
    if "\x00" in value:  # Postgres text cannot hold NUL
        raise bad(f"{name} must not contain NUL characters")
    return value


def integer(name: str, value: Any, bits: int = 63) -> int | None:
    """An integer that fits a signed column of ``bits`` + 1 bits (int4: 31, bigint: 63)."""
    if value is None:
        return None
    # bool is an int in Python, but true is no ID.
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(f"{name} must be an integer")
    if not -(2**bits) <= value < 2**bits:
        raise bad(f"{name} is out of range")
    return value


def datetime_text(name: str, value: Any) -> str | None:
    """A datetime in ISO 8601, kept as UTC ``YYYY-MM-DDTHH:MM:SS.mmm``; "" means none."""
    raw = text(name, value)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
        return format_dt(parsed.astimezone(UTC) if parsed.tzinfo else parsed)
    except (ValueError, OverflowError):  # overflow: an offset that leaves year 1..9999
        raise bad(f"{name} must be a datetime like 2020-01-01T00:00:00, not {raw[:40]!r}") from None


def data_value(name: str, kind: Kind, value: Any) -> Any:
    if kind is Kind.TEXT:
        return text(name, value)
    if kind is Kind.INTEGER:
        return integer(name, value)
    if kind is Kind.DATETIME:
        return datetime_text(name, value)
    if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise bad(f"{name} must be a number")
    return value


def parse_changes(body: dict[str, Any], *, complete: bool) -> Changes:
    """The contact fields of ``body``. ``complete`` (import): every field counts as sent, an
    absent one as null, so an overwritten duplicate keeps nothing of its old data."""
    changes = Changes()
    if "Name" in body or complete:
        name = text("Name", body.get("Name"))
        # On import a missing Name is reported with the other mandatory fields.
        if (name is None and not complete) or (name is not None and not name.strip()):
            raise bad("Name must not be empty")
        changes.name = name
    if "UserData" in body or complete:
        # An empty UserData is no UserData: it would match every other empty one.
        changes.user_data = text("UserData", body.get("UserData")) or None
        changes.sent_user_data = True
    for name, kind in DATA_FIELDS.items():
        if name in body or complete:
            changes.data[name] = data_value(name, kind, body.get(name))
    for slot, name in enumerate(PHONE_FIELDS):
        if name in body or complete:
            changes.numbers[slot] = text(name, body.get(name))
    return changes


def flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad(f"{name} must be true or false, not {value[:20]!r}")


def positive_id(name: str, value: str, bits: int = 63) -> int:
    if not _DIGITS.fullmatch(value) or int(value) >= 2**bits:
        raise bad(f"{name} must be a positive integer, not {value[:20]!r}")
    return int(value)


def key_of(request: web.Request) -> Key:
    """The contact a by-ID or by-UserData route addresses."""
    if "diallerContactsID" in request.match_info:
        return positive_id("diallerContactsID", request.match_info["diallerContactsID"])
    user_data = text("userData", request.query.get("userData"))
    if not user_data:
        raise bad("The query parameter userData is required")
    return user_data


def contacts(rows: list[asyncpg.Record]) -> web.Response:
    return json_response(Records[DiallerContact].of([render_contact(row) for row in rows]))


# --- handlers ---------------------------------------------------------------------------------


@routes.get("/dialler/contacts", allow_head=False)  # HEAD would read the whole list
async def list_contacts(request: web.Request) -> web.StreamResponse:
    """Streams the records straight from a cursor: a million contacts, flat memory."""
    client_id = request[CLIENT_ID]
    campaign_id = None
    if "diallerCampaignsID" in request.query:
        campaign_id = positive_id("diallerCampaignsID", request.query["diallerCampaignsID"], 31)
        if await store.find_campaign(request.app[POOL], client_id, campaign_id, None) is None:
            raise ApiError(404, _CAMPAIGN_NOT_FOUND)

    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(b'{"filter":"","limitStart":0,"limitPageSize":-1,"records":[')
    count = 0
    try:
        batches = store.stream_contacts(request.app[POOL], client_id, campaign_id)
        async with aclosing(batches):
            async for rows in batches:
                chunk = b",".join(orjson.dumps(render_contact(row)) for row in rows)
                await resp.write(b"," + chunk if count else chunk)
                count += len(rows)
    except ConnectionResetError:
        log.info("contacts_stream_client_gone", client_id=client_id, sent=count)
        return resp
    except Exception:
        # The 200 is already out: a cut-off body is the only error signal left.
        log.exception("contacts_stream_failed", client_id=client_id, sent=count)
        if request.transport is not None:
            request.transport.close()
        return resp
    tail = {"count": count, "orderBy": "ID", "ascending": True, "status": 200}
    await resp.write(b"]," + orjson.dumps(tail)[1:])
    await resp.write_eof()
    return resp


@routes.get("/dialler/contacts/contact")
@routes.get("/dialler/contacts/{diallerContactsID}")
async def get_contacts(request: web.Request) -> web.Response:
    rows = await store.find_contacts(request.app[POOL], request[CLIENT_ID], key_of(request))
    if not rows:
        raise ApiError(404, _NOT_FOUND)
    return contacts(rows)


@routes.post("/dialler/contacts/import")
async def import_contact(request: web.Request) -> web.Response:
    overwrite = flag(request, "overwriteDuplicates")
    reset = flag(request, "resetContact")
    unlock = flag(request, "unlockContact")
    body = await read_object(request, _BODY)
    check_fields(body, IMPORT_FIELDS)
    campaign_id = integer("DiallerCampaignsID", body.get("DiallerCampaignsID"), 31)
    campaign_name = text("DiallerCampaignsName", body.get("DiallerCampaignsName"))
    changes = parse_changes(body, complete=True)

    missing = []
    if changes.name is None:
        missing.append("Name")
    if campaign_id is None and campaign_name is None:
        missing.append("DiallerCampaignsID or DiallerCampaignsName")
    if not any(number and number.strip() for number in changes.numbers.values()):
        missing.append("at least one of PhoneNumber1..6")
    if missing:
        raise bad("Missing mandatory field(s): " + "; ".join(missing))

    pool, client_id = request.app[POOL], request[CLIENT_ID]
    with store_errors():
        campaign = await store.find_campaign(pool, client_id, campaign_id, campaign_name)
        if campaign is None:
            raise ApiError(404, _CAMPAIGN_NOT_FOUND)
        row = await store.import_contact(
            pool, client_id, campaign, changes, overwrite=overwrite, reset=reset, unlock=unlock
        )
    log.info("contact_imported", client_id=client_id, campaign_id=campaign.id, contact_id=row["id"])
    return contacts([row])


@routes.post("/dialler/contacts/update")
async def update_contact(request: web.Request) -> web.Response:
    body = await read_object(request, _BODY)
    check_fields(body, UPDATE_FIELDS)
    key: Key
    contact_id = integer("ID", body.get("ID"))
    if contact_id is not None:
        if contact_id < 1:
            raise bad("ID must be a positive integer")
        key = contact_id
    else:
        # Without an ID, UserData is the key, not a change.
        user_data = text("UserData", body.pop("UserData", None))
        if not user_data:
            raise bad("Missing mandatory field: ID or UserData")
        key = user_data
    changes = parse_changes(body, complete=False)
    with store_errors():
        row = await store.update_contact(request.app[POOL], request[CLIENT_ID], key, changes)
    if row is None:
        raise ApiError(404, _NOT_FOUND)
    log.info("contact_updated", client_id=request[CLIENT_ID], contact_id=row["id"])
    return contacts([row])


@routes.delete("/dialler/contacts/contact")
@routes.delete("/dialler/contacts/contact/{diallerContactsID}")
async def delete_contact(request: web.Request) -> web.Response:
    return await act(request, ContactAction.DELETE)


@routes.patch("/dialler/contacts/contact/lock")
@routes.patch("/dialler/contacts/contact/{diallerContactsID}/lock")
async def lock_contact(request: web.Request) -> web.Response:
    return await act(request, ContactAction.LOCK)


@routes.patch("/dialler/contacts/contact/unlock")
@routes.patch("/dialler/contacts/contact/{diallerContactsID}/unlock")
async def unlock_contact(request: web.Request) -> web.Response:
    return await act(request, ContactAction.UNLOCK)


@routes.patch("/dialler/contacts/contact/reset")
@routes.patch("/dialler/contacts/contact/{diallerContactsID}/reset")
async def reset_contact(request: web.Request) -> web.Response:
    return await act(request, ContactAction.RESET)


@routes.get("/dialler/contacts/contact/history")
@routes.get("/dialler/contacts/contact/{diallerContactsID}/history")
async def contact_history(request: web.Request) -> web.Response:
    rows = await store.contact_history(request.app[POOL], request[CLIENT_ID], key_of(request))
    if rows is None:
        raise ApiError(404, _NOT_FOUND)
    return json_response(Records[DiallerContactsHistory].of([render_history(row) for row in rows]))


async def act(request: web.Request, action: ContactAction) -> web.Response:
    """A state change, the console's own (dialerd/contacts/service.py): ``{"status": 200}``,
    or 404."""
    key = key_of(request)
    with store_errors():
        contact_id = await act_on_contact(request.app[POOL], request[CLIENT_ID], key, action)
    if contact_id is None:
        raise ApiError(404, _NOT_FOUND)
    return json_response(DiallerStatus(status=200).model_dump())


@contextmanager
def store_errors() -> Iterator[None]:
    """The store's refusals in the API's terms."""
    try:
        yield
    except ContactRejected as exc:
        raise bad(str(exc)) from None
    except ContactConflict as exc:
        raise ApiError(409, str(exc)) from None
