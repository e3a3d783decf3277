"""The call task screen's query, pure: its form fields parsed into a search, and the page
cursor (keyset paging: a page starts after, or before, the sort key and id of a row).

Form fields, all optional: ``name`` (the name starts with it, any case), ``number`` (any of
the six, in any format the campaign's default region reads), ``customer`` (UserData or
extCustId), ``state`` (open, locked, done, finished, due), ``outcome`` (the last attempt's
CONNRES), ``next_from`` / ``next_to`` (the next try, ``YYYY-MM-DDTHH:MM`` in the campaign's
time zone, from inclusive, to exclusive), ``sort`` (``id``, ``name``, ``next_try``, each
with a leading ``-`` for descending), ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Generic, TypeVar

from dialerd.domain import Connres, ContactFilter, ContactSort, SearchState
from dialerd.numbers import normalize

MAX_TEXT = 200  # characters in a search field
PAGE_SIZE = 50

T = TypeVar("T")


class SearchError(ValueError):
    """The form cannot be searched: a message per field (``cursor`` for a bad cursor)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Cursor:
    """A page's start: the rows after (or ``before``) the row with this sort key and id, in
    the order of ``sort`` (as the form says it: ``-name`` is by name, descending)."""

    sort: str
    before: bool
    key: str | None
    id: int


@dataclass(frozen=True)
class Search:
    filter: ContactFilter
    sort: ContactSort = ContactSort.ID
    descending: bool = False
    cursor: Cursor | None = None

    @property
    def sort_text(self) -> str:
        return ("-" if self.descending else "") + self.sort.value

    @property
    def ascending_walk(self) -> bool:
        """Whether the store reads in ascending order: a page back reads the other way."""
        before = self.cursor is not None and self.cursor.before
        return self.descending == before


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _local_time(text: str, tz: tzinfo) -> datetime:
    parsed = datetime.fromisoformat(text)  # ValueError: the caller's message
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def parse_search(
    form: Mapping[str, str], campaign_id: int, region: str | None, tz: tzinfo
) -> Search:
    """The search the form asks for, in campaign ``campaign_id`` (numbers read with its
    ``region``, times in its time zone ``tz``). Raises SearchError with every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, raw in form.items():
        value = raw.strip()
        if len(value) > MAX_TEXT:
            errors[name] = f"at most {MAX_TEXT} characters"
        elif "\x00" in value:
            errors[name] = "must not contain NUL characters"
        elif value:
            values[name] = value

    number = None
    if "number" in values:
        number = normalize(values["number"], region)
        if number is None:
            errors["number"] = f"{values['number']!r} is not a possible phone number" + (
                "" if region else " (give it with +country code: the campaign has no region)"
            )
    state = None
    if "state" in values:
        try:
            state = SearchState(values["state"])
        except ValueError:
            errors["state"] = "must be one of " + ", ".join(s.value for s in SearchState)
    connres = None
    if "outcome" in values:
        try:
            connres = Connres(int(values["outcome"]))
        except ValueError:
            errors["outcome"] = "must be a CONNRES from 0 to 7"
    times: dict[str, datetime] = {}
    for name in ("next_from", "next_to"):
        if name in values:
            try:
                times[name] = _local_time(values[name], tz)
            except ValueError:
                errors[name] = (
                    f"must be a date and time like 2026-12-01T08:00, not {values[name]!r}"
                )
    sort_text = values.get("sort", ContactSort.ID.value)
    try:
        sort = ContactSort(sort_text.removeprefix("-"))
    except ValueError:
        errors["sort"] = "must be one of " + ", ".join(s.value for s in ContactSort)
        sort = ContactSort.ID
    cursor = None
    if "cursor" in values:
        try:
            cursor = decode_cursor(values["cursor"])
        except ValueError as exc:
            errors["cursor"] = str(exc)
        else:
            if cursor.sort != sort_text:
                errors["cursor"] = "belongs to another sort order: start from the first page"
    if errors:
        raise SearchError(errors)
    found = ContactFilter(
        campaign_id=campaign_id,
        name_like=_like_prefix(values["name"]) if "name" in values else None,
        number=number,
        customer=values.get("customer"),
        state=state,
        connres=connres,
        next_from=times.get("next_from"),
        next_to=times.get("next_to"),
    )
    return Search(found, sort, sort_text.startswith("-"), cursor)


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.sort, cursor.before, cursor.key, cursor.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor ``encode_cursor`` wrote. Raises ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort, before, key, id_ = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("is not a page cursor of this screen") from None
    if (
        not isinstance(sort, str)
        or sort.removeprefix("-") not in {s.value for s in ContactSort}
        or not isinstance(before, bool)
        or not (key is None or isinstance(key, str))
        or (key is None) != (sort.removeprefix("-") == ContactSort.ID.value)
        or not isinstance(id_, int)
        or isinstance(id_, bool)
        or not 0 < id_ < 2**63
    ):
        raise ValueError("is not a page cursor of this screen")
    return Cursor(sort, before, key, id_)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a search, in the screen's order, and the cursors of its neighbours."""

    items: Sequence[T]
    next: Cursor | None = None
    previous: Cursor | None = None


def make_page(
    search: Search, fetched: Sequence[T], position: Callable[[T], tuple[str | None, int]]
) -> Page[T]:
    """The page of ``fetched``: up to PAGE_SIZE + 1 rows as the store read them (in
    ``search.ascending_walk`` order, from the cursor on); one more than a page means there
    are more that way. ``position`` gives a row's sort key and id."""
    cursor = search.cursor
    more = len(fetched) > PAGE_SIZE
    rows = list(fetched[:PAGE_SIZE])
    back = cursor is not None and cursor.before
    if back:
        rows.reverse()

    def at(item: T | None, before: bool) -> Cursor:
        if item is None:  # an empty page: from where the cursor pointed
            assert cursor is not None
            return Cursor(search.sort_text, before, cursor.key, cursor.id)
        key, id_ = position(item)
        return Cursor(search.sort_text, before, key, id_)

    first, last = (rows[0], rows[-1]) if rows else (None, None)
    # Whence we came there is more; the other way, the store's extra row says.
    has_next = more if not back else True
    has_previous = more if back else cursor is not None
    return Page(
        rows,
        next=at(last, False) if has_next and (rows or cursor) else None,
        previous=at(first, True) if has_previous and (rows or cursor) else None,
    )
