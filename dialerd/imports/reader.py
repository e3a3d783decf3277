"""Reading an uploaded file: what it is (from its bytes), its sheets, its rows, from a file on
disk.

``.xlsx`` is streamed by python-calamine-plus (a fork of python-calamine): rows are parsed
from the sheet's XML as they are asked for, so memory does not grow with the sheet. An upload is
kept with its shared strings table put in its cells (``open_upload``, ``inline.py``), since the
reader would hold that table whole. ``.xls`` and ``.ods`` are read by python-calamine, which
loads one sheet's cells at once (Rust values, far smaller than Python objects); ``.csv`` by the
stdlib, a line at a time, with the delimiter sniffed and the text UTF-8 (with or without BOM) or
else cp1252.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal, TypeVar, cast

import python_calamine
import python_calamine_plus

from dialerd.imports import inline

Cell = str | int | float | bool | date | datetime | time | timedelta | None
"""A cell as the readers give it: calamine's types, or text from a CSV."""

Kind = Literal["xlsx", "xls", "ods", "csv"]

B = TypeVar("B")

CSV_SHEET = "CSV"
"""The one sheet of a CSV file."""

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_CSV_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
_READ_BYTES = 1 << 20
_DAMAGED_ZIP = "the file is damaged (a broken ZIP archive)"


class FileRefused(Exception):
    """A file that cannot be imported at all; the message says why, for the person uploading."""


def _utf16(name: str) -> bytes:
    """A stream name as an OLE2 directory entry spells it."""
    return name.encode("utf-16-le")


def _contains(path: Path, needles: tuple[bytes, ...]) -> bool:
    """Whether any of ``needles`` is in the file, read a MiB at a time."""
    overlap = max(map(len, needles)) - 1
    tail = b""
    with path.open("rb") as file:
        while block := file.read(_READ_BYTES):
            window = tail + block
            if any(n in window for n in needles):
                return True
            tail = window[-overlap:]
    return False


def detect(path: Path) -> Kind:
    """The file's kind from its first bytes and its structure, never from its name."""
    with path.open("rb") as file:
        head = file.read(_SNIFF_BYTES)
    if not head:
        raise FileRefused("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head.startswith(_OLE2):
        # An encrypted .xlsx is not a ZIP but an OLE2 container, like an .xls.
        if _contains(path, (_utf16("EncryptedPackage"),)):
            raise FileRefused(
                "the file is encrypted (password-protected): save it without a password"
            )
        if _contains(path, (_utf16("Workbook"), _utf16("Book"))):
            return "xls"
        raise FileRefused("an Office file that is not an Excel workbook")
    if b"\x00" in head:
        raise FileRefused("not a spreadsheet: upload an .xlsx, .xls, .ods or .csv file")
    return "csv"


def _zip_kind(path: Path) -> Kind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
                return "ods"
    except zipfile.BadZipFile:
        raise FileRefused(_DAMAGED_ZIP) from None
    raise FileRefused("a ZIP archive that is not an .xlsx or .ods spreadsheet")


def text_encoding(path: Path) -> str:
    """A CSV file's encoding: UTF-8 (a BOM is dropped), else cp1252 (Excel's "CSV" on
    Windows); the whole file is decoded once to know, a MiB at a time."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as file:
                while block := file.read(_READ_BYTES):
                    decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileRefused("the file is neither UTF-8 nor Windows-1252 text")


def sniff_dialect(text: str) -> type[csv.Dialect]:
    """The CSV dialect of ``text`` (a file's start); a single column (nothing to sniff) is
    comma-separated."""
    try:
        return csv.Sniffer().sniff(text, delimiters=_CSV_DELIMITERS)
    except csv.Error:
        return csv.excel


class Workbook:
    """An uploaded file's sheets and rows; ``open_workbook`` makes one. ``path`` is the file
    it reads."""

    def __init__(self, kind: Kind, path: Path) -> None:
        self.kind = kind
        self.path = path
        self._encoding: str | None = None
        self._xlsx: python_calamine_plus.CalamineWorkbook | None = None
        self._book: python_calamine.CalamineWorkbook | None = None
        if kind == "csv":
            self._encoding = text_encoding(path)
            self.sheets = [CSV_SHEET]
            return
        if kind == "xlsx":
            self._xlsx = _opened(kind, python_calamine_plus.CalamineWorkbook.from_path, path)
            work = python_calamine_plus.SheetTypeEnum.WorkSheet
            self.sheets = [m.name for m in self._xlsx.sheets_metadata if m.typ == work]
        else:
            self._book = _opened(kind, python_calamine.CalamineWorkbook.from_path, path)
            sheet = python_calamine.SheetTypeEnum.WorkSheet
            self.sheets = [m.name for m in self._book.sheets_metadata if m.typ == sheet]
        if not self.sheets:
            raise FileRefused("the workbook has no worksheet")

    def sheet(self, name: str) -> Sheet:
        """A sheet: an .xlsx or CSV sheet is read anew from the file each time its rows are
        gone through; an .xls/.ods sheet is loaded whole, once, by calamine."""
        if name not in self.sheets:
            raise FileRefused(f"the file has no sheet {name!r}")
        if self._encoding is not None:
            path, encoding = self.path, self._encoding
            return Sheet(None, lambda: _csv_rows(path, encoding))
        if self._xlsx is not None:
            book = self._xlsx
            return Sheet(None, lambda: _streamed(book, name))
        assert self._book is not None
        try:
            return Sheet(self._book.get_sheet_by_name(name), None)
        except python_calamine.CalamineError as exc:
            raise FileRefused(f"the sheet {name!r} cannot be read: {exc}") from None


RowStream = Callable[[], Iterator[list[Cell]]]
"""Every row of a sheet from its first (row 1), empty ones too, read as they are asked for."""


class Sheet:
    """One sheet's rows, to go through as often as needed (an .xlsx or CSV sheet: reading it
    again from the file, one row at a time)."""

    def __init__(
        self, values: python_calamine.CalamineSheet | None, stream: RowStream | None
    ) -> None:
        self._values = values
        self._stream = stream

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        """The rows that have any cell filled, each with its row number as the spreadsheet
        shows it (1 = the first row)."""
        if self._stream is not None:
            for number, cells in enumerate(self._stream(), start=1):
                if any(cell != "" for cell in cells):
                    yield number, cells
            return
        assert self._values is not None
        # iter_rows starts at row 1 even when the first filled cell is lower (``start``).
        for number, values in enumerate(self._values.iter_rows(), start=1):
            if any(cell != "" for cell in values):
                yield number, list[Cell](values)


def _csv_rows(path: Path, encoding: str) -> Iterator[list[Cell]]:
    """A CSV file's rows, a line at a time; a row of only spaces is an empty one."""
    with path.open(encoding=encoding, newline="") as file:
        dialect = sniff_dialect(file.read(_SNIFF_BYTES))
        file.seek(0)
        try:
            for row in csv.reader(file, dialect):
                yield list[Cell](row) if any(cell.strip() for cell in row) else []
        except csv.Error as exc:
            raise FileRefused(f"the CSV file cannot be read: {exc}") from None


def _streamed(book: python_calamine_plus.CalamineWorkbook, name: str) -> Iterator[list[Cell]]:
    """An .xlsx sheet's rows from row 1 (the stream starts at row 0, column 0, and pads
    missing cells with ""), parsed one at a time; a workbook has one stream at a time."""
    try:
        for cells in book.stream_sheet_by_name(name):
            yield cast(list[Cell], cells)  # plain values: the stream is not rich
    except python_calamine_plus.CalamineError as exc:
        raise FileRefused(f"the sheet {name!r} cannot be read: {exc}") from None


def _opened(kind: Kind, opener: Callable[[str], B], path: Path) -> B:
    try:
        return opener(str(path))
    except (python_calamine.PasswordError, python_calamine_plus.PasswordError):
        raise FileRefused(
            "the file is encrypted (password-protected): save it without a password"
        ) from None
    except Exception as exc:  # calamine's errors have no common base beyond this
        raise FileRefused(f"the file cannot be read as .{kind}: {exc}") from None


def _kind(path: Path, max_bytes: int | None) -> Kind:
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise FileRefused(
            f"the file is {size / 1e6:.1f} MB, larger than the {max_bytes / 1e6:.1f} MB "
            "an import accepts (DIALERD_IMPORT_MAX_BYTES)"
        )
    return detect(path)


def open_workbook(path: Path, max_bytes: int | None = None) -> Workbook:
    """The workbook in the file, or FileRefused: too large (None: a stored upload, checked
    when it came), empty, not a spreadsheet, encrypted or damaged."""
    return Workbook(_kind(path, max_bytes), path)


def open_upload(path: Path, max_bytes: int, inlined: Path) -> Workbook:
    """An upload as it is kept, or FileRefused as by ``open_workbook``: an .xlsx with a shared
    strings table is written to ``inlined`` with its texts in its cells, and read from there
    (its ``path``)."""
    kind = _kind(path, max_bytes)
    if kind == "xlsx":
        try:
            if inline.inline(path, inlined):
                path = inlined
        except inline.Damaged as exc:
            raise FileRefused(f"the file is damaged ({exc})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError):
            raise FileRefused(_DAMAGED_ZIP) from None
        except NotImplementedError as exc:  # a compression method zipfile does not know
            raise FileRefused(f"the file cannot be read as .xlsx: {exc}") from None
    return Workbook(kind, path)
