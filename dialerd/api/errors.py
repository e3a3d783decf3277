"""The two APIs answer errors in their own envelopes.

- Calltask API (``/itxdialer/…``): ``{"statusCode": <code>, "statusText": "<text>"}``.
- Everything else (the dialler API): ``{"status": <http status>, "error": "<reason>"}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

CALLTASK_PREFIX = "/itxdialer/"

# Request-level status codes of the calltask API (the spec's table, with its two lost digits
# restored: INVALID_CALL_INTERVAL is 10 and CALL_TASKS_MISSING is 11).
UNKNOWN_ERROR = 1
REQUEST_MISSING = 2
SYSTEM_CODE_MISSING = 3
INVALID_SYSTEM_CODE = 4
CALL_CODE_MISSING = 5
INVALID_CALL_CODE = 6
MAX_CALL_ATTEMPTS_MISSING = 7
INVALID_MAX_CALL_ATTEMPTS = 8
CALL_INTERVAL_MISSING = 9
INVALID_CALL_INTERVAL = 10
CALL_TASKS_MISSING = 11
INCOMPLETE_SETUP = 12
# Per-task codes.
CALL_RECEIVER_NAME_MISSING = 101
CALL_NUMBER_MISSING = 102
CALL_NUMBER_INVALID = 103


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class ApiError(Exception):
    """An error answer of the dialler API: ``{"status": …, "error": …}``."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    def response(self) -> web.Response:
        return json_response({"status": self.status, "error": self.error}, self.status)


class CalltaskError(Exception):
    """A request-level error of the calltask API: nothing was imported."""

    def __init__(self, http_status: int, status_code: int, status_text: str) -> None:
        super().__init__(status_text)
        self.http_status = http_status
        self.status_code = status_code
        self.status_text = status_text

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "statusText": self.status_text}

    def response(self) -> web.Response:
        return json_response(self.body(), self.http_status)


def error_response(path: str, http_status: int, text: str) -> web.Response:
    """An error in the envelope of the API that ``path`` belongs to."""
    if path.startswith(CALLTASK_PREFIX):
        # The spec's table has no codes for these: an unreadable or oversized request is a
        # missing request (2); anything else (401, unknown route, 500) is an unknown error (1).
        code = REQUEST_MISSING if http_status in (400, 413) else UNKNOWN_ERROR
        return CalltaskError(http_status, code, text).response()
    return ApiError(http_status, text).response()
