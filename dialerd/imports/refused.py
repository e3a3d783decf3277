"""The refused rows of an import as an .xlsx to fix and upload again. Pure: bytes out.

The sheet has the file's own header and columns, so that it can be uploaded as it is once
fixed, after two columns that say which row of the original it was and why it was refused.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, time, timedelta

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from dialerd.imports.reader import Cell

ROW_HEADER = "row"
REASON_HEADER = "refused because"


def workbook(header: Sequence[Cell], rows: Iterable[tuple[int, str, Sequence[Cell]]]) -> bytes:
    """An .xlsx of (row number, reason, the row's cells), written row by row."""
    out = io.BytesIO()
    # constant_memory: each row goes to the file as it is written, whatever the count.
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet("refused rows")
    bold = book.add_format({"bold": True})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for column, title in enumerate([ROW_HEADER, REASON_HEADER, *header]):
        _put(sheet, 0, column, title, bold)
    sheet.set_column(1, 1, 50)
    for line, (number, reason, cells) in enumerate(rows, start=1):
        sheet.write_number(line, 0, number)
        sheet.write_string(line, 1, reason)
        for column, value in enumerate(cells, start=2):
            _put(sheet, line, column, value, stamp)
    book.close()
    return out.getvalue()


def _put(sheet: Worksheet, line: int, column: int, value: Cell, style: Format) -> None:
    """A cell as it was: a number stays a number, text stays text (never a formula)."""
    if isinstance(value, str):
        if value:
            sheet.write_string(line, column, value)
    elif isinstance(value, bool):
        sheet.write_boolean(line, column, value)
    elif isinstance(value, int | float):
        sheet.write_number(line, column, value)
    elif isinstance(value, timedelta):
        sheet.write_string(line, column, str(value))
    elif isinstance(value, date | time):
        sheet.write_datetime(line, column, value, style)
