"""An .xlsx file's shared strings put in its cells (``inline.py``), as an upload is kept: the
same rows as when read with its table, no table left; and the files it leaves as they were."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter

from dialerd.imports.inline import SHARED_STRINGS, inline
from dialerd.imports.reader import FileRefused, open_upload, open_workbook
from tests import sheets

SHEET = "xl/worksheets/sheet1.xml"


def excel_style(rows: int) -> bytes:
    """A workbook as Excel saves one: every text in the shared strings table, rich text, markup
    characters, spaces kept, texts repeated, numbers, a date, a boolean, empty cells."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("S")
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["Name", "Stadt", "Telefon", "Seit", "Aktiv"])
    sheet.write_rich_string(1, 0, "Hans ", bold, "Meier")
    sheet.write_string(1, 1, "Köln & <Umland>")
    sheet.write_string(2, 0, "  spaced  ")
    sheet.write_datetime(2, 3, date(2026, 1, 2), day)
    sheet.write_boolean(2, 4, True)
    for row in range(3, rows):
        sheet.write_string(row, 0, f"Kunde {row}")
        sheet.write_string(row, 1, ("Oslo", "Bergen", "Tokyo")[row % 3])  # repeated texts
        sheet.write_number(row, 2, 4791000000 + row)
    book.close()
    return out.getvalue()


def patched(data: bytes, changes: dict[str, Callable[[bytes], bytes]]) -> bytes:
    """The archive with some of its parts changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            body, change = source.read(name), changes.get(name)
            target.writestr(name, change(body) if change else body)
    return out.getvalue()


def test_an_excel_style_file_is_kept_with_its_texts_in_its_cells(tmp_path: Path) -> None:
    # 15,000 rows (1.3 MB of XML): the sheet's XML is gone through in several segments.
    phonetic = {  # a phonetic reading is no part of the text
        SHARED_STRINGS: lambda b: b.replace(
            b"<t>Tokyo</t>", b'<t>Tokyo</t><rPh sb="0" eb="5"><t>\xe3\x83\x88</t></rPh>'
        )
    }
    original = sheets.saved(tmp_path, patched(excel_style(15_000), phonetic), "original.xlsx")
    book = open_upload(original, 10**8, tmp_path / "inlined.xlsx")
    assert book.path == tmp_path / "inlined.xlsx"
    with zipfile.ZipFile(book.path) as archive:
        assert b'uniqueCount="0"' in archive.read(SHARED_STRINGS)
        assert b't="s"' not in archive.read(SHEET)
    rows = list(book.sheet("S").rows())
    assert rows == list(open_workbook(original).sheet("S").rows())
    assert len(rows) == 15_000
    assert rows[1][1][:2] == ["Hans Meier", "Köln & <Umland>"]
    assert rows[2][1] == ["  spaced  ", "", "", date(2026, 1, 2), True]
    assert rows[-1][1] == ["Kunde 14999", "Tokyo", 4791014999, "", ""]


def test_a_prefixed_namespace_is_kept(tmp_path: Path) -> None:
    """A writer may name SpreadsheetML's namespace with a prefix (<x:c>) in both parts."""

    def prefixed(xml: bytes) -> bytes:
        xml = xml.replace(b' xmlns="http://schemas', b' xmlns:x="http://schemas', 1)
        return re.sub(rb"<(/?)(?=[A-Za-z])(?!x:)", rb"<\1x:", xml)

    data = patched(excel_style(10), {SHARED_STRINGS: prefixed, SHEET: prefixed})
    original = sheets.saved(tmp_path, data, "original.xlsx")
    book = open_upload(original, 10**8, tmp_path / "inlined.xlsx")
    assert book.path == tmp_path / "inlined.xlsx"
    assert list(book.sheet("S").rows()) == list(open_workbook(original).sheet("S").rows())


def test_a_text_cell_of_another_shape_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    comment = {SHEET: lambda b: b.replace(b'<c r="A2" t="s">', b'<c r="A2" t="s"><!-- x -->')}
    original = sheets.saved(tmp_path, patched(excel_style(10), comment), "original.xlsx")
    assert not inline(original, tmp_path / "inlined.xlsx")
    assert not (tmp_path / "inlined.xlsx").exists()
    book = open_upload(original, 10**8, tmp_path / "inlined.xlsx")
    assert book.path == original  # read with its table, as before
    assert list(book.sheet("S").rows())[1][1][0] == "Hans Meier"


def test_a_file_without_shared_strings_is_kept_as_it_is(tmp_path: Path) -> None:
    original = tmp_path / "original.xlsx"
    book = xlsxwriter.Workbook(str(original), {"constant_memory": True})  # texts in cells
    book.add_worksheet("S").write_row(0, 0, ["Name", "Telefon"])
    book.close()
    assert open_upload(original, 10**8, tmp_path / "inlined.xlsx").path == original


def test_a_cell_past_the_shared_strings_is_refused_as_damaged(tmp_path: Path) -> None:
    past = {SHEET: lambda b: b.replace(b'<c r="A2" t="s"><v>5</v>', b'<c r="A2" t="s"><v>99</v>')}
    data = patched(excel_style(3), past)
    assert b"<v>99</v>" in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    with pytest.raises(FileRefused, match=r"damaged \(a cell points to shared string 99 of 8\)"):
        open_upload(sheets.saved(tmp_path, data), 10**8, tmp_path / "inlined.xlsx")
