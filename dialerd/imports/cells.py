"""A cell's value as the text a call task field gets, and what was assumed on the way. Pure.

Spreadsheets keep numbers, dates and booleans as such; a call task has text. A whole number
loses its ``.0`` (``5124.0`` is extCustId ``5124``); dates are ISO (``2026-01-02``,
``2026-01-02 08:30``); booleans ``TRUE``/``FALSE`` as Excel shows them; an empty cell is no
value. A phone number in a numeric cell has lost its leading ``+`` or ``0``:
``dialerd.numbers.restore_numeric`` puts it back and the note says so.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from dialerd.imports.reader import Cell
from dialerd.numbers import restore_numeric


def text(value: Cell) -> str:
    """The cell as text, trimmed; "" for an empty cell."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, datetime):  # before date: a datetime is a date
        spec = "minutes" if value.second == 0 and value.microsecond == 0 else "seconds"
        return value.isoformat(sep=" ", timespec=spec)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    seconds = int(value.total_seconds())  # a duration
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def phone(value: Cell, default_region: str | None) -> tuple[str, str]:
    """A phone number cell as text for the calltask import, and what was assumed ("" if
    nothing). A cell of another kind (a fraction, a date, a boolean) keeps its text and the
    import refuses it as a number."""
    if (type(value) is float and value.is_integer()) or type(value) is int:  # not a bool
        digits = str(int(value))
        if int(value) <= 0:
            return digits, ""
        restored, how = restore_numeric(digits, default_region)
        return restored, f"numeric cell {digits}: {how}"
    if isinstance(value, str):
        return value.strip(), ""
    if isinstance(value, bool):
        return text(value), "a TRUE/FALSE cell, not a number"
    if isinstance(value, date | time | timedelta):
        return text(value), "a date or time cell, not a number"
    return text(value), ""
