"""The calltask import's JSON, as pydantic models: the request the spec describes, and every
answer, which the import and the API build through these models (so the OpenAPI document,
generated from them, is what is sent).

The request is checked by hand in validate.py (each problem has its spec code, a task's problems
are collected); its model shares validate.py's limits and documents the same request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from dialerd.calltasks.errors import CalltaskStatus
from dialerd.calltasks.validate import (
    INT4_MAX,
    MAX_CALL_ATTEMPTS,
    MAX_CALL_INTERVAL_HOURS,
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_VALUE_LENGTH,
)
from dialerd.domain import MAX_PHONE_NUMBERS

Key = Annotated[str, Field(max_length=MAX_KEY_LENGTH)] | int


class CalltaskProperty(BaseModel):
    """An info field's value for a call task."""

    emprId: int = Field(description="ID of a defined info field (dialerd infofield add)")
    value: Annotated[str, Field(max_length=MAX_VALUE_LENGTH)] | int | float = Field(
        description="the info field's value; a number is kept as its text"
    )
    addToCallTaskName: bool | None = Field(None, description="append the value to callReceiverName")


class CallTask(BaseModel):
    """A call task. callReceiverName and callNumberList are required of a task to be imported;
    a task without them is not refused with the request but answered in callTaskErrors."""

    callReceiverName: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None = Field(
        None, description="missing or empty: the task's error 101"
    )
    callNumberList: Annotated[list[str], Field(max_length=MAX_PHONE_NUMBERS)] | None = Field(
        None,
        description="numbers in the order they are called; missing or empty: the task's "
        "error 102, an impossible number: error 103",
    )
    extCustId: Key | None = Field(
        None,
        description="the calling system's customer number; an open call task with it is updated",
    )
    systemLookupCode: Key | None = None
    properties: list[CalltaskProperty] | CalltaskProperty | None = None


class CalltaskImportRequest(BaseModel):
    """``POST /itxdialer/calltaskimport``; a missing or bad field is refused as a whole (400)
    with the spec's code, in the spec's order."""

    systemCode: Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH)] = Field(
        description="a registered calling system (dialerd system add)"
    )
    callCode: Annotated[int, Field(ge=1, le=INT4_MAX)] = Field(
        description="the ID of a campaign of the token's client"
    )
    maxCallAttempts: Annotated[int, Field(ge=1, le=MAX_CALL_ATTEMPTS)]
    minCallIntervalHours: Annotated[int, Field(ge=0, le=MAX_CALL_INTERVAL_HOURS)]
    callTasks: Annotated[list[CallTask], Field(min_length=1)]


# A result's entries are typed dicts, not models: an import answers up to 100,000 of them, and
# building them as they are sent costs nothing (mypy checks their keys and types).
class CallTaskError(TypedDict):
    """A call task that was not imported; callTaskIndex is its zero-based index."""

    callTaskIndex: int
    errorCodes: list[int]
    errorText: str


class StoredProperty(TypedDict):
    emprId: int
    value: str


class ImportedCallTask(TypedDict):
    """A call task as stored (``returnImportedCallTasks=true``): callTaskId is the contact's ID
    in the dialler contacts API; created is false where an open call task with its extCustId
    was updated; callNumberList is in E.164."""

    callTaskIndex: int
    callTaskId: int
    created: bool
    callReceiverName: str
    callNumberList: list[str]
    extCustId: str | None
    systemLookupCode: str | None
    properties: list[StoredProperty]


class CalltaskImportResult(BaseModel):
    """200: the request was handled; the tasks in callTaskErrors were not imported."""

    callTaskErrors: list[CallTaskError]
    callTasks: list[ImportedCallTask] | None = Field(
        None, description="only with returnImportedCallTasks=true"
    )

    @classmethod
    def of(
        cls, errors: list[CallTaskError], tasks: list[ImportedCallTask] | None
    ) -> dict[str, Any]:
        """The import's answer, unvalidated: its entries are typed already."""
        return cls.model_construct(callTaskErrors=errors, callTasks=tasks).body()

    def body(self) -> dict[str, Any]:
        """The JSON object; callTasks only when asked for (null is not the spec's absent)."""
        body: dict[str, Any] = {"callTaskErrors": self.callTaskErrors}
        if self.callTasks is not None:
            body["callTasks"] = self.callTasks
        return body


class CalltaskQueued(BaseModel):
    """200 of ``importAsync=true``: the request passed its request-level checks and is queued."""

    importId: str
    status: Literal["queued"]
    statusUrl: str


class CalltaskPending(BaseModel):
    """202 of the poll: not imported yet."""

    importId: str
    status: Literal["queued"]


class CalltaskDone(CalltaskImportResult):
    """200 of the poll: what the synchronous import would have answered."""

    importId: str
    status: Literal["done"]

    def body(self) -> dict[str, Any]:
        return super().body() | {"importId": self.importId, "status": self.status}


class CalltaskRefused(CalltaskStatus):
    """400 (refused, nothing imported) or 500 (the import failed) of the poll."""

    importId: str
    status: Literal["done", "failed"]

    def body(self) -> dict[str, Any]:
        return self.model_dump()
