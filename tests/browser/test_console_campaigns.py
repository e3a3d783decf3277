"""Signing in and running campaigns, as a supervisor and a viewer would, in Chromium."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from dialerd.campaigns import service as campaigns
from dialerd.dialer.live import CallLive, CallState
from dialerd.domain import AgentLive, AgentState, Role
from dialerd.store.live import PostgresLiveStore
from tests.browser.conftest import Server, shot, sign_in
from tests.browser.keyboard import press_on, sign_in_by_keys
from tests.integration.test_scheduler import add_contact
from tests.integration.test_wallboard import add_answer, dialable_campaign, view_of


async def test_sign_in_fails_with_a_wrong_password_then_works(page: Page, server: Server) -> None:
    await server.add_user("sam")
    await page.goto(server.url + "/console/campaigns")
    await expect(page).to_have_url(re.compile(r"/console/signin\?next=/console/campaigns$"))
    await shot(page, "signin")
    await page.get_by_label("Login").fill("sam")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong login or password")
    await expect(page.get_by_label("Login")).to_have_value("sam")  # kept for the next try
    await shot(page, "signin-refused")
    await sign_in(page, server, "sam")
    await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    await expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    await shot(page, "campaigns-empty")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/console/signin$"))
    await page.goto(server.url + "/console/campaigns")
    await expect(page).to_have_url(re.compile(r"/console/signin"))


async def test_a_supervisor_creates_pauses_resumes_and_copies_a_campaign(
    page: Page, server: Server
) -> None:
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    await page.get_by_role("link", name="New campaign").click()
    await page.get_by_label("Name", exact=True).fill("Renewals")
    await page.get_by_label("Queue").fill("sales")
    await page.get_by_label("Dial string").fill("PJSIP/{number}@trunk")
    await page.get_by_label("Caller ID").fill('"Acme" <+4722334455>')
    await page.get_by_label("Dial mode").select_option("predictive")
    await page.get_by_label("Abandon limit").fill("3")  # a percentage where a fraction is due
    await page.get_by_label("Time zone").fill("Europe/Oslo")
    await page.get_by_label("Sat").check()
    await page.get_by_role("button", name="Create campaign").click()
    error = page.locator("#err-AbandonLimit")
    await expect(error).to_have_text("Input should be less than 1")
    await expect(page.get_by_label("Abandon limit")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Queue")).to_have_value("sales")  # nothing typed is lost
    await shot(page, "campaign-form-error")
    await page.get_by_label("Abandon limit").fill("0.03")
    await page.get_by_role("button", name="Create campaign").click()
    row = page.locator("#campaigns tbody tr", has_text="Renewals")
    await expect(row.get_by_text("Active")).to_be_visible()
    await expect(row).to_contain_text("predictive")
    await expect(row).to_contain_text("08:00–20:00 · Mon–Sat · Europe/Oslo")

    await row.get_by_role("button", name="Pause Renewals").click()
    await expect(row.get_by_text("Paused")).to_be_visible()
    async with server.pool.acquire() as conn:
        (stored,) = await campaigns.list_all(conn, 1)
    assert stored["bActive"] is False and stored["DialMode"] == "predictive"
    assert list(stored["WindowDays"]) == [1, 2, 3, 4, 5, 6]
    await row.get_by_role("button", name="Resume Renewals").click()
    await expect(row.get_by_text("Active")).to_be_visible()

    await row.get_by_role("button", name="Copy Renewals").click()
    await expect(
        page.get_by_role("heading", name=re.compile("Renewals \\(copy\\)"))
    ).to_be_visible()
    await expect(page.get_by_label("Queue")).to_have_value("sales")
    await expect(page.get_by_label("Active", exact=True)).not_to_be_checked()
    await shot(page, "campaign-form")
    await page.get_by_label("Name", exact=True).fill("Renewals north")
    await page.get_by_role("group", name="Retry after").get_by_label("3 busy").fill("15")
    await page.get_by_role("button", name="Save").click()
    copy_row = page.locator("#campaigns tbody tr", has_text="Renewals north")
    await expect(copy_row.get_by_text("Paused")).to_be_visible()
    async with server.pool.acquire() as conn:
        copied = [c for c in await campaigns.list_all(conn, 1) if c["Name"] == "Renewals north"]
    assert copied[0]["RetryMinutes"] == {"3": 15} and copied[0]["Queue"] == "sales"
    await shot(page, "campaigns")


async def test_a_viewer_sees_campaigns_but_no_button_to_change_them(
    page: Page, server: Server
) -> None:
    async with server.pool.acquire() as conn:
        await campaigns.create(conn, 1, {"Name": "Renewals", "Queue": "sales"})
    await server.add_user("vic", Role.VIEWER)
    await sign_in(page, server, "vic")
    await page.goto(server.url + "/console/campaigns")
    await expect(page.locator("#campaigns")).to_contain_text("Renewals")
    assert await page.get_by_role("button", name=re.compile("Pause|Copy")).count() == 0
    assert await page.get_by_role("link", name=re.compile("Edit|New campaign")).count() == 0
    await expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    # typed by hand, the edit page is refused
    response = await page.goto(server.url + "/console/campaigns/1/edit")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading")).to_contain_text("403")


async def test_an_admin_adds_a_user_and_reads_the_audit_log(page: Page, server: Server) -> None:
    await server.add_user("ada", Role.ADMIN)
    await page.goto(server.url + "/console/")
    await page.get_by_label("Login").fill("ada")
    await page.get_by_label("Password").fill("a mistyped password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong login or password")
    await sign_in(page, server, "ada")
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_label("Login", exact=True).fill("vic")
    await page.get_by_label("Name", exact=True).fill("Wall screen")
    await page.get_by_label("Role").select_option("viewer")
    await page.get_by_label("Password (10 characters at least)").fill("short")
    await page.get_by_role("button", name="Add user").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "The password must have at least 10 characters"
    )
    await page.get_by_label("Password (10 characters at least)").fill("a long wall password")
    await page.get_by_role("button", name="Add user").click()
    await expect(page.locator("#users")).to_contain_text("Wall screen")
    await shot(page, "admin-users")
    await (
        page.locator("#users tr", has_text="vic").get_by_role("button", name="Disable vic").click()
    )
    await expect(page.locator("#users tr", has_text="vic")).to_contain_text("Disabled")
    await page.get_by_role("link", name="Audit log").click()
    rows = page.locator("#audit tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.nth(0)).to_contain_text("user.disable")
    await expect(rows.nth(1)).to_contain_text("user.add")
    await expect(rows.nth(1)).to_contain_text("role: viewer")
    await expect(rows.nth(2)).to_contain_text("user.sign_in")
    await expect(rows.nth(3)).to_contain_text("user.sign_in_failed")
    await expect(rows.nth(3)).to_contain_text("reason: wrong password")
    await expect(page.locator("#audit")).not_to_contain_text("mistyped")
    await shot(page, "admin-audit")


async def test_the_console_works_with_the_keyboard_alone_at_tablet_width(
    page: Page, server: Server
) -> None:
    async with server.pool.acquire() as conn:
        await campaigns.create(conn, 1, {"Name": "Renewals", "Queue": "sales"})
    await server.add_user("sam")
    await page.set_viewport_size({"width": 768, "height": 1024})
    await sign_in_by_keys(page, server.url, "sam")
    await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await press_on(page, page.get_by_role("button", name="Pause Renewals"))
    await expect(page.locator("#campaigns tbody tr").get_by_text("Paused")).to_be_visible()
    # nothing runs off the screen sideways but the table, which scrolls in its frame
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
    await shot(page, "campaigns-tablet")


async def test_the_list_shows_live_figures_that_fit_the_screen(
    page: Page, server: Server, db_dsn: str
) -> None:
    north = await dialable_campaign(server.pool, name="Renewals", abandon_limit=0.03)
    await dialable_campaign(server.pool, name="Winter sale", dial_mode="predictive")
    contacts = [await add_contact(server.pool, north.id) for _ in range(40)]
    now = datetime.now(UTC)
    for n, contact in enumerate(contacts[:25]):
        await add_answer(server.pool, contact, north.id, now, abandoned=n == 0)
    now_s = time.time()
    agents = [
        AgentLive("PJSIP/agent1", "agent1", AgentState.TALKING, now_s - 40),
        AgentLive("PJSIP/agent2", "agent2", AgentState.WRAPUP, now_s - 3),
        AgentLive("PJSIP/agent3", "agent3", AgentState.FREE, now_s - 12),
    ]
    calls = [CallLive(9, contacts[30], "+4930100000", CallState.RINGING, now_s - 4, None)]
    live = PostgresLiveStore(server.pool, db_dsn, "engine-1")
    await live.publish(view_of("engine-1", north, agents, calls))
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    row = page.locator("#campaigns tbody tr", has_text="Renewals")
    await expect(row).to_contain_text("3 logged in")
    await expect(row).to_contain_text("1 ringing")
    await expect(row).to_contain_text("4.0 % over today")
    await expect(row.get_by_role("button", name="Pause Renewals")).to_be_visible()
    # every column is on the screen: nothing scrolls sideways at 1280 px
    await shot(page, "campaigns")
    frame = page.locator("#campaigns-table")
    assert await frame.evaluate("e => e.scrollWidth <= e.clientWidth")
