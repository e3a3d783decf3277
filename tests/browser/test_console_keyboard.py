"""Every screen's main task with the keyboard alone (Tab, Shift+Tab, Enter, Space, arrows; no
click): each control is reached by Tab with a focus that can be seen, activated by a key, and
after a partial update the focus is still in the page, not lost to <body>."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import python_calamine
from playwright.async_api import Page, expect

from dialerd.campaigns import service as campaigns
from dialerd.domain import AgentLive, AgentState, ResultCodeType, Role
from dialerd.reports import export
from tests import sheets
from tests.browser.conftest import Server
from tests.browser.keyboard import (
    assert_focus_kept,
    choose,
    focused_on,
    press_on,
    sign_in_by_keys,
    tab_to,
    type_into,
)
from tests.browser.test_console_contacts import seed
from tests.browser.test_console_imports import winter_sale
from tests.browser.test_console_reports import FIRST, history
from tests.browser.test_console_wallboard import (  # the board fixture, shared
    INSTANCE,
    Board,
    board,  # noqa: F401
    leave,
)
from tests.integration.test_reports import DAY
from tests.integration.test_results import add_code
from tests.integration.test_scheduler import fetchrow
from tests.integration.test_wallboard import dialable_campaign, view_of
from tests.integration.test_workspace import (
    BERLIN,
    PHONE,
    add_agent,
    engine,
    in_after_call_work,
)


async def test_campaigns_are_created_and_edited_by_keyboard(page: Page, server: Server) -> None:
    await server.add_user("sam")
    await sign_in_by_keys(page, server.url, "sam")
    await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    skip = page.get_by_role("link", name="Skip to content")
    await tab_to(page, skip)
    assert (await skip.bounding_box() or {"x": -1})["x"] >= 0  # shown once focused
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()
    await press_on(page, page.get_by_role("link", name="New campaign"))

    await type_into(page, page.get_by_label("Name", exact=True), "Renewals")
    await type_into(page, page.get_by_label("Queue"), "sales")
    await type_into(page, page.get_by_label("Dial string"), "PJSIP/{number}@trunk")
    await type_into(page, page.get_by_label("Caller ID"), '"Acme" <+4722334455>')
    await choose(page, page.get_by_label("Dial mode"), "predictive")
    await type_into(page, page.get_by_label("Time zone"), "Europe/Oslo")
    await press_on(page, page.get_by_label("Sat"), "Space")
    await expect(page.get_by_label("Sat")).to_be_checked()
    await press_on(page, page.get_by_role("button", name="Create campaign"))
    row = page.locator("#campaigns tbody tr", has_text="Renewals")
    await expect(row).to_contain_text("predictive")
    await expect(row).to_contain_text("Mon–Sat")

    # The list reads its figures again every few seconds: the focus stays on its control.
    edit = row.get_by_role("link", name="Edit Renewals")
    await tab_to(page, edit)
    await page.evaluate(
        "() => new Promise(done => document.addEventListener('htmx:afterSwap', done, {once: true}))"
    )
    assert await focused_on(page, page.get_by_role("link", name="Edit Renewals"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name=re.compile("Renewals"))).to_be_visible()
    await type_into(page, page.get_by_label("Queue"), "renewals")
    await tab_to(page, page.get_by_label("Dial mode"))
    await tab_to(page, page.get_by_label("Queue"), back=True)  # Shift+Tab runs the order back
    await press_on(page, page.get_by_role("button", name="Save"))
    await expect(row).to_contain_text("renewals")
    async with server.pool.acquire() as conn:
        (stored,) = await campaigns.list_all(conn, 1)
    assert (stored["Queue"], stored["DialMode"]) == ("renewals", "predictive")
    assert list(stored["WindowDays"]) == [1, 2, 3, 4, 5, 6]


async def test_call_tasks_are_found_reset_and_reset_in_bulk_by_keyboard(
    page: Page, server: Server
) -> None:
    ola, _ = await seed(server)
    await server.add_user("sam")
    await sign_in_by_keys(page, server.url, "sam")
    await press_on(page, page.get_by_role("link", name="Call tasks"))
    rows = page.locator("#contacts tbody tr")
    await expect(rows).to_have_count(6)
    await type_into(page, page.get_by_label("Phone number"), "912 34 567")
    await press_on(page, page.get_by_role("button", name="Search"))
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("button", name="Search")).to_be_focused()  # after the swap
    await press_on(page, page.get_by_role("link", name="Ola Nordmann"))

    await expect(page.get_by_role("heading", name=re.compile("Ola Nordmann"))).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await press_on(page, page.get_by_role("button", name="Reset"))
    await expect(page.get_by_role("heading", name=re.compile("Ola Nordmann"))).to_contain_text(
        "Due"
    )
    assert await server.pool.fetchval("SELECT attempts FROM contacts WHERE id = $1", ola) == 0

    await press_on(page, page.get_by_role("link", name=re.compile("Call tasks of Renewals")))
    await type_into(page, page.get_by_label("Phone number"), "")
    await choose(page, page.get_by_label("Last outcome"), "2 no answer")
    await press_on(page, page.get_by_role("button", name="Search"))
    await expect(rows).to_have_count(5)
    await assert_focus_kept(page)
    await press_on(page, page.get_by_role("link", name="Reset all…"))
    await expect(page.locator("#bulk-count")).to_have_text("5")
    await press_on(page, page.get_by_role("button", name="Reset 5 call tasks"))
    await expect(page.get_by_role("status")).to_have_text("Reset: 5 contacts")


async def test_a_file_is_imported_by_keyboard(page: Page, server: Server, tmp_path: Path) -> None:
    await winter_sale(server)
    rows: list[list[object]] = [["Kunde", "Telefon", "Ort", "Kundennummer"]]
    rows += [[f"Kunde {i}", 4915200000000 + i, "Bonn", f"N{i}"] for i in range(20)]
    rows += [["Otto", "not a number", "Köln", "K1"], [None, 4915112345679, None, "K2"]]
    upload = tmp_path / "kunden.xlsx"
    upload.write_bytes(sheets.xlsx({"Notizen": [["Notiz"], ["call back"]], "Kunden": rows}))
    # The browser hands file dialogs to the test once a listener is there, which Playwright
    # turns on without waiting: on now, well before Space opens one (else the dialog can open
    # unseen on a loaded machine).
    page.on("filechooser", lambda _: None)
    await sign_in_by_keys(page, server.url, "sue")
    await press_on(page, page.get_by_role("link", name="Imports"))
    empty = tmp_path / "leer.xlsx"
    empty.write_bytes(b"")
    for chosen in (empty, upload):
        await tab_to(page, page.get_by_label("File"))
        async with page.expect_file_chooser() as chooser:
            await page.keyboard.press("Space")
        await (await chooser.value).set_files(chosen)
        await press_on(page, page.get_by_role("button", name="Upload"))
        if chosen == empty:  # refused: the page says why, the focus stays in the form
            await expect(page.get_by_role("alert")).to_have_text("leer.xlsx: the file is empty")
            await assert_focus_kept(page)

    await expect(page.get_by_role("heading", name=re.compile("kunden.xlsx"))).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("Start import"))).to_be_disabled()
    await choose(page, page.get_by_label("Sheet"), "Kunden")
    await press_on(page, page.get_by_role("button", name="Preview"))
    await expect(page.get_by_label("Telefon")).to_have_value("phone1")
    await choose(page, page.get_by_label("Ort"), "info field 216: Stadt")
    await press_on(page, page.get_by_role("button", name="Preview"))
    await expect(page.locator("#preview tbody tr").first).to_contain_text("Bonn")
    await expect(page.get_by_label("Ort")).to_have_value("info:216")
    await press_on(page, page.get_by_role("button", name="Start import of 22 rows"))

    result = page.locator("#result")
    await expect(result).to_be_visible(timeout=60_000)
    await expect(result.get_by_role("row", name="Call tasks imported")).to_contain_text("20")
    async with page.expect_download() as download_info:
        await press_on(page, page.get_by_role("link", name=re.compile("Download the 2 refused")))
    data = await asyncio.to_thread(Path(await (await download_info.value).path()).read_bytes)
    refused = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert [r[0] for r in refused.get_sheet_by_index(0).to_python()[1:]] == [22.0, 23.0]
    stadt = await server.pool.fetchval(
        "SELECT properties->>'216' FROM contacts WHERE ext_cust_id = 'N0'"
    )
    assert stadt == "Bonn"


async def test_the_wallboard_is_filtered_and_an_agent_paused_by_keyboard(
    page: Page,
    server: Server,
    board: Board,  # noqa: F811 (the fixture imported above)
) -> None:
    await server.add_user("sam")
    await sign_in_by_keys(page, server.url, "sam")
    await press_on(page, page.get_by_role("link", name="Wallboard"))
    filters = page.get_by_role("navigation", name="Campaigns")
    await press_on(page, filters.get_by_role("link", name="Renewals"))
    await expect(page.get_by_role("heading", name="Wallboard: Renewals")).to_be_visible()
    pause = page.get_by_role("button", name="Pause Bo")
    await press_on(page, pause)
    await expect(page.locator("#action-result")).to_have_text("PJSIP/agent2 paused")
    assert board.done == ["pause PJSIP/agent2"]
    await expect(pause).to_be_focused()

    # The engine's next view has Bo paused: the board is drawn again, Pause Bo cannot be
    # pressed any more, and the focus goes to Bo's row, from which Tab goes on in the row.
    now = time.time()
    paused = [AgentLive("PJSIP/agent2", "Bo", AgentState.PAUSED, now, "supervisor")]
    await board.live.publish(view_of(INSTANCE, board.campaign, paused))
    await expect(pause).to_be_disabled()
    bo = page.locator("tr[data-agent='PJSIP/agent2']")
    await expect(bo).to_be_focused()
    await page.keyboard.press("Tab")
    assert await bo.evaluate("row => row.contains(document.activeElement)")
    await leave(page, server)


async def test_reports_are_read_and_exported_by_keyboard(page: Page, server: Server) -> None:
    await history(server.pool)
    await server.add_user("vera", Role.VIEWER)
    await sign_in_by_keys(page, server.url, "vera")
    await press_on(page, page.get_by_role("link", name="Reports"))
    for label, day in (("From", FIRST), ("To", DAY)):
        await tab_to(page, page.get_by_label(label))
        await page.keyboard.type(day.strftime("%m%d%Y"))  # the browser's en-US date field
        await expect(page.get_by_label(label)).to_have_value(str(day))
    await press_on(page, page.get_by_role("button", name="Show"))
    await expect(page.locator("#abandon tbody tr")).to_have_count(6)  # 2 campaigns, 3 days

    async with page.expect_download() as csv_download:
        await press_on(page, page.get_by_role("link", name="CSV"))
    path = await (await csv_download.value).path()
    text = await asyncio.to_thread(Path(path).read_text)
    assert len(list(csv.DictReader(io.StringIO(text)))) == 3 * (18 + 6) + 40 + 36 + 23 + 1 + 2
    async with page.expect_download() as xlsx_download:
        await press_on(page, page.get_by_role("link", name="Excel (.xlsx)"))
    path = await (await xlsx_download.value).path()
    cells = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows = cells.to_python()
    assert tuple(rows[0]) == export.COLUMNS and len(rows) == 1 + 3 * (18 + 6) + 40 + 36 + 23 + 3


async def test_a_user_is_added_and_a_token_revoked_by_keyboard(page: Page, server: Server) -> None:
    await server.add_user("ada", Role.ADMIN)
    await sign_in_by_keys(page, server.url, "ada")
    await press_on(page, page.get_by_role("link", name="Admin"))
    await type_into(page, page.get_by_label("Login", exact=True), "vic")
    await type_into(page, page.get_by_label("Name", exact=True), "Wall screen")
    await choose(page, page.get_by_label("Role"), "viewer")
    await type_into(page, page.get_by_label("Password (10 characters at least)"), "a long password")
    await press_on(page, page.get_by_role("button", name="Add user"))
    await expect(page.locator("#users tr", has_text="vic")).to_contain_text("Wall screen")

    await press_on(page, page.get_by_role("link", name="Integrations"))
    await press_on(page, page.get_by_role("button", name="Create an API token"))
    await expect(page.locator("#new-token")).not_to_be_empty()
    page.once("dialog", lambda dialog: dialog.accept())
    await press_on(page, page.get_by_role("button", name="Revoke token 1"))
    await expect(page.locator("#tokens tbody tr").first).to_contain_text("Revoked")
    await press_on(page, page.get_by_role("link", name="Audit log"))
    actions = page.locator("#audit tbody tr td:nth-child(3)")
    await expect(actions).to_have_text(["token.revoke", "token.create", "user.add", "user.sign_in"])


async def test_a_call_s_result_is_recorded_in_the_workspace_by_keyboard(
    page: Page, server: Server, db_dsn: str
) -> None:
    pool = server.pool
    c = await dialable_campaign(pool, name="Renewals", queue="sales")
    ada = await add_agent(pool, "ada", PHONE, [c.id])
    await add_code(pool, c.id, ResultCodeType.SUCCESS, name="Sold", position=1)
    later = await add_code(pool, c.id, ResultCodeType.CALLBACK, name="Call back", position=2)
    attempt = await in_after_call_work(pool, db_dsn, ada, c.id)
    async with engine(pool, db_dsn) as e:
        await sign_in_by_keys(page, server.url, "ada")
        await expect(page.locator("#ws-state")).to_have_text("After-call work")
        await press_on(page, page.get_by_label("Sold"), "Space")
        await page.keyboard.press("ArrowDown")  # the arrows go through the codes
        await expect(page.get_by_label("Call back", exact=True)).to_be_checked()
        day, at = page.get_by_label("Date"), page.get_by_label("Time (Europe/Berlin)")
        await expect(page.locator("#ws-callback-zone")).to_contain_text("Europe/Berlin, UTC+0")
        yesterday = datetime.now(BERLIN).date() - timedelta(days=1)
        await tab_to(page, day)
        await page.keyboard.type(yesterday.strftime("%m%d%Y"))  # the browser's en-US fields
        await tab_to(page, at)
        await page.keyboard.type("1000AM")
        await expect(at).to_have_value("10:00")
        await press_on(page, page.get_by_role("button", name="Save result"))
        result = page.locator("#ws-result")
        await expect(result).to_have_text("Not recorded: the callback time is in the past")
        await expect(page.locator("#ws-state")).to_have_text("After-call work")
        assert e.actions == []

        # The engine's next view draws the workspace again: the form keeps what the agent
        # filled in, and the focus.
        await tab_to(page, day)
        await page.evaluate(
            "() => document.addEventListener('htmx:afterSwap',"
            " () => { window.swapped = true; }, {once: true})"
        )
        wrapup = [AgentLive(PHONE, "Ada", AgentState.WRAPUP, time.time())]
        await e.live.publish(view_of("e1", c, wrapup))
        await page.wait_for_function("() => window.swapped === true")
        await expect(page.locator(".ws-live")).to_have_attribute("data-phone", "wrapup")
        await expect(day).to_be_focused()
        await expect(page.get_by_label("Call back", exact=True)).to_be_checked()
        await expect(day).to_have_value(str(yesterday))
        tomorrow = yesterday + timedelta(days=2)
        await page.keyboard.type(tomorrow.strftime("%m%d%Y"))
        await tab_to(page, page.get_by_label("Anyone may call back"))  # the chosen one
        await page.keyboard.press("ArrowDown")
        await expect(page.get_by_label("Only me")).to_be_checked()
        await press_on(page, page.get_by_role("button", name="Save result"))
        await expect(result).to_have_text("Call back: recorded. Ready for calls")
        await expect(page.locator("#ws-state")).to_have_text("Ready")
        await assert_focus_kept(page)
        await page.goto("about:blank")  # the event stream ends before the server
    h = await fetchrow(
        pool, "SELECT result_code_id, users_id FROM contact_history WHERE id = $1", attempt
    )
    assert (h["result_code_id"], h["users_id"]) == (later, ada.id)
    contact = await fetchrow(
        pool, "SELECT callback_at, callback_user_id FROM contacts WHERE callback_at IS NOT NULL"
    )
    at10 = datetime.combine(tomorrow, dtime(10), BERLIN)
    assert (contact["callback_at"], contact["callback_user_id"]) == (at10, ada.id)
