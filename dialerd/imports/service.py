"""The import from Excel without HTTP: upload, look at a sheet with a mapping (the guess or the
campaign's remembered one) and its preview, start, follow, fetch the refused rows.

The rows become call tasks through the calltask import itself (``dialerd.calltasks.service``),
in the background (``dialerd.imports.jobs``): same checks, same duplicate rule (an open call
task with the same extCustId is updated), all or nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialerd.calltasks.errors import CalltaskError
from dialerd.calltasks.service import precheck
from dialerd.calltasks.validate import Setup
from dialerd.domain import Campaign
from dialerd.imports import cells, mapping, refused
from dialerd.imports.preview import PreviewRow, preview
from dialerd.imports.reader import Cell, FileRefused, Workbook, open_upload, open_workbook
from dialerd.store import campaigns
from dialerd.store import imports as store
from dialerd.store.imports import Job, Settings, Uploader

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

PREVIEW_ROWS = 20
PART_BYTES = 1 << 20
"""An upload is kept in parts of this size (``file_import_parts``), written and read one at a
time."""


class Refused(Exception):
    """Bad input for an import (file, sheet, mapping, settings): nothing was written."""


def request_body(campaign_id: int, chosen: Settings, tasks: list[Any]) -> dict[str, Any]:
    """The calltask import request an import's rows make."""
    return {
        "systemCode": chosen.system_code,
        "callCode": campaign_id,
        "maxCallAttempts": chosen.max_attempts,
        "minCallIntervalHours": chosen.min_call_interval_h,
        "callTasks": tasks,
    }


async def _campaign(conn: Conn, client_id: int, campaign_id: int) -> Campaign:
    campaign = await campaigns.get(conn, client_id, campaign_id)
    if campaign is None:
        raise Refused(f"campaign {campaign_id} is not a campaign of this client")
    return campaign


def open_file(path: Path) -> Workbook:
    """A stored upload's workbook, or Refused with what is wrong with the file."""
    try:
        return open_workbook(path)
    except FileRefused as exc:
        raise Refused(str(exc)) from None


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A folder of this process for an upload's files while they are read; removed after."""
    with tempfile.TemporaryDirectory(prefix="dialerd-import-") as folder:
        yield Path(folder)


async def upload(
    conn: Conn,
    client_id: int,
    campaign_id: int,
    who: Uploader,
    file_name: str,
    path: Path,
    max_bytes: int,
) -> int:
    """Stores the upload at ``path`` if it is a readable spreadsheet, in parts, with its row,
    in one transaction; its id. An .xlsx is stored with its shared strings in its cells."""
    await _campaign(conn, client_id, campaign_id)
    size = (await asyncio.to_thread(path.stat)).st_size
    with scratch() as folder:
        try:
            book = await asyncio.to_thread(open_upload, path, max_bytes, folder / "inlined.xlsx")
        except FileRefused as exc:
            raise Refused(str(exc)) from None
        async with conn.transaction():
            import_id = await store.insert(
                conn, client_id, campaign_id, who, file_name, book.kind, size
            )
            number = 0
            async for data in _parts(book.path):
                await store.insert_part(conn, import_id, number, data)
                number += 1
    return import_id


async def _parts(path: Path) -> AsyncIterator[bytes]:
    file = await asyncio.to_thread(path.open, "rb")
    with file:
        while data := await asyncio.to_thread(file.read, PART_BYTES):
            yield data


@contextlib.asynccontextmanager
async def stored_file(conn: Conn, import_id: int) -> AsyncIterator[Path]:
    """An import's stored file, copied a part at a time to a scratch file of this process for
    as long as the block runs; Refused if it has none any more (its import ended)."""
    with scratch() as folder:
        path = folder / "upload"
        file = await asyncio.to_thread(path.open, "wb")
        number = 0
        with file:
            while (data := await store.part(conn, import_id, number)) is not None:
                await asyncio.to_thread(file.write, data)
                number += 1
        if number == 0:
            raise Refused(f"import {import_id} has no file any more")
        yield path


@dataclass(frozen=True, slots=True)
class Sheet:
    """A sheet of an upload as the mapping form shows it."""

    job: Job
    sheets: list[str]
    sheet: str
    headers: list[str]
    mapping: list[str]
    choices: list[tuple[str, str]]
    rows: list[PreviewRow]  # the first PREVIEW_ROWS
    row_count: int  # rows below the header
    problem: str  # what is wrong with the mapping, "" if it can be imported
    systems: list[str]


async def look(
    conn: Conn,
    client_id: int,
    import_id: int,
    sheet: str | None = None,
    columns: Sequence[str] | None = None,
) -> Sheet:
    """The sheet (the first one by default) with ``columns`` as its mapping, or the campaign's
    remembered one and the guess from the header row, and the preview of its first rows.

    The preview is made from the first rows as they are read; the row count then goes on
    through the rest of the sheet, counting without keeping rows (for an .xlsx, a streaming
    pass in constant memory: about 0.4 s per 100,000 rows)."""
    job = await store.get(conn, import_id, client_id)
    if job is None:
        raise Refused(f"import {import_id} has no file any more")
    campaign = await _campaign(conn, client_id, job.campaign_id)
    info_fields = await store.info_fields(conn)
    remembered = await store.mapping(conn, campaign.id)
    systems = await store.calling_systems(conn)
    setup = Setup(system_known=True, campaign=campaign, info_fields=frozenset(info_fields))

    def read(path: Path) -> Sheet:
        book = open_file(path)
        name = sheet if sheet is not None else book.sheets[0]
        try:
            header, rows = mapping.header_and_rows(book.sheet(name).rows(), name)
        except (FileRefused, mapping.MappingError) as exc:
            raise Refused(str(exc)) from None
        chosen = _fit(columns, len(header)) if columns is not None else None
        fields = chosen or mapping.guess(header, info_fields, remembered)
        problem = ""
        try:
            mapping.check(fields, info_fields)
        except mapping.MappingError as exc:
            problem = str(exc)
        first = list(itertools.islice(rows, PREVIEW_ROWS))
        shown = preview(first, mapping.RowReader(fields, campaign.default_region), setup)
        return Sheet(
            job=job,
            sheets=book.sheets,
            sheet=name,
            headers=[cells.text(h) for h in header],
            mapping=fields,
            choices=mapping.choices(info_fields),
            rows=shown,
            row_count=len(first) + sum(1 for _ in rows),
            problem=problem,
            systems=systems,
        )

    async with stored_file(conn, import_id) as path:
        return await asyncio.to_thread(read, path)


def _fit(columns: Sequence[str], width: int) -> list[str]:
    """A posted mapping made as wide as the header (a missing column is not imported)."""
    return [*columns[:width], *[mapping.IGNORE] * (width - len(columns))]


async def start(
    conn: Conn, client_id: int, import_id: int, chosen: Settings, who: Uploader
) -> None:
    """Queues an upload for the import worker, once its settings pass the calltask import's
    request-level checks; the rows are checked by the import itself."""
    job = await store.get(conn, import_id, client_id)
    if job is None or job.status != "uploaded":
        raise Refused(f"import {import_id} is not waiting to be started")
    try:
        mapping.check(chosen.mapping, await store.info_fields(conn))
    except mapping.MappingError as exc:
        raise Refused(str(exc)) from None
    try:
        # One stand-in task: these checks never look into the tasks.
        await precheck(conn, client_id, request_body(job.campaign_id, chosen, [{}]))
    except CalltaskError as exc:
        raise Refused(exc.status_text) from None
    if not await store.queue(conn, import_id, client_id, chosen, who):
        raise Refused(f"import {import_id} was started already")


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int | None  # None until the file is read
    rate: float | None  # rows per second so far
    seconds_left: float | None


def progress(job: Job) -> Progress:
    """Rows done of total, the rate so far and the time left, from what the job row says."""
    if job.started_at is None or job.progress_at is None or job.rows_total is None:
        return Progress(job.rows_done, job.rows_total, None, None)
    until = job.finished_at or job.now
    elapsed = (until - job.started_at).total_seconds()
    rate = job.rows_done / elapsed if elapsed > 0 and job.rows_done else None
    left = (job.rows_total - job.rows_done) / rate if rate and job.finished_at is None else None
    return Progress(job.rows_done, job.rows_total, rate, left)


async def latest(conn: Conn, client_id: int, limit: int = 20) -> list[Job]:
    """The client's latest imports, newest first."""
    await store.fail_abandoned(conn)
    return await store.latest(conn, client_id, limit)


async def get(conn: Conn, client_id: int, import_id: int) -> Job | None:
    """An import as it stands; a running one whose dialerd is gone is failed first."""
    await store.fail_abandoned(conn)
    return await store.get(conn, import_id, client_id)


async def refused_rows_file(conn: Conn, client_id: int, import_id: int) -> tuple[str, bytes]:
    """(a download name, the .xlsx of refused rows)."""
    found = await store.refused_file(conn, import_id, client_id)
    if found is None:
        raise Refused(f"import {import_id} has no refused rows")
    file_name, data = found
    stem = file_name.rsplit(".", 1)[0] or "import"
    return f"{stem}-refused.xlsx", data


def refused_file(path: Path, sheet: str, reasons: dict[int, str]) -> bytes:
    """The .xlsx of the refused rows (row number -> reason), their cells read again from the
    upload: only the refused rows are kept in memory, and only here."""
    book = open_file(path)
    header, rows = mapping.header_and_rows(book.sheet(sheet).rows(), sheet)
    chosen: list[tuple[int, str, list[Cell]]] = [
        (number, reasons[number], row) for number, row in rows if number in reasons
    ]
    return refused.workbook(header, chosen)
