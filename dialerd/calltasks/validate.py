"""Validation of a calltask import request, without I/O.

What the database knows (is the systemCode registered, the campaign behind callCode, the defined
info fields) comes in as a ``Setup``; the result is a ``Plan`` of valid tasks plus the per-task
errors, or a ``CalltaskError`` for the whole request. Being pure, it is tested without a
database and runs in a worker thread: 100,000 tasks take about a second of CPU.

Hand-written rather than a pydantic model: every problem must map to one of the spec's codes,
and a task's problems are collected (not stopped at the first) into one error entry.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from dialerd.calltask import Task
from dialerd.calltasks import errors as codes
from dialerd.calltasks.errors import CalltaskError
from dialerd.domain import MAX_PHONE_NUMBERS, Campaign
from dialerd.numbers import normalize

MAX_NAME_LENGTH = 500
MAX_KEY_LENGTH = 255  # extCustId, systemLookupCode, systemCode: they are indexed
MAX_VALUE_LENGTH = 4000
MAX_CALL_ATTEMPTS = 1000
MAX_CALL_INTERVAL_HOURS = 8760
INT4_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Setup:
    """What the store says about a request's references."""

    system_known: bool
    campaign: Campaign | None
    info_fields: frozenset[int]


@dataclass(frozen=True, slots=True)
class TaskError:
    index: int
    codes: list[int]
    text: str


@dataclass(slots=True)
class Plan:
    system_code: str
    campaign_id: int
    max_attempts: int
    min_call_interval_h: int
    tasks: list[Task] = field(default_factory=list)  # the valid ones, in request order
    errors: list[TaskError] = field(default_factory=list)


def latest_per_key(tasks: list[Task]) -> list[Task]:
    """The tasks to store: of several with one extCustId, the last one (it wins)."""
    last = {t.ext_cust_id: t.index for t in tasks if t.ext_cust_id is not None}
    return [t for t in tasks if t.ext_cust_id is None or last[t.ext_cust_id] == t.index]


def _is_int(value: Any) -> TypeGuard[int]:
    return type(value) is int  # not bool, which is an int subclass


def lookup_keys(body: dict[str, Any]) -> tuple[str | None, int | None]:
    """The systemCode and callCode to look up, where they are well-formed."""
    system = body.get("systemCode")
    call = body.get("callCode")
    system_ok = (
        isinstance(system, str) and 0 < len(system) <= MAX_KEY_LENGTH and "\x00" not in system
    )
    return (
        system if system_ok else None,
        call if _is_int(call) and 0 < call <= INT4_MAX else None,
    )


def request_error(body: dict[str, Any], setup: Setup) -> CalltaskError | None:
    """The first request-level problem in the order of the spec's table (3 to 12)."""

    system, call = lookup_keys(body)
    raw_system = body.get("systemCode")
    if raw_system is None or raw_system == "":
        return CalltaskError(codes.SYSTEM_CODE_MISSING, "systemCode is missing")
    if system is None:
        return CalltaskError(
            codes.INVALID_SYSTEM_CODE,
            f"systemCode must be a string of 1-{MAX_KEY_LENGTH} characters without NUL",
        )
    if not setup.system_known:
        return CalltaskError(
            codes.INVALID_SYSTEM_CODE,
            f"systemCode {system!r} is not registered (dialerd system add)",
        )
    if body.get("callCode") is None:
        return CalltaskError(codes.CALL_CODE_MISSING, "callCode is missing")
    if call is None:
        return CalltaskError(codes.INVALID_CALL_CODE, "callCode must be a positive integer")
    if setup.campaign is None:
        return CalltaskError(
            codes.INVALID_CALL_CODE, f"callCode {call} is not a campaign of this client"
        )
    attempts = body.get("maxCallAttempts")
    if attempts is None:
        return CalltaskError(codes.MAX_CALL_ATTEMPTS_MISSING, "maxCallAttempts is missing")
    if not _is_int(attempts) or not 1 <= attempts <= MAX_CALL_ATTEMPTS:
        return CalltaskError(
            codes.INVALID_MAX_CALL_ATTEMPTS,
            f"maxCallAttempts must be an integer from 1 to {MAX_CALL_ATTEMPTS}",
        )
    interval = body.get("minCallIntervalHours")
    if interval is None:
        return CalltaskError(codes.CALL_INTERVAL_MISSING, "minCallIntervalHours is missing")
    if not _is_int(interval) or not 0 <= interval <= MAX_CALL_INTERVAL_HOURS:
        return CalltaskError(
            codes.INVALID_CALL_INTERVAL,
            f"minCallIntervalHours must be an integer from 0 to {MAX_CALL_INTERVAL_HOURS}",
        )
    tasks = body.get("callTasks")
    if not isinstance(tasks, list) or not tasks:
        return CalltaskError(
            codes.CALL_TASKS_MISSING, "callTasks is missing or not a non-empty list"
        )
    missing = [
        what
        for what, value in (
            ("queue", setup.campaign.queue),
            ("dial string", setup.campaign.dial_string),
        )
        if not value
    ]
    if missing:
        return CalltaskError(
            codes.INCOMPLETE_SETUP,
            f"campaign {call} has no {' and no '.join(missing)} (dialerd campaign update)",
        )
    return None


def check_request(body: dict[str, Any], setup: Setup) -> None:
    """Raises the first request-level error found without looking into the tasks."""
    error = request_error(body, setup)
    if error is not None:
        raise error


def validate(body: dict[str, Any], setup: Setup) -> Plan:
    """The import plan of a parsed request, or the request-level error (first in table order)."""
    checker = TaskChecker(setup)
    error = request_error(body, setup)
    if error is not None:
        raise checker.malformed_task(body) or error
    checker.check_range(body["callTasks"], 0, len(body["callTasks"]))
    unknown = checker.unknown_fields_error()
    if unknown is not None:
        raise unknown
    return checker.plan(body)


def _malformed(where: str, what: str) -> CalltaskError:
    return CalltaskError(codes.REQUEST_MISSING, f"{where} {what}")


def _key(value: Any, index: int, name: str) -> str | None:
    """An optional identifier: a string or an integer; empty means absent."""
    if type(value) is str and len(value) <= MAX_KEY_LENGTH and "\x00" not in value:
        return value.strip() or None  # the common case first: 100,000 tasks, two keys each
    if value is None:
        return None
    if _is_int(value):
        return str(value)
    raise _malformed(
        f"callTasks[{index}].{name}",
        f"must be a string of at most {MAX_KEY_LENGTH} characters without NUL, or an integer",
    )


class TaskChecker:
    """Checks the tasks of a request whose header is valid, in ranges (so that an import can
    write one range while the next is checked), collecting valid tasks, per-task errors and
    undefined emprIds. A malformed task raises CalltaskError (code 2), or with
    ``refuse_malformed_tasks`` (a file import, where one bad row is not the whole file's fault)
    becomes that task's error, code 2 and the same text."""

    def __init__(self, setup: Setup, *, refuse_malformed_tasks: bool = False) -> None:
        self.setup = setup
        self.refuse_malformed_tasks = refuse_malformed_tasks
        self.region = setup.campaign.default_region if setup.campaign else None
        self.info_fields = setup.info_fields
        self.tasks: list[Task] = []
        self.errors: list[TaskError] = []
        self.unknown_fields: set[int] = set()

    def check_range(self, raw_tasks: list[Any], start: int, stop: int) -> list[Task]:
        """Checks tasks ``start`` to ``stop`` (exclusive); returns the valid ones."""
        first = len(self.tasks)
        for index in range(start, min(stop, len(raw_tasks))):
            self.check(index, raw_tasks[index])
        return self.tasks[first:]

    def malformed_task(self, body: dict[str, Any]) -> CalltaskError | None:
        """The code-2 error of the first malformed task, if any (it outranks header errors)."""
        raw_tasks = body.get("callTasks")
        if isinstance(raw_tasks, list):
            try:
                self.check_range(raw_tasks, 0, len(raw_tasks))
            except CalltaskError as exc:
                return exc
        return None

    def unknown_fields_error(self) -> CalltaskError | None:
        if not self.unknown_fields:
            return None
        ids = ", ".join(str(i) for i in sorted(self.unknown_fields))
        return CalltaskError(
            codes.INCOMPLETE_SETUP,
            f"info field (emprId) {ids} is not defined (dialerd infofield add)",
        )

    def plan(self, body: dict[str, Any]) -> Plan:
        """The plan of a request whose header is valid, with the tasks checked so far."""
        assert self.setup.campaign is not None  # a valid header names a campaign
        return Plan(
            system_code=body["systemCode"],
            campaign_id=self.setup.campaign.id,
            max_attempts=body["maxCallAttempts"],
            min_call_interval_h=body["minCallIntervalHours"],
            tasks=self.tasks,
            errors=self.errors,
        )

    def check(self, index: int, raw: Any) -> None:
        if not self.refuse_malformed_tasks:
            self._check(index, raw)
            return
        try:
            self._check(index, raw)
        except CalltaskError as exc:
            self.errors.append(TaskError(index, [exc.status_code], exc.status_text))

    def _check(self, index: int, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise _malformed(f"callTasks[{index}]", "must be an object")
        ext_cust_id = _key(raw.get("extCustId"), index, "extCustId")
        lookup = _key(raw.get("systemLookupCode"), index, "systemLookupCode")
        properties, suffixes = self._properties(raw.get("properties"), index)
        error_codes: list[int] = []
        texts: list[str] = []
        name = self._name(raw.get("callReceiverName"), suffixes, error_codes, texts)
        numbers = self._numbers(raw.get("callNumberList"), error_codes, texts)
        if error_codes:
            self.errors.append(TaskError(index, error_codes, "; ".join(texts)))
            return
        self.tasks.append(Task(index, name, numbers, ext_cust_id, lookup, properties))

    @staticmethod
    def _name(raw: Any, suffixes: list[str], error_codes: list[int], texts: list[str]) -> str:
        problem = None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problem = "callReceiverName is missing/empty"
        elif not isinstance(raw, str):
            problem = "callReceiverName must be a string"
        elif "\x00" in raw:
            problem = "callReceiverName contains a NUL character"
        else:
            name = " ".join([raw.strip(), *suffixes]) if suffixes else raw.strip()
            name = unicodedata.normalize("NFC", name)
            if len(name) <= MAX_NAME_LENGTH:
                return name
            problem = f"callReceiverName is longer than {MAX_NAME_LENGTH} characters"
        error_codes.append(codes.CALL_RECEIVER_NAME_MISSING)
        texts.append(problem)
        return ""

    def _numbers(self, raw: Any, error_codes: list[int], texts: list[str]) -> list[str]:
        if raw is None or raw == []:
            error_codes.append(codes.CALL_NUMBER_MISSING)
            texts.append("callNumberList is missing/empty")
            return []
        problem = None
        if not isinstance(raw, list):
            problem = "callNumberList must be a list of strings"
        elif len(raw) > MAX_PHONE_NUMBERS:
            problem = f"callNumberList has {len(raw)} numbers, at most {MAX_PHONE_NUMBERS} allowed"
        else:
            region = self.region
            numbers = [normalize(n, region) if type(n) is str else None for n in raw]
            if None not in numbers:
                return numbers  # type: ignore[return-value]  # no None left
            bad = (repr(n)[:40] for n, e164 in zip(raw, numbers, strict=True) if e164 is None)
            problem = "not a valid phone number: " + ", ".join(bad)
        error_codes.append(codes.CALL_NUMBER_INVALID)
        texts.append(problem)
        return []

    def _properties(self, raw: Any, index: int) -> tuple[dict[str, str], list[str]]:
        """Info field values by id, and the values to append to the name, in order."""
        if raw is None:
            return {}, []
        where = f"callTasks[{index}]"
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list):
            raise _malformed(f"{where}.properties", "must be an object or a list of objects")
        values: dict[str, str] = {}
        suffixes: list[str] = []
        for position, item in enumerate(items):
            at = f"{where}.properties[{position}]"
            if not isinstance(item, dict):
                raise _malformed(at, "must be an object")
            field_id = item.get("emprId")
            if not _is_int(field_id):
                raise _malformed(f"{at}.emprId", "must be an integer")
            value = item.get("value")
            if _is_int(value) or isinstance(value, float):
                value = str(value)
            if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH or "\x00" in value:
                raise _malformed(
                    f"{at}.value", f"must be a string of at most {MAX_VALUE_LENGTH}, without NUL"
                )
            add = item.get("addToCallTaskName")
            if add is not None and not isinstance(add, bool):
                raise _malformed(f"{at}.addToCallTaskName", "must be true or false")
            if field_id not in self.info_fields:
                self.unknown_fields.add(field_id)
            values[str(field_id)] = value
            if add and value.strip():
                suffixes.append(value.strip())
        return values, suffixes
