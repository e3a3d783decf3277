"""Do-not-call lists (docs/compliance.md), shared by the API, the console and ``dialerd dnc``:
numbers added and removed, a list's pages, a file (CSV, Excel) loaded whole or not at all.

A list is a client's (``client_id``) or the installation's (None), which every client's calls
obey. Numbers are normalised to E.164 as contacts' numbers are (dialerd/numbers.py): a number
without its country code needs the region it is a national number of.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from dialerd.domain import DncEntry
from dialerd.imports import cells
from dialerd.imports.reader import Cell, FileRefused, open_workbook, text_encoding
from dialerd.numbers import is_region, normalize
from dialerd.store import dnc as store

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

log = structlog.get_logger(__name__)

MAX_NUMBERS = 10_000
"""Numbers in one request to add or remove (the API, the console's form); more: a file."""
MAX_SHOWN = 10  # refused numbers or rows named in an error
_PREFIX = re.compile(r"\+?[0-9]{0,20}")
_HEADER_WORDS = ("number", "phone", "nummer", "telefon", "dnc")
_DELIMITERS = ',;\t|"'  # a CSV's (reader.py's), and quoting
_SNIFF_CHARS = 64 * 1024


class DncRejected(Exception):
    """Numbers or a file that cannot be put on a list; nothing was written."""


def _named(refused: Sequence[tuple[object, str]], what: str) -> str:
    shown = ", ".join(f"{where} {text[:40]!r}" for where, text in refused[:MAX_SHOWN])
    more = f" and {len(refused) - MAX_SHOWN} more" if len(refused) > MAX_SHOWN else ""
    return f"{len(refused)} {what} not a phone number, nothing was written: {shown}{more}"


def check_region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if not is_region(region):
        raise DncRejected(f"{region[:10]!r} is not a region code (ISO 3166, e.g. US, DE, NO)")
    return region.upper()


def normalized(raw: Sequence[str], region: str | None) -> list[str]:
    """``raw`` in E.164, in order, or DncRejected naming the numbers that are not."""
    if not raw:
        raise DncRejected("no number was given")
    if len(raw) > MAX_NUMBERS:
        raise DncRejected(f"at most {MAX_NUMBERS} numbers at a time; load more from a file")
    region = check_region(region)
    found, refused = [], []
    for i, text in enumerate(raw):
        number = normalize(text.strip(), region) if text.strip() else None
        if number is None:
            refused.append((f"#{i + 1}", text))
        else:
            found.append(number)
    if refused:
        what = "number is" if len(refused) == 1 else "numbers are"
        raise DncRejected(_named(refused, what))
    return found


def prefix_of(text: str) -> str:
    """A search's start of numbers (``+49``, ``4930``: E.164 with or without its ``+``)."""
    compact = text.strip().replace(" ", "")
    if not _PREFIX.fullmatch(compact):
        raise DncRejected("search by the start of the number: digits, with or without +")
    return compact if compact.startswith("+") or not compact else "+" + compact


async def add(
    conn: Conn, client_id: int | None, raw: Sequence[str], region: str | None, source: str
) -> tuple[list[DncEntry], int]:
    """Puts the numbers on the list: their entries, and how many were new."""
    numbers = normalized(raw, region)
    async with conn.transaction():
        added = await store.add(conn, client_id, numbers, source)
        entries = await store.entries(conn, client_id, numbers)
    log.info("dnc_added", client_id=client_id, sent=len(numbers), added=added, source=source)
    return entries, added


async def remove(
    conn: Conn, client_id: int | None, raw: Sequence[str], region: str | None
) -> list[str]:
    """Takes the numbers off the list: those that were on it."""
    removed = await store.remove(conn, client_id, normalized(raw, region))
    log.info("dnc_removed", client_id=client_id, removed=len(removed))
    return removed


@dataclass(frozen=True)
class Loaded:
    """What a file's load did."""

    rows: int  # rows with a number
    added: int  # numbers that were not on the list yet


def _header_column(row: list[Cell]) -> int | None:
    """The column of the numbers if ``row`` is a header row (text, no number), else None."""
    texts = [cells.text(c) for c in row]
    if any(t and normalize(t, None) for t in texts) or not any(
        any(ch.isalpha() for ch in t) for t in texts
    ):
        return None
    lowered = [t.lower() for t in texts]
    return next((i for i, t in enumerate(lowered) if any(w in t for w in _HEADER_WORDS)), 0)


def _numbers(rows: Iterator[tuple[int, list[Cell]]], region: str | None) -> list[str]:
    found: list[str] = []
    refused: list[tuple[object, str]] = []
    column = 0
    for index, (row_number, row) in enumerate(rows):
        if index == 0 and (header := _header_column(row)) is not None:
            column = header
            continue
        value = row[column] if column < len(row) else ""
        text = value.strip() if isinstance(value, str) else cells.phone(value, region)[0]
        number = normalize(text, region) if text else None
        if number is None:
            if text or any(cells.text(c) for c in row):
                refused.append((f"row {row_number}", text))
            continue
        found.append(number)
    if refused:
        what = "row is" if len(refused) == 1 else "rows are"
        raise DncRejected(_named(refused, what))
    if not found:
        raise DncRejected("the file has no phone number")
    return found


def read_file(path: Path, region: str | None, max_bytes: int | None = None) -> list[str]:
    """The numbers of a CSV or Excel file's first sheet, in E.164: one a row, in the column a
    header row names (number, phone…) or else the first. DncRejected if any row is not a
    phone number (they are named) or the file cannot be read."""
    region = check_region(region)
    try:
        book = open_workbook(path, max_bytes)
        if book.kind == "csv" and (lines := _plain_lines(path)) is not None:
            return _numbers(lines, region)
        return _numbers(book.sheet(book.sheets[0]).rows(), region)
    except FileRefused as exc:
        raise DncRejected(str(exc)) from None


def _plain_lines(path: Path) -> Iterator[tuple[int, list[Cell]]] | None:
    """A text file of one column (no delimiter in its start: what registries ship) line by
    line, without the CSV reader's cost per row (a million rows: seconds); else None."""
    encoding = text_encoding(path)
    with path.open(encoding=encoding, newline="") as file:
        if any(d in file.read(_SNIFF_CHARS) for d in _DELIMITERS):
            return None

    def lines() -> Iterator[tuple[int, list[Cell]]]:
        with path.open(encoding=encoding, newline="") as file:
            for number, line in enumerate(file, start=1):
                text = line.strip()
                if text:
                    yield number, [text]

    return lines()


async def load_file(conn: Conn, client_id: int | None, numbers: Sequence[str], name: str) -> Loaded:
    """Puts a file's numbers (``read_file``'s) on the list, all in one transaction."""
    source = f"file {name}"[:200]
    added = await store.load(conn, client_id, dict.fromkeys(numbers), source)
    log.info("dnc_loaded", client_id=client_id, rows=len(numbers), added=added, source=source)
    return Loaded(len(numbers), added)


async def page(
    conn: Conn, client_id: int | None, search: str, offset: int, limit: int
) -> tuple[list[DncEntry], int]:
    """A page of the list (numbers that start with ``search``), and how many match."""
    return await store.page(conn, client_id, prefix_of(search), offset, limit)
