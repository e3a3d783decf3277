"""The import from Excel against a real Postgres: upload, guess and preview, the background
job through the calltask import, duplicates updated, the refused rows' file, the mapping
remembered, bad files and settings refused with nothing written, a crash mid-import."""

from __future__ import annotations

import asyncio
import io
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import python_calamine

from dialerd.imports import jobs, service
from dialerd.imports.jobs import ImportJobs
from dialerd.store.imports import Settings, Uploader
from tests import sheets

WHO = Uploader(None, "supervisor")
MAX = 10**8


@pytest.fixture
async def ready(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('XL')")
    await pool.execute("INSERT INTO info_fields (id, name) VALUES (216, 'Stadt')")
    await pool.execute(
        "INSERT INTO campaigns (id, name, queue, dial_string, default_region)"
        " VALUES (5, 'Excel', 'sales', 'PJSIP/{number}@trunk', 'DE')"
    )


HEADER: list[object] = ["Kunde", "Telefon", "Mobil", "Kundennummer", "Stadt"]
ROWS: list[list[object]] = [
    HEADER,
    ["Hans Meier", 4915112345678, "0171 2345678", 1001, "Köln"],  # row 2
    ["Grete Kurz", 15212345678, None, 1002, None],  # row 3: leading 0 lost
    [None, 4915112345679, None, 1003, None],  # row 4: no name
    ["Otto", "not a number", None, 1004, None],  # row 5: bad number
    ["Hans Meier jr.", 4915112345670, None, 1001, "Bonn"],  # row 6: 1001 again, wins
    ["Lisa", "+49 30 1234567", None, None, "Berlin"],  # row 7: no extCustId
]


def settings_for(mapping: list[str], system: str = "XL") -> Settings:
    return Settings("Kunden", mapping, system, 3, 0)


async def upload(
    pool: asyncpg.Pool,
    data: bytes,
    name: str = "kunden.xlsx",
    client_id: int = 1,
    max_bytes: int = MAX,
) -> int:
    """Uploads ``data`` as the console does: from a file the upload was written to."""
    with tempfile.TemporaryDirectory() as folder:
        async with pool.acquire() as conn:
            path = sheets.saved(Path(folder), data)
            return await service.upload(conn, client_id, 5, WHO, name, path, max_bytes)


async def run(pool: asyncpg.Pool, import_id: int, chosen: Settings) -> Any:
    async with pool.acquire() as conn:
        await service.start(conn, 1, import_id, chosen, WHO)
    assert await ImportJobs(pool).run_one()
    async with pool.acquire() as conn:
        return await service.get(conn, 1, import_id)


async def test_an_xlsx_import_end_to_end(pool: asyncpg.Pool, ready: None) -> None:
    import_id = await upload(pool, sheets.xlsx({"Kunden": ROWS, "Notes": [["x"]]}))
    async with pool.acquire() as conn:
        sheet = await service.look(conn, 1, import_id)
    assert sheet.sheets == ["Kunden", "Notes"] and sheet.row_count == 6
    assert sheet.mapping == ["name", "phone1", "phone2", "extCustId", "info:216"]
    assert sheet.systems == ["XL"] and sheet.problem == ""
    first, second, no_name, bad = sheet.rows[:4]
    assert [c.text for c in first.cells[:3]] == ["Hans Meier", "+4915112345678", "+491712345678"]
    assert first.cells[1].note == "numeric cell 4915112345678: leading + restored"
    assert second.cells[1].text == "+4915212345678" and "leading 0 restored" in second.cells[1].note
    assert "receiver name is missing" in no_name.refused and no_name.number == 4
    assert not bad.cells[1].ok and "not a valid phone number" in bad.refused

    job = await run(pool, import_id, settings_for(sheet.mapping))
    assert (job.status, job.rows_total, job.rows_done) == ("done", 6, 6)
    assert (job.imported, job.updated, job.refused) == (3, 0, 2)
    rows = await pool.fetch(
        "SELECT name, ext_cust_id, phone_numbers, properties, system_code, max_attempts"
        " FROM contacts ORDER BY ext_cust_id NULLS LAST"
    )
    assert [(r["name"], r["ext_cust_id"], r["phone_numbers"]) for r in rows] == [
        ("Hans Meier jr.", "1001", ["+4915112345670"]),
        ("Grete Kurz", "1002", ["+4915212345678"]),
        ("Lisa", None, ["+49301234567"]),
    ]
    assert rows[0]["properties"] == {"216": "Bonn"} and rows[0]["system_code"] == "XL"

    async with pool.acquire() as conn:
        name, data = await service.refused_rows_file(conn, 1, import_id)
    assert name == "kunden-refused.xlsx"
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    refused = book.get_sheet_by_index(0).to_python()
    assert refused[0] == ["row", "refused because", *HEADER]
    assert [(r[0], r[2]) for r in refused[1:]] == [(4.0, ""), (5.0, "Otto")]
    assert "receiver name is missing" in str(refused[1][1])
    assert refused[2][3] == "not a number"  # the cell as it was, to fix and upload again
    parts = "SELECT count(*) FROM file_import_parts WHERE import_id = $1"
    assert await pool.fetchval(parts, import_id) == 0  # the upload is dropped

    # The campaign remembers the mapping: a file with these headers gets it, not the guess.
    renamed: list[list[object]] = [["Telefon", "Kunde", "Mobil"], [4915112345678, "A", 1]]
    again = await upload(pool, sheets.xlsx({"Kunden": renamed}))
    async with pool.acquire() as conn:
        changed = settings_for(["phone1", "name", ""])
        await service.start(conn, 1, again, changed, WHO)
    assert await ImportJobs(pool).run_one()
    third = await upload(pool, sheets.xlsx({"Kunden": renamed}))
    async with pool.acquire() as conn:
        assert (await service.look(conn, 1, third)).mapping == ["phone1", "name", ""]


async def test_a_reimport_updates_the_open_call_tasks(pool: asyncpg.Pool, ready: None) -> None:
    mapping = ["name", "phone1", "phone2", "extCustId", "info:216"]
    await run(pool, await upload(pool, sheets.xlsx({"Kunden": ROWS})), settings_for(mapping))
    before = await pool.fetchval("SELECT count(*) FROM contacts")
    hans = await pool.fetchval("SELECT id FROM contacts WHERE ext_cust_id = '1001'")
    changed: list[list[object]] = [
        HEADER,
        ["Hans Neu", 4915112345699, None, 1001, None],
        ["New", 4930999, None, 9, None],
    ]
    job = await run(
        pool, await upload(pool, sheets.xlsx({"Kunden": changed})), settings_for(mapping)
    )
    assert (job.imported, job.updated, job.refused) == (1, 1, 0)
    assert not job.has_refused_file
    assert await pool.fetchval("SELECT count(*) FROM contacts") == before + 1
    updated = await pool.fetch("SELECT id, name FROM contacts WHERE ext_cust_id = '1001'")
    assert [(r["id"], r["name"]) for r in updated] == [(hans, "Hans Neu")]


async def test_an_upload_is_kept_in_parts_and_read_back_whole(
    pool: asyncpg.Pool, ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PART_BYTES", 1000)
    import_id = await upload(pool, sheets.xlsx({"Kunden": ROWS}))
    parts = await pool.fetch(
        "SELECT part, octet_length(data) AS size FROM file_import_parts WHERE import_id = $1"
        " ORDER BY part",
        import_id,
    )
    assert len(parts) > 3 and [p["part"] for p in parts] == list(range(len(parts)))
    assert {p["size"] for p in parts[:-1]} == {1000} and 0 < parts[-1]["size"] <= 1000
    async with pool.acquire() as conn:
        sheet = await service.look(conn, 1, import_id)
    assert sheet.row_count == 6
    job = await run(pool, import_id, settings_for(sheet.mapping))
    assert (job.status, job.imported, job.refused) == ("done", 3, 2)
    left = await pool.fetchval(
        "SELECT count(*) FROM file_import_parts WHERE import_id = $1", import_id
    )
    assert left == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (sheets.encrypted_xlsx_stand_in(), "encrypted"),
        (b"%PDF-1.7\x00\x00\x01\x02", "not a spreadsheet"),
        (b"x" * 2000, "larger than"),
    ],
)
async def test_bad_files_are_refused_with_nothing_written(
    pool: asyncpg.Pool, ready: None, data: bytes, message: str
) -> None:
    with pytest.raises(service.Refused, match=message):
        await upload(pool, data, "f.xlsx", max_bytes=1024)
    assert await pool.fetchval("SELECT count(*) FROM file_imports") == 0
    assert await pool.fetchval("SELECT count(*) FROM file_import_parts") == 0


async def test_a_sheet_without_rows_and_bad_settings_are_refused(
    pool: asyncpg.Pool, ready: None
) -> None:
    empty = await upload(pool, sheets.xlsx({"Kunden": [HEADER]}))
    async with pool.acquire() as conn:
        with pytest.raises(service.Refused, match="no rows below its header"):
            await service.look(conn, 1, empty)
        good = await upload(pool, sheets.xlsx({"Kunden": ROWS}))
        with pytest.raises(service.Refused, match="receiver name"):
            await service.start(conn, 1, good, settings_for(["phone1"]), WHO)
        with pytest.raises(service.Refused, match="not registered"):
            await service.start(conn, 1, good, settings_for(["name", "phone1"], "NOPE"), WHO)
    with pytest.raises(service.Refused, match="not a campaign of this client"):
        await upload(pool, sheets.xlsx({"A": ROWS}), client_id=2)
    status = await pool.fetchval("SELECT status FROM file_imports WHERE id = $1", good)
    assert status == "uploaded"
    assert not await ImportJobs(pool).run_one()


async def test_a_crash_mid_import_writes_nothing_and_the_job_is_failed(
    pool: asyncpg.Pool, ready: None
) -> None:
    many = [HEADER] + [[f"N{i}", 4915100000000 + i, None, i, None] for i in range(25_000)]
    import_id = await upload(pool, sheets.xlsx({"Kunden": many}))
    async with pool.acquire() as conn:
        await service.start(
            conn, 1, import_id, settings_for(["name", "phone1", "", "extCustId", ""]), WHO
        )
    running = asyncio.create_task(ImportJobs(pool).run_one())
    while not await pool.fetchval(
        "SELECT rows_done > 0 FROM file_imports WHERE id = $1", import_id
    ):
        assert not running.done()
        await asyncio.sleep(0.005)
    # Another process sees the progress while the import runs...
    async with pool.acquire() as conn:
        job = await service.get(conn, 1, import_id)
    assert job is not None and job.status == "running" and 0 < job.rows_done < 25_000
    assert job.rows_total == 25_000
    # ...then the import's connection dies, as with a kill -9 of its dialerd.
    # Only this test database's: the server may run other suites (and their imports) meanwhile.
    await pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await running
    async with pool.acquire() as conn:
        job = await service.get(conn, 1, import_id)
    assert job is not None and job.status == "failed"
    assert job.error is not None and "nothing was imported" in job.error
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 0


async def test_chunks_are_one_import_a_later_row_wins_across_them(
    pool: asyncpg.Pool, ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "CHUNK", 2)  # rows 2-3, 4-5, 6
    rows = [
        HEADER,
        ["First", 4915112345678, None, 1, None],
        ["Other", 4915112345679, None, 2, None],
        ["", 4915112345670, None, 3, None],  # refused, in the second chunk
        ["First again", 4915112345671, None, 1, None],  # updates row 2's call task
        ["Third", 4915112345672, None, None, None],
    ]
    mapping = ["name", "phone1", "phone2", "extCustId", "info:216"]
    job = await run(pool, await upload(pool, sheets.xlsx({"Kunden": rows})), settings_for(mapping))
    assert (job.status, job.rows_done, job.rows_total) == ("done", 5, 5)
    assert (job.imported, job.updated, job.refused) == (3, 0, 1)
    names = await pool.fetch("SELECT name, ext_cust_id FROM contacts ORDER BY id")
    assert [(r["name"], r["ext_cust_id"]) for r in names] == [
        ("First again", "1"),
        ("Other", "2"),
        ("Third", None),
    ]
