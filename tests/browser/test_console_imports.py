"""Importing an .xlsx with bad rows in Chromium: upload, the mapping and its preview, the
progress (rows done, rate and time left, seen mid-import) to the end (also across a reload),
the result and the refused rows' download."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import asyncpg
import python_calamine
from playwright.async_api import Page, expect

from tests import sheets
from tests.browser.conftest import Server, shot, sign_in
from tests.integration.test_scheduler import add_contact

ROWS = 30_000
THOUSANDS_DONE = re.compile(r"10\s000 of 30\s000 rows")  # the first chunk; a thin space


def workbook() -> bytes:
    rows: list[list[object]] = [["Kunde", "Telefon", "Mobil", "Kundennummer", "Stadt"]]
    rows += [
        ["Hans Meier", 4915112345678, "0171 2345678", "K1", "Köln"],
        ["Grete Kurz", 15212345678, None, "K2", None],
        [None, 4915112345679, None, "K3", None],
        ["Otto <script>", "not a number", None, "K4", None],
    ]
    rows += [[f"Kunde {i}", 4915200000000 + i, None, f"N{i}", "Bonn"] for i in range(ROWS - 4)]
    return sheets.xlsx({"Kunden": rows, "Notizen": [["nothing here"]]})


async def winter_sale(server: Server) -> None:
    """The supervisor sue, the calling system CRM, info field 216 (Stadt) and campaign 42,
    Winter sale, in Germany."""
    await server.add_user("sue")
    await server.pool.execute("INSERT INTO calling_systems (code) VALUES ('CRM')")
    await server.pool.execute("INSERT INTO info_fields (id, name) VALUES (216, 'Stadt')")
    await server.pool.execute(
        "INSERT INTO campaigns (id, name, queue, dial_string, default_region)"
        " VALUES (42, 'Winter sale', 'sales', 'PJSIP/{number}@trunk', 'DE')"
    )


async def test_an_xlsx_with_bad_rows_is_imported_and_its_refused_rows_downloaded(
    page: Page, server: Server, tmp_path: Path, db_dsn: str
) -> None:
    await winter_sale(server)
    # An open call task that the file's second chunk of rows updates: while the test holds
    # its row, the import waits there with its first chunk done, so the progress it shows
    # mid-import is there to see however fast the machine is.
    held = await add_contact(server.pool, 42, system_code="CRM", ext_cust_id="N15000")
    upload = tmp_path / "kunden.xlsx"
    upload.write_bytes(workbook())
    await sign_in(page, server, "sue")
    await page.get_by_role("link", name="Imports").click()
    await expect(page.get_by_role("heading", name="Import from Excel")).to_be_visible()
    await page.get_by_label("Campaign").select_option("42")
    await page.get_by_label("File").set_input_files(upload)
    await shot(page, "import-upload")
    await page.get_by_role("button", name="Upload").click()

    await expect(page.get_by_role("heading", name=re.compile("kunden.xlsx"))).to_be_visible()
    await expect(page.get_by_label("Telefon")).to_have_value("phone1")
    await expect(page.get_by_label("Kundennummer")).to_have_value("extCustId")
    await expect(page.get_by_label("Stadt")).to_have_value("info:216")
    preview = page.locator("#preview tbody tr")
    await expect(preview.nth(0)).to_contain_text("+4915112345678")
    await expect(preview.nth(0)).to_contain_text("leading + restored")
    await expect(preview.nth(1)).to_contain_text("leading 0 restored")
    await expect(preview.nth(2)).to_contain_text("receiver name is missing")
    await expect(preview.nth(3)).to_contain_text("Otto <script>")  # text, never markup
    await expect(preview.nth(3)).to_contain_text("not a valid phone number")
    await shot(page, "import-mapping")

    progress = page.locator("#progress")
    hold = await asyncpg.connect(db_dsn)
    try:
        async with hold.transaction():
            await hold.execute("SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE", held)
            await page.get_by_role("button", name=re.compile("Start import of 30")).click()
            figures = progress.locator("#progress-figures")
            await expect(figures).to_contain_text(THOUSANDS_DONE, timeout=60_000)
            await expect(figures).to_contain_text(
                re.compile(r"[\d\s]+ rows/s\s+·\s+[\d\s]+ s left")
            )
            await expect(progress.locator("progress")).to_have_attribute("value", "10000")
            await shot(page, "import-progress")
    finally:
        await hold.close()
    await page.reload()  # the progress is the job's row: a reload shows it again
    result = page.locator("#result")
    await expect(result).to_be_visible(timeout=60_000)
    await expect(progress.get_by_text("Done", exact=True)).to_be_visible()
    await expect(result.get_by_role("row", name="Call tasks imported")).to_contain_text(
        re.compile(r"29\s997")
    )
    await expect(result.get_by_role("row", name="Open call tasks updated")).to_contain_text("1")
    await expect(result.get_by_role("row", name="Rows refused")).to_contain_text("2")
    await shot(page, "import-result")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name=re.compile("Download the 2 refused rows")).click()
    download = await download_info.value
    assert download.suggested_filename == "kunden-refused.xlsx"
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    refused = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = refused.get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["row", "refused because", "Kunde"]
    assert [r[0] for r in rows[1:]] == [4.0, 5.0]
    assert rows[2][2] == "Otto <script>"
    count = await server.pool.fetchval("SELECT count(*) FROM contacts WHERE campaign_id = 42")
    assert count == ROWS - 2

    await page.get_by_role("link", name="All imports").click()
    await expect(page.locator("#imports tbody tr").first).to_contain_text("Done")
    await shot(page, "import-list")
