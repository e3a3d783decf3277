"""The two APIs answer errors in their own envelopes.

- Calltask API (``/itxdialer/…``): ``{"statusCode": <code>, "statusText": "<text>"}``.
- Everything else (the dialler API): ``{"status": <http status>, "error": "<reason>"}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, Field

from dialerd.calltasks.errors import REQUEST_MISSING, UNKNOWN_ERROR, CalltaskError

CALLTASK_PREFIX = "/itxdialer/"


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class DiallerStatus(BaseModel):
    """A dialler API answer with nothing else to say (``/health`` too)."""

    status: int = Field(description="the HTTP status")


class DiallerError(DiallerStatus):
    """The dialler API's error envelope."""

    error: str = Field(description="what was wrong, for a person")


class ApiError(Exception):
    """An error answer of the dialler API: ``{"status": …, "error": …}``."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    def response(self) -> web.Response:
        return json_response(
            DiallerError(status=self.status, error=self.error).model_dump(), self.status
        )


def error_response(path: str, http_status: int, text: str) -> web.Response:
    """An error in the envelope of the API that ``path`` belongs to."""
    if path.startswith(CALLTASK_PREFIX):
        # The spec's table has no codes for these: an unreadable or oversized request is a
        # missing request (2); anything else (401, unknown route, 500) is an unknown error (1).
        code = REQUEST_MISSING if http_status in (400, 413) else UNKNOWN_ERROR
        return json_response(CalltaskError(code, text).body(), http_status)
    return ApiError(http_status, text).response()
