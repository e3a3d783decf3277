"""The calltask import's status codes and its request-level error.

Plain data, no HTTP: the validator raises the error, the import turns it into its answer, and
the API sends that answer in the calltask envelope ``{"statusCode": n, "statusText": "…"}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# Request-level status codes of the calltask spec (its table, with its two lost digits
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


class CalltaskStatus(BaseModel):
    """The calltask API's error envelope: the request was refused, nothing was imported."""

    statusCode: int = Field(description="the spec's status code (1-12)")
    statusText: str


class CalltaskError(Exception):
    """A request the import refuses as a whole: nothing is imported."""

    def __init__(self, status_code: int, status_text: str) -> None:
        super().__init__(status_text)
        self.status_code = status_code
        self.status_text = status_text

    def body(self) -> dict[str, Any]:
        """The spec's answer to a refused request (sent as it is, or stored for the poll)."""
        return CalltaskStatus(statusCode=self.status_code, statusText=self.status_text).model_dump()
