"""The import from Excel without I/O: file kinds, cells, the header guess, rows as tasks, the
preview, the progress figures."""

from __future__ import annotations

import io
import itertools
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from dialerd.calltasks.validate import Setup
from dialerd.imports import cells, mapping
from dialerd.imports.jobs import _Counts
from dialerd.imports.preview import preview
from dialerd.imports.reader import FileRefused, detect, open_workbook
from dialerd.imports.service import progress
from dialerd.numbers import restore_numeric
from dialerd.store.calltasks import Written
from dialerd.store.imports import Job
from tests import sheets
from tests.unit.fakes import campaign

ROWS: list[list[object]] = [
    ["Name", "Telefon", "Kundennummer"],
    ["Hans", 4915112345678, 5124],
    ["Grete", "x", 7],
]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (sheets.xlsx({"Kunden": ROWS}), "xlsx"),
        (sheets.xls(ROWS), "xls"),
        (sheets.ods(ROWS), "ods"),
        (sheets.csv_bytes(ROWS), "csv"),
    ],
)
def test_the_kind_comes_from_the_bytes_and_every_kind_reads(
    tmp_path: Path, data: bytes, kind: str
) -> None:
    path = sheets.saved(tmp_path, data)
    assert detect(path) == kind
    book = open_workbook(path, 10**7)
    rows = list(book.sheet(book.sheets[0]).rows())
    assert [n for n, _ in rows] == [1, 2, 3]
    assert cells.text(rows[1][1][2]) == "5124"  # 5124.0 in a spreadsheet, "5124" in a CSV


@pytest.mark.parametrize(
    "data",
    [
        sheets.xlsx({"S": [[], [], ["h", "x"], [1, 2], [], [None, None, "z"]]}),
        sheets.xls([[None], [None], ["h", "x"], [1, 2], [None], [None, None, "z"]]),
    ],
)
def test_row_numbers_are_the_spreadsheets_below_leading_empty_rows(
    tmp_path: Path, data: bytes
) -> None:
    book = open_workbook(sheets.saved(tmp_path, data), 10**7)
    assert [n for n, _ in book.sheet(book.sheets[0]).rows()] == [3, 4, 6]


def test_an_xlsx_sheet_is_streamed_not_loaded_whole(tmp_path: Path) -> None:
    """The first rows of a large sheet come out while its end, broken, is not read yet: a
    reader that loads the whole sheet first (python-calamine's get_sheet_by_name) refuses it
    before giving any row."""
    last = 20_000
    data = sheets.xlsx({"S": [["Name", "Tel"], *([f"P{i}", 4791000000 + i] for i in range(last))]})
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as broken:
        for name in source.namelist():
            body = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                body = body.replace(f'<row r="{last}" '.encode(), b'<row r="x"></row><row ')
            broken.writestr(name, body)
    rows = open_workbook(sheets.saved(tmp_path, out.getvalue()), 10**8).sheet("S").rows()
    assert list(itertools.islice(rows, 3)) == [
        (1, ["Name", "Tel"]), (2, ["P0", 4791000000]), (3, ["P1", 4791000001]),
    ]  # fmt: skip
    with pytest.raises(FileRefused, match="cannot be read"):
        sum(1 for _ in rows)  # the broken row, near the end, is reached only now


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (sheets.encrypted_xlsx_stand_in(), "encrypted"),
        (b"%PDF-1.4\x00\x01binary", "not a spreadsheet"),
        (b"PK\x03\x04broken", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "not an Excel workbook"),
    ],
)
def test_files_that_are_no_spreadsheet_are_refused_with_a_reason(
    tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(FileRefused, match=message):
        open_workbook(sheets.saved(tmp_path, data), 10**7)


def test_a_zip_that_is_no_spreadsheet_and_a_file_too_large_are_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(FileRefused, match=r"not an \.xlsx or \.ods"):
        open_workbook(sheets.saved(tmp_path, out.getvalue()), 10**7)
    with pytest.raises(FileRefused, match="DIALERD_IMPORT_MAX_BYTES"):
        open_workbook(sheets.saved(tmp_path, sheets.csv_bytes(ROWS)), 10)


def test_csv_delimiter_is_sniffed_and_encodings_are_utf8_with_bom_or_cp1252(
    tmp_path: Path,
) -> None:
    rows = [["Name", "Telefon"], ["Jürgen Müller", "+4915112345678"]]
    for data in (
        sheets.csv_bytes(rows, delimiter=";", encoding="cp1252"),
        b"\xef\xbb\xbf" + sheets.csv_bytes(rows, delimiter="\t"),
        sheets.csv_bytes(rows, delimiter="|"),
    ):
        book = open_workbook(sheets.saved(tmp_path, data), 10**7)
        assert list(book.sheet("CSV").rows()) == [(1, rows[0]), (2, rows[1])]


def test_cells_become_text_deliberately() -> None:
    assert cells.text(5124.0) == "5124"
    assert cells.text(1.5) == "1.5"
    assert cells.text(True) == "TRUE"
    assert cells.text(None) == "" and cells.text("  ") == ""
    assert cells.text(date(2026, 1, 2)) == "2026-01-02"
    assert cells.text(datetime(2026, 1, 2, 8, 30)) == "2026-01-02 08:30"
    assert cells.text(time(8, 30, 5)) == "08:30:05"
    assert cells.text(timedelta(hours=1, minutes=2, seconds=3)) == "1:02:03"


def test_numeric_phone_cells_get_their_lost_plus_or_zero_back() -> None:
    assert cells.phone(4915112345678.0, "DE") == (
        "+4915112345678",
        "numeric cell 4915112345678: leading + restored",
    )
    text, note = cells.phone(15112345678.0, "DE")
    assert text == "015112345678" and "leading 0 restored" in note
    assert restore_numeric("12345678", "NO") == ("12345678", "a national number of NO")
    assert restore_numeric("4712345678", None) == ("+4712345678", "leading + restored")
    assert cells.phone("+47 912 34 567", "NO") == ("+47 912 34 567", "")
    assert cells.phone(date(2026, 1, 2), "NO")[1] == "a date or time cell, not a number"


def test_the_guess_reads_usual_header_names_in_several_languages() -> None:
    headers = ["Kunde", "Telefon", "Mobil", "Kundennummer", "Stadt", "Référence", "phone 3"]
    assert mapping.guess(headers, {216: "Stadt"}) == [
        "name", "phone1", "phone2", "extCustId", "info:216", "systemLookupCode", "phone3",
    ]  # fmt: skip
    assert mapping.guess(["Vorname", "Nachname", "Handy", "Notiz"], {}) == [
        "name", "name", "phone1", "",
    ]  # fmt: skip


def test_a_remembered_mapping_wins_over_the_guess() -> None:
    remembered = mapping.remember(["Name", "Telefon", "Tel privat"], ["name", "phone2", ""])
    assert mapping.guess(["NAME", "Telefon", "Tel privat", "Mobil"], {}, remembered) == [
        "name", "phone2", "", "phone1",
    ]  # fmt: skip


def test_a_mapping_needs_a_name_and_a_number_and_each_field_once() -> None:
    mapping.check(["name", "phone1"], {})
    for bad, message in (
        (["phone1"], "receiver name"),
        (["name"], "phone number 1"),
        (["name", "phone1", "phone1"], "more than one column"),
        (["name", "phone1", "info:9"], "unknown field"),
    ):
        with pytest.raises(mapping.MappingError, match=message):
            mapping.check(bad, {})


def test_a_row_becomes_the_calltask_imports_task() -> None:
    reader = mapping.RowReader(
        ["name", "name", "phone2", "phone1", "extCustId", "info:216", ""], "DE"
    )
    task = reader.task(["Hans", "Meier", "", 15112345678.0, 5124.0, "Köln", "x"])
    assert task == {
        "callReceiverName": "Hans Meier",
        "callNumberList": ["015112345678"],
        "extCustId": "5124",
        "properties": [{"emprId": 216, "value": "Köln"}],
    }
    assert reader.task(["Solo"]) == {"callReceiverName": "Solo", "callNumberList": []}


def test_the_preview_shows_e164_and_marks_bad_cells_with_the_reason() -> None:
    setup = Setup(
        system_known=True,
        campaign=campaign(7, queue="q", dial_string="d", default_region="DE"),
        info_fields=frozenset(),
    )
    reader = mapping.RowReader(["name", "phone1", "phone2", "extCustId"], "DE")
    rows = preview(
        [
            (2, ["Hans", 15112345678.0, "+49 30 1234567", "A1"]),
            (3, ["", "abc", "", "A2"]),
            (4, ["Kim", "+4930123456", "", "x" * 300]),
        ],
        reader,
        setup,
    )
    good, bad, malformed = rows
    assert good.refused == ""
    assert [c.text for c in good.cells] == ["Hans", "+4915112345678", "+49301234567", "A1"]
    assert "leading 0 restored" in good.cells[1].note
    assert "receiver name is missing" in bad.refused and "not a valid phone number" in bad.refused
    assert not bad.cells[0].ok and not bad.cells[1].ok and bad.cells[2].ok
    assert bad.cells[1].note == "not a valid phone number"
    assert "extCustId must be a string of at most 255" in malformed.refused
    assert not malformed.cells[3].ok and malformed.cells[1].ok


def _job(**values: object) -> Job:
    start = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    base: dict[str, object] = dict(
        id=1, campaign_id=7, login="sv", file_name="f.xlsx", file_kind="xlsx", file_bytes=1,
        sheet="A", mapping=None, system_code="S", max_attempts=3, min_call_interval_h=0,
        status="running", rows_total=1000, rows_done=250, imported=None, updated=None,
        refused=None, has_refused_file=False, error=None, created_at=start, started_at=start,
        progress_at=start + timedelta(seconds=5), finished_at=None,
        now=start + timedelta(seconds=10),
    )  # fmt: skip
    base.update(values)
    return Job(**base)  # type: ignore[arg-type]


def test_progress_gives_the_rate_so_far_and_the_time_left() -> None:
    p = progress(_job())
    assert (p.done, p.total, p.rate, p.seconds_left) == (250, 1000, 25.0, 30.0)
    assert progress(_job(rows_total=None)).rate is None
    assert progress(_job(started_at=None)).seconds_left is None


def test_an_imports_counts_over_its_chunks() -> None:
    counts = _Counts()
    counts.add([Written(100, True), Written(101, True), Written(7, False), Written(7, False)])
    counts.add([Written(101, False), Written(105, True), Written(50, True), Written(50, False)])
    counts.add([Written(100, True), Written(8, False), Written(7, False), Written(3, False)])
    assert (counts.created, list(counts.updated_ids)) == (4, [3, 7, 8])  # each once, in order
