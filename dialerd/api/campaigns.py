"""Campaigns over HTTP: ``GET/POST/PATCH /dialler/campaigns[/{id}]``, and their result codes:
``GET/POST /dialler/campaigns/{id}/resultcodes``, ``PATCH/DELETE …/resultcodes/{codeId}``.

Thin: reads the request, hands it to dialerd.campaigns.service (which the ``dialerd campaign``
command shares) and dialerd.campaigns.resultcodes, answers in the dialler envelope. See
docs/campaigns.md and docs/result-codes.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

from aiohttp import web
from pydantic import BaseModel

from dialerd.api.body import BodyTexts, read_object
from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, DiallerStatus, json_response
from dialerd.api.records import RecordList, Records
from dialerd.campaigns import resultcodes, service
from dialerd.campaigns.resultcodes import ResultCodeNotFound, ResultCodeRecord
from dialerd.campaigns.schema import INT4_MAX, CampaignRecord
from dialerd.campaigns.service import (
    CampaignConflict,
    CampaignError,
    CampaignNotFound,
    CampaignRejected,
)

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

_BODY = BodyTexts(
    missing="the body is missing",
    malformed="the body is not valid JSON",
    not_object="the body must be a JSON object",
)
_STATUS = {
    CampaignRejected: 400,
    CampaignNotFound: 404,
    ResultCodeNotFound: 404,
    CampaignConflict: 409,
}


@contextmanager
def _answered() -> Iterator[None]:
    """The service's refusals in the API's terms."""
    try:
        yield
    except CampaignError as exc:
        raise ApiError(_STATUS[type(exc)], str(exc)) from None


def _id(request: web.Request) -> int:
    campaign_id = int(request.match_info["id"])  # the route admits digits only
    if campaign_id > INT4_MAX:
        raise CampaignNotFound(campaign_id)
    return campaign_id


def _code_id(request: web.Request) -> int:
    code_id = int(request.match_info["codeId"])
    if code_id > INT4_MAX:
        raise ResultCodeNotFound(_id(request), code_id)
    return code_id


def _one(record: dict[str, Any], model: type[BaseModel]) -> web.Response:
    return json_response(Records[model].of([record]))  # type: ignore[valid-type]


def _all(records: list[dict[str, Any]], model: type[BaseModel], order_by: str) -> web.Response:
    return json_response(RecordList[model].of_all(records, order_by))  # type: ignore[valid-type]


async def _list(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return _all(await service.list_all(conn, request[CLIENT_ID]), CampaignRecord, "Name")


async def _show(request: web.Request) -> web.Response:
    with _answered():
        campaign_id = _id(request)
        async with request.app[POOL].acquire() as conn:
            return _one(await service.show(conn, request[CLIENT_ID], campaign_id), CampaignRecord)


async def _create(request: web.Request) -> web.Response:
    body = await read_object(request, _BODY)
    with _answered():
        async with request.app[POOL].acquire() as conn:
            return _one(await service.create(conn, request[CLIENT_ID], body), CampaignRecord)


Write: TypeAlias = "Callable[[Conn, int, int, dict[str, Any]], Awaitable[dict[str, Any]]]"
"""A service's write on the client's campaign (connection, client, campaign, body) -> record."""


async def _write(request: web.Request, write: Write, model: type[BaseModel]) -> web.Response:
    """Campaign ``{id}`` of the path, the body, the service's write, answered as one record."""
    with _answered():
        campaign_id = _id(request)
        body = await read_object(request, _BODY)
        async with request.app[POOL].acquire() as conn:
            return _one(await write(conn, request[CLIENT_ID], campaign_id, body), model)


async def _update(request: web.Request) -> web.Response:
    return await _write(request, service.update, CampaignRecord)


async def _list_codes(request: web.Request) -> web.Response:
    with _answered():
        campaign_id = _id(request)
        async with request.app[POOL].acquire() as conn:
            codes = await resultcodes.list_codes(conn, request[CLIENT_ID], campaign_id)
            return _all(codes, ResultCodeRecord, "Position")


async def _create_code(request: web.Request) -> web.Response:
    return await _write(request, resultcodes.create_code, ResultCodeRecord)


async def _update_code(request: web.Request) -> web.Response:
    async def update(
        conn: Conn, client_id: int, campaign_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await resultcodes.update_code(conn, client_id, campaign_id, _code_id(request), body)

    return await _write(request, update, ResultCodeRecord)


async def _delete_code(request: web.Request) -> web.Response:
    with _answered():
        campaign_id, code_id = _id(request), _code_id(request)
        async with request.app[POOL].acquire() as conn:
            await resultcodes.delete_code(conn, request[CLIENT_ID], campaign_id, code_id)
    return json_response(DiallerStatus(status=200).model_dump())


routes = [
    web.get("/dialler/campaigns", _list),
    web.post("/dialler/campaigns", _create),
    web.get(r"/dialler/campaigns/{id:\d+}", _show),
    web.patch(r"/dialler/campaigns/{id:\d+}", _update),
    web.get(r"/dialler/campaigns/{id:\d+}/resultcodes", _list_codes),
    web.post(r"/dialler/campaigns/{id:\d+}/resultcodes", _create_code),
    web.patch(r"/dialler/campaigns/{id:\d+}/resultcodes/{codeId:\d+}", _update_code),
    web.delete(r"/dialler/campaigns/{id:\d+}/resultcodes/{codeId:\d+}", _delete_code),
]
