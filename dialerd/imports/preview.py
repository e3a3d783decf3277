"""The preview of an import: the first rows as the calltask import will take them. Pure.

Each row goes through the calltask import's own checker (``TaskChecker``, the campaign's
default region), and each number cell through ``dialerd.numbers.normalize``, the function the
checker reads numbers with: what the preview accepts is what the import accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dialerd.calltasks.errors import CALL_RECEIVER_NAME_MISSING, REQUEST_MISSING
from dialerd.calltasks.validate import Setup, TaskChecker, TaskError
from dialerd.imports import cells
from dialerd.imports.mapping import EXT_CUST_ID, LOOKUP, NAME, PHONES, RowReader, info_id
from dialerd.imports.reader import Cell
from dialerd.numbers import normalize

# The calltask import's words for its fields, as the console names them.
_WORDS = (
    (re.compile(r"callTasks\[\d+\]\.?"), ""),
    (re.compile(r"callReceiverName"), "receiver name"),
    (re.compile(r"callNumberList"), "phone numbers"),
)


def reason(error: TaskError) -> str:
    """A refused task's error text, with the field names of the console."""
    text = error.text
    for pattern, word in _WORDS:
        text = pattern.sub(word, text)
    return text


@dataclass(frozen=True, slots=True)
class PreviewCell:
    text: str  # a valid number as the E.164 it will be stored as
    ok: bool
    note: str  # what was assumed, or why the cell is refused


@dataclass(frozen=True, slots=True)
class PreviewRow:
    number: int  # the spreadsheet's row number
    cells: list[PreviewCell]
    refused: str  # why the import will refuse the row; "" if it imports it


def preview(
    rows: Iterable[tuple[int, Sequence[Cell]]], reader: RowReader, setup: Setup
) -> list[PreviewRow]:
    checker = TaskChecker(setup, refuse_malformed_tasks=True)
    out = []
    for index, (number, row) in enumerate(rows):
        checker.check(index, reader.task(row))
        error = checker.errors[-1] if checker.errors and checker.errors[-1].index == index else None
        shown = [_cell(reader, row, column, error) for column in range(len(reader.mapping))]
        out.append(PreviewRow(number, shown, reason(error) if error else ""))
    return out


def _cell(
    reader: RowReader, row: Sequence[Cell], column: int, error: TaskError | None
) -> PreviewCell:
    value = row[column] if column < len(row) else None
    field = reader.mapping[column]
    if field in PHONES:
        raw, note = cells.phone(value, reader.region)
        if not raw:
            return PreviewCell("", True, "")
        e164 = normalize(raw, reader.region)
        if e164 is None:
            return PreviewCell(
                raw, False, "; ".join(filter(None, (note, "not a valid phone number")))
            )
        return PreviewCell(e164, True, note)
    shown = cells.text(value)
    if error is not None and _concerns(error, field):
        return PreviewCell(shown, False, reason(error))
    return PreviewCell(shown, True, "")


def _concerns(error: TaskError, field: str) -> bool:
    """Whether a refused task's error is about this column's field."""
    if field == NAME:
        return CALL_RECEIVER_NAME_MISSING in error.codes
    if REQUEST_MISSING not in error.codes:  # a malformed key or info value
        return False
    if field in (EXT_CUST_ID, LOOKUP):
        return f".{field}" in error.text
    return info_id(field) is not None and ".properties" in error.text
