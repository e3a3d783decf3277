"""The client's do-not-call list over HTTP, in the contacts API's envelope: ``GET
/dialler/dnc`` (a page, ``filter`` = the numbers' start), ``POST /dialler/dnc`` (numbers
added), ``DELETE /dialler/dnc?phoneNumber=`` (one removed). The installation's list is not
reachable here: an API token is one client's (docs/compliance.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import pydantic
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from dialerd.api.body import BodyTexts, read_object
from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, DiallerStatus, json_response
from dialerd.api.records import Records, format_dt
from dialerd.dnc import service
from dialerd.dnc.service import MAX_NUMBERS, DncRejected
from dialerd.domain import DncEntry

routes = web.RouteTableDef()

MAX_PAGE = 10_000
_DIGITS = re.compile(r"[0-9]{1,9}")
_BODY = BodyTexts(
    missing="Request body is missing: a JSON object is expected",
    malformed="Malformed JSON",
    not_object="The request body must be a JSON object",
)
_Number = Annotated[str, Field(min_length=1, max_length=64)]


class DncRecord(BaseModel):
    """A number on the client's do-not-call list."""

    PhoneNumber: str = Field(description="E.164")
    Source: str = Field(description='where it came from: api, console, cli or "file <name>"')
    dtCreated: str = Field(description="when it was put on the list (UTC)")


class DncAdd(BaseModel):
    """Numbers to put on the client's do-not-call list."""

    model_config = ConfigDict(extra="forbid", strict=True)

    PhoneNumbers: list[_Number] = Field(min_length=1, max_length=MAX_NUMBERS)
    DefaultRegion: Annotated[str, Field(max_length=2)] | None = Field(
        None, description="ISO 3166 region of numbers without their country code, e.g. US"
    )


class DncAdded(Records[DncRecord]):
    """The entries of the numbers sent, and how many of them were new."""

    added: int = Field(description="numbers that were not on the list yet")


class DncPage(Records[DncRecord]):
    """A page of the client's do-not-call list, in number order."""

    filter: str = Field(description="the numbers' start that was asked for, E.164")
    limitStart: int
    limitPageSize: int
    orderBy: Literal["PhoneNumber"]
    ascending: Literal[True]
    total: int = Field(description="how many numbers match the filter")


def _record(entry: DncEntry) -> dict[str, Any]:
    return {
        "PhoneNumber": entry.number,
        "Source": entry.source,
        "dtCreated": format_dt(entry.added_at),
    }


@contextmanager
def _answered() -> Iterator[None]:
    try:
        yield
    except DncRejected as exc:
        raise ApiError(400, str(exc)) from None


def _count(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


@routes.get("/dialler/dnc")
async def dnc_page(request: web.Request) -> web.Response:
    start = _count(request, "limitStart", 0, 0, 10**9)
    size = _count(request, "limitPageSize", 100, 1, MAX_PAGE)
    with _answered():
        search = service.prefix_of(request.query.get("filter", ""))
        async with request.app[POOL].acquire() as conn:
            entries, total = await service.page(conn, request[CLIENT_ID], search, start, size)
    return json_response(
        DncPage.of(
            [_record(e) for e in entries],
            filter=search,
            limitStart=start,
            limitPageSize=size,
            orderBy="PhoneNumber",
            ascending=True,
            total=total,
        )
    )


@routes.post("/dialler/dnc")
async def dnc_add(request: web.Request) -> web.Response:
    body = await read_object(request, _BODY)
    try:
        sent = DncAdd.model_validate(body)
    except pydantic.ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:10]
        )
        raise ApiError(400, where) from None
    with _answered():
        async with request.app[POOL].acquire() as conn:
            entries, added = await service.add(
                conn, request[CLIENT_ID], sent.PhoneNumbers, sent.DefaultRegion, "api"
            )
    return json_response(DncAdded.of([_record(e) for e in entries], added=added))


@routes.delete("/dialler/dnc")
async def dnc_remove(request: web.Request) -> web.Response:
    raw = request.query.get("phoneNumber", "")
    if not raw.strip():
        raise ApiError(400, "The query parameter phoneNumber is required")
    if raw.startswith(" "):  # a "+" sent unencoded (%2B) comes as a space
        raw = "+" + raw[1:]
    with _answered():
        async with request.app[POOL].acquire() as conn:
            removed = await service.remove(
                conn, request[CLIENT_ID], [raw], request.query.get("defaultRegion")
            )
    if not removed:
        raise ApiError(404, "Number not on the do-not-call list")
    return json_response(DiallerStatus(status=200).model_dump())
