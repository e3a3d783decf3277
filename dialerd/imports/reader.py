"""Reading an uploaded file: what it is (from its bytes), its sheets, its rows. No I/O: the
upload is bytes in memory.

``.xlsx`` is streamed by python-calamine-plus (a fork of python-calamine): rows are parsed
from the sheet's XML as they are asked for, so memory does not grow with the sheet (only the
workbook's shared strings table is held whole). ``.xls`` and ``.ods`` are read by
python-calamine, which loads one sheet's cells at once (Rust values, far smaller than Python
objects); ``.csv`` by the stdlib, with the delimiter sniffed and the text UTF-8 (with or without
BOM) or else cp1252.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeVar, cast

import python_calamine
import python_calamine_plus

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


class FileRefused(Exception):
    """A file that cannot be imported at all; the message says why, for the person uploading."""


def _utf16(name: str) -> bytes:
    """A stream name as an OLE2 directory entry spells it."""
    return name.encode("utf-16-le")


def detect(data: bytes) -> Kind:
    """The file's kind from its first bytes and its structure, never from its name."""
    if not data:
        raise FileRefused("the file is empty")
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if data.startswith(_OLE2):
        # An encrypted .xlsx is not a ZIP but an OLE2 container, like an .xls.
        if _utf16("EncryptedPackage") in data:
            raise FileRefused(
                "the file is encrypted (password-protected): save it without a password"
            )
        if _utf16("Workbook") in data or _utf16("Book") in data:
            return "xls"
        raise FileRefused("an Office file that is not an Excel workbook")
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise FileRefused("not a spreadsheet: upload an .xlsx, .xls, .ods or .csv file")
    return "csv"


def _zip_kind(data: bytes) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
                return "ods"
    except zipfile.BadZipFile:
        raise FileRefused("the file is damaged (a broken ZIP archive)") from None
    raise FileRefused("a ZIP archive that is not an .xlsx or .ods spreadsheet")


def decode_text(data: bytes) -> str:
    """A CSV file's text: UTF-8 (a BOM is dropped), else cp1252 (Excel's "CSV" on Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise FileRefused("the file is neither UTF-8 nor Windows-1252 text") from None


def sniff_dialect(text: str) -> type[csv.Dialect]:
    """The CSV dialect of ``text``; a single column (nothing to sniff) is comma-separated."""
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=_CSV_DELIMITERS)
    except csv.Error:
        return csv.excel


class Workbook:
    """An uploaded file's sheets and rows; ``open_workbook`` makes one."""

    def __init__(self, kind: Kind, data: bytes) -> None:
        self.kind = kind
        self._data = data
        self._text: str | None = None
        self._xlsx: python_calamine_plus.CalamineWorkbook | None = None
        self._book: python_calamine.CalamineWorkbook | None = None
        if kind == "csv":
            self._text = decode_text(data)
            self.sheets = [CSV_SHEET]
            return
        if kind == "xlsx":
            self._xlsx = _opened(kind, python_calamine_plus.CalamineWorkbook.from_filelike, data)
            work = python_calamine_plus.SheetTypeEnum.WorkSheet
            self.sheets = [m.name for m in self._xlsx.sheets_metadata if m.typ == work]
        else:
            self._book = _opened(kind, python_calamine.CalamineWorkbook.from_filelike, data)
            sheet = python_calamine.SheetTypeEnum.WorkSheet
            self.sheets = [m.name for m in self._book.sheets_metadata if m.typ == sheet]
        if not self.sheets:
            raise FileRefused("the workbook has no worksheet")

    def sheet(self, name: str) -> Sheet:
        """A sheet: an .xlsx sheet is streamed anew each time its rows are gone through; an
        .xls/.ods sheet is loaded whole, once, by calamine."""
        if name not in self.sheets:
            raise FileRefused(f"the file has no sheet {name!r}")
        if self._text is not None:
            return Sheet(None, self._text, None)
        if self._xlsx is not None:
            book = self._xlsx
            return Sheet(None, None, lambda: _streamed(book, name))
        assert self._book is not None
        try:
            return Sheet(self._book.get_sheet_by_name(name), None, None)
        except python_calamine.CalamineError as exc:
            raise FileRefused(f"the sheet {name!r} cannot be read: {exc}") from None


RowStream = Callable[[], Iterator[list[Cell]]]
"""Every row of a sheet from its first (row 1), empty ones too, read as they are asked for."""


class Sheet:
    """One sheet's rows, to go through as often as needed without reading the file again (an
    .xlsx sheet: parsing it again from the upload's bytes, one row at a time)."""

    def __init__(
        self,
        values: python_calamine.CalamineSheet | None,
        text: str | None,
        stream: RowStream | None,
    ) -> None:
        self._values = values
        self._text = text
        self._stream = stream

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        """The rows that have any cell filled, each with its row number as the spreadsheet
        shows it (1 = the first row)."""
        if self._text is not None:
            reader = csv.reader(io.StringIO(self._text, newline=""), sniff_dialect(self._text))
            try:
                for number, row in enumerate(reader, start=1):
                    if any(cell.strip() for cell in row):
                        yield number, list[Cell](row)
            except csv.Error as exc:
                raise FileRefused(f"the CSV file cannot be read: {exc}") from None
            return
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


def _streamed(book: python_calamine_plus.CalamineWorkbook, name: str) -> Iterator[list[Cell]]:
    """An .xlsx sheet's rows from row 1 (the stream starts at row 0, column 0, and pads
    missing cells with ""), parsed one at a time; a workbook has one stream at a time."""
    try:
        for cells in book.stream_sheet_by_name(name):
            yield cast(list[Cell], cells)  # plain values: the stream is not rich
    except python_calamine_plus.CalamineError as exc:
        raise FileRefused(f"the sheet {name!r} cannot be read: {exc}") from None


def _opened(kind: Kind, opener: Callable[[io.BytesIO], B], data: bytes) -> B:
    try:
        return opener(io.BytesIO(data))
    except (python_calamine.PasswordError, python_calamine_plus.PasswordError):
        raise FileRefused(
            "the file is encrypted (password-protected): save it without a password"
        ) from None
    except Exception as exc:  # calamine's errors have no common base beyond this
        raise FileRefused(f"the file cannot be read as .{kind}: {exc}") from None


def open_workbook(data: bytes, max_bytes: int) -> Workbook:
    """The workbook in ``data``, or FileRefused: too large, empty, not a spreadsheet,
    encrypted or damaged."""
    if len(data) > max_bytes:
        raise FileRefused(
            f"the file is {len(data) / 1e6:.1f} MB, larger than the {max_bytes / 1e6:.1f} MB "
            "an import accepts (DIALERD_IMPORT_MAX_BYTES)"
        )
    return Workbook(detect(data), data)
