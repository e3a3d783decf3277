"""The reports screen in Chromium, as a viewer on the wall would read it: the figures of the
history the test wrote, the abandon rate against the limit, and the downloads."""

from __future__ import annotations

import csv
from datetime import timedelta

import asyncpg
from playwright.async_api import Page, expect
from python_calamine import CalamineWorkbook

from dialerd.domain import Connres, Role
from dialerd.reports import export
from tests.browser.conftest import Server, shot, sign_in
from tests.integration.test_reports import (
    DAY,
    abandoned_call,
    add_agent_minute,
    add_attempt,
    oslo,
    oslo_campaign,
)

FIRST = DAY - timedelta(days=2)


async def history(pool: asyncpg.Pool) -> tuple[int, int]:
    """Two campaigns' last three days: Winter sale over its 3% limit on DAY (2 of 25 abandoned),
    within it before; Renewals quieter. Agents' calls and minutes."""
    winter, w = await oslo_campaign(pool, "Winter sale", abandon_limit=0.03)
    renewals, r = await oslo_campaign(pool, "Renewals", abandon_limit=0.05)
    for offset, answered, abandoned in ((2, 40, 1), (1, 36, 0), (0, 23, 2)):
        day = DAY - timedelta(days=offset)
        for i in range(answered):
            agent = f"PJSIP/agent{1 + i % 3}"
            end = oslo(day, 9 + i % 8, i % 60)
            await add_attempt(pool, w, end, Connres.CONNECTED, 16, agent=agent, talk_s=95 + i)
        for i in range(abandoned):
            await abandoned_call(pool, w, oslo(day, 12, i))
        for i in range(12):
            await add_attempt(pool, w, oslo(day, 10, i), Connres.NO_ANSWER, 19)
        for i in range(5):
            await add_attempt(pool, w, oslo(day, 11, i), Connres.BUSY, 17)
        await add_attempt(pool, w, oslo(day, 14), Connres.NETWORK, 1)
        for i in range(6):
            await add_attempt(
                pool, r, oslo(day, 15, i), Connres.CONNECTED, 16, agent="PJSIP/agent4", talk_s=240
            )
        for agent, talk in (("PJSIP/agent1", 40), ("PJSIP/agent2", 30), ("PJSIP/agent3", 25)):
            for minute in range(120):  # two hours; each minute 5 s wrap-up and 5 s paused
                at = oslo(day, 9) + timedelta(minutes=minute)
                ready = 60 - talk - 10
                await add_agent_minute(
                    pool, winter, at, agent, talk=talk, wrapup=5, ready=ready, paused=5
                )
    return winter, renewals


async def test_a_viewer_reads_the_reports_and_downloads_the_attempts(
    page: Page, server: Server
) -> None:
    winter, _ = await history(server.pool)
    await server.add_user("vera", Role.VIEWER)
    await sign_in(page, server, "vera")
    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    await page.get_by_label("From").fill(str(FIRST))
    await page.get_by_label("To").fill(str(DAY))
    await page.get_by_role("button", name="Show").click()

    over = page.locator(f'#abandon tr[data-campaign="{winter}"][data-day="{DAY}"]')
    await expect(over.locator("td").nth(2)).to_have_text("25")
    await expect(over.locator("td").nth(3)).to_have_text("2")
    await expect(over.locator(".state.bad")).to_have_text("8.00 % · over the limit")
    within = page.locator(f'#abandon tr[data-campaign="{winter}"][data-day="{FIRST}"]')
    await expect(within.locator(".state.ok").first).to_have_text("2.44 %")  # 1 of 41
    # The 30 days of DAY: 3 of 102 live answers, 2.94 %, within the 3 % limit.
    await expect(over.locator("td").nth(5)).to_have_text("102")
    await expect(over.locator("td").nth(7)).to_have_text("2.94 %")
    agent1 = page.locator("#agents tr", has_text="PJSIP/agent1")
    await expect(agent1.locator("td").nth(1)).to_have_text("34")  # 14 + 12 + 8
    await expect(agent1.locator("td").nth(3)).to_have_text("0:30:00")  # 3 × 120 × 5 s
    await expect(agent1.locator("td").nth(4)).to_have_text("6:00:00")
    await expect(agent1.locator("td").nth(5)).to_have_text("75.0 %")  # (40 + 5) / 60
    busy = page.locator("#outcomes tr", has_text="user busy").first
    await expect(busy.locator("td").nth(3)).to_have_text("5")
    await shot(page, "reports")

    async with page.expect_download() as csv_download:
        await page.get_by_role("link", name="CSV").click()
    download = await csv_download.value
    assert download.suggested_filename == f"attempts-{FIRST}-to-{DAY}.csv"
    with open(await download.path(), newline="") as f:  # noqa: ASYNC230 (a small local file)
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * (18 + 6) + 40 + 36 + 23 + 1 + 2
    assert sum(r["abandoned"] == "true" for r in rows) == 3
    assert {r["campaign"] for r in rows} == {"Winter sale", "Renewals"}

    await page.get_by_label("Campaign").select_option(label="Winter sale")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#abandon tbody tr")).to_have_count(3)
    async with page.expect_download() as xlsx_download:
        await page.get_by_role("link", name="Excel (.xlsx)").click()
    download = await xlsx_download.value
    assert download.suggested_filename == f"attempts-campaign-{winter}-{FIRST}-to-{DAY}.xlsx"
    sheet = CalamineWorkbook.from_path(str(await download.path())).get_sheet_by_name("attempts")
    cells = sheet.to_python()
    assert tuple(cells[0]) == export.COLUMNS
    assert len(cells) - 1 == 3 * 18 + 40 + 36 + 23 + 3
    assert {r[2] for r in cells[1:]} == {"Winter sale"}


async def test_a_bad_range_is_said_next_to_the_field(page: Page, server: Server) -> None:
    await history(server.pool)
    await server.add_user("vera", Role.VIEWER)
    await sign_in(page, server, "vera")
    await page.goto(server.url + f"/console/reports?from={DAY}&to={FIRST}")
    await expect(page.locator("#err-to")).to_have_text("to: must not be before from")
    await expect(page.get_by_label("To")).to_have_attribute("aria-invalid", "true")
    await shot(page, "reports-error")
    later = DAY + timedelta(days=40)
    await page.goto(server.url + f"/console/reports?from={later}&to={later}")
    await expect(page.get_by_text("No call ended on these days.")).to_be_visible()
