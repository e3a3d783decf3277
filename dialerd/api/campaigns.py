"""Campaigns over HTTP: ``GET/POST/PATCH /dialler/campaigns[/{id}]``.

Thin: reads the request, hands it to dialerd.campaigns.service (which the ``dialerd campaign``
command shares), answers in the dialler envelope. See docs/campaigns.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from dialerd.api.body import BodyTexts, read_object
from dialerd.api.context import CLIENT_ID, POOL
from dialerd.api.errors import ApiError, json_response
from dialerd.campaigns import service
from dialerd.campaigns.schema import INT4_MAX
from dialerd.campaigns.service import (
    CampaignConflict,
    CampaignError,
    CampaignNotFound,
    CampaignRejected,
)

_BODY = BodyTexts(
    missing="the body is missing",
    malformed="the body is not valid JSON",
    not_object="the body must be a JSON object",
)
_STATUS = {CampaignRejected: 400, CampaignNotFound: 404, CampaignConflict: 409}


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


def _one(campaign: dict[str, Any]) -> web.Response:
    return json_response({"records": [campaign], "count": 1, "status": 200})


async def _list(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        records = await service.list_all(conn, request[CLIENT_ID])
    return json_response(
        {
            "filter": "",
            "limitStart": 0,
            "limitPageSize": -1,
            "records": records,
            "count": len(records),
            "orderBy": "Name",
            "ascending": True,
            "status": 200,
        }
    )


async def _show(request: web.Request) -> web.Response:
    with _answered():
        campaign_id = _id(request)
        async with request.app[POOL].acquire() as conn:
            return _one(await service.show(conn, request[CLIENT_ID], campaign_id))


async def _create(request: web.Request) -> web.Response:
    body = await read_object(request, _BODY)
    with _answered():
        async with request.app[POOL].acquire() as conn:
            return _one(await service.create(conn, request[CLIENT_ID], body))


async def _update(request: web.Request) -> web.Response:
    with _answered():
        campaign_id = _id(request)
        body = await read_object(request, _BODY)
        async with request.app[POOL].acquire() as conn:
            return _one(await service.update(conn, request[CLIENT_ID], campaign_id, body))


routes = [
    web.get("/dialler/campaigns", _list),
    web.post("/dialler/campaigns", _create),
    web.get(r"/dialler/campaigns/{id:\d+}", _show),
    web.patch(r"/dialler/campaigns/{id:\d+}", _update),
]
