"""The attempt history of a range as CSV or .xlsx, batch by batch: a million attempts never
sit in memory (the rows come from a cursor, the CSV goes out as it is made, the workbook is
written in xlsxwriter's constant-memory mode to a file that is sent once it is closed).

Times are the campaign's local time: in CSV as ISO 8601 with the UTC offset, in .xlsx (which
has no time zones) as the local wall-clock time, the zone in its own column.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from dialerd.domain import cause_words, connres_words

COLUMNS = (
    "attempt ID",
    "campaign ID",
    "campaign",
    "contact ID",
    "UserData",
    "number",
    "number slot",
    "started",
    "alerted",
    "answered",
    "agent answered",
    "ended",
    "time zone",
    "CONNRES",
    "CONNRES in words",
    "cause",
    "cause in words",
    "agent",
    "talk s",
    "abandoned",
    "machine",
    "callee hung up first",
)
_TIMES = ("dt_call_start", "dt_call_alert", "dt_call_connect", "dt_agent_connect", "dt_call_end")

XLSX_MAX_ROWS = 1_048_576
"""Rows a worksheet holds (the header included); the export goes on in a new sheet."""


def attempt_values(row: Any) -> list[Any]:
    """One attempt (a report_attempts row) as the export's cells, in COLUMNS order."""
    zone = ZoneInfo(row["timezone"])
    times = [None if row[k] is None else row[k].astimezone(zone) for k in _TIMES]
    agent_at, end = row["dt_agent_connect"], row["dt_call_end"]
    talk = None if agent_at is None or end is None else round((end - agent_at).total_seconds(), 3)
    return [
        row["id"],
        row["campaign_id"],
        row["campaign"],
        row["contact_id"],
        row["user_data"],
        row["phone_number"],
        row["phone_number_offset"],
        *times,
        row["timezone"],
        row["connres"],
        connres_words(row["connres"]),
        row["cause_code"],
        cause_words(row["cause_code"]),
        row["agent"],
        talk,
        row["abandoned"],
        row["machine"],
        row["caller_hangup"],
    ]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


async def csv_chunks(batches: AsyncIterable[Sequence[Any]]) -> AsyncIterator[bytes]:
    """The header, then one chunk of UTF-8 CSV per batch of attempts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield out.getvalue().encode()
    async for rows in batches:
        out.seek(0)
        out.truncate()
        writer.writerows([_csv_cell(v) for v in attempt_values(r)] for r in rows)
        yield out.getvalue().encode()


class _Sheets:
    """Worksheets of attempts, a new one when one is full."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "remove_timezone": True,  # the cells hold the local wall-clock time
                "default_date_format": "yyyy-mm-dd hh:mm:ss",
            },
        )
        self._bold = self.book.add_format({"bold": True})
        self._sheet: Worksheet | None = None
        self._row = 0
        self._count = 0

    def write(self, rows: Sequence[Any]) -> None:
        for r in rows:
            if self._sheet is None or self._row == XLSX_MAX_ROWS:
                self._new_sheet()
            assert self._sheet is not None
            self._sheet.write_row(self._row, 0, attempt_values(r))
            self._row += 1

    def close(self) -> None:
        if self._sheet is None:
            self._new_sheet()  # an empty range: the header alone
        self.book.close()

    def _new_sheet(self) -> None:
        self._count += 1
        name = "attempts" if self._count == 1 else f"attempts {self._count}"
        self._sheet = self.book.add_worksheet(name)
        self._sheet.write_row(0, 0, COLUMNS, self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1


async def write_xlsx(batches: AsyncIterable[Sequence[Any]], path: Path) -> None:
    """Writes the attempts into a new workbook at ``path``; the writing runs in a thread so
    that the event loop goes on serving while a large export is made."""
    sheets = _Sheets(path)
    try:
        async for rows in batches:
            await asyncio.to_thread(sheets.write, rows)
    finally:
        await asyncio.to_thread(sheets.close)
