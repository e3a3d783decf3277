"""A campaign's result codes on its edit screen, as a supervisor keeps them, in Chromium."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import Server, shot, sign_in
from tests.integration.test_scheduler import add_campaign


async def test_a_supervisor_adds_changes_and_removes_result_codes(
    page: Page, server: Server
) -> None:
    cid = await add_campaign(server.pool, "Renewals")
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    await page.goto(f"{server.url}/console/campaigns/{cid}/edit")
    codes = page.locator("#result-codes")
    await expect(codes.get_by_text("No result codes yet")).to_be_visible()

    async def add(name: str, kind: str, minutes: str = "") -> None:
        row = codes.locator("tr.add")
        await row.get_by_label("Result code name").fill(name)
        await row.get_by_label("Result code type").select_option(label=kind)
        await row.get_by_label("Retry after (minutes)").fill(minutes)
        await row.get_by_role("button", name="Add").click()

    await add("Sale", "done (success)")
    await add("Not interested", "done (refused)")
    await add("Call back", "callback")
    await add("Busy, try later", "retry after minutes")  # no minutes
    await expect(codes.get_by_role("alert")).to_have_text(
        "The result code needs a change: see the marked field."
    )
    await expect(codes.locator("tr.add")).to_contain_text("a retry code needs its minutes")
    await expect(codes.locator("tr.add").get_by_label("Result code name")).to_have_value(
        "Busy, try later"
    )  # nothing typed is lost
    await codes.locator("tr.add").get_by_label("Retry after (minutes)").fill("30")
    await codes.locator("tr.add").get_by_role("button", name="Add").click()
    await add("Wrong person", "wrong number")
    await add("Never again", "do not call")
    await expect(codes.locator("tbody tr:not(.add)")).to_have_count(6)

    refused = codes.locator("tr", has=page.locator('input[value="Not interested"]'))
    await refused.get_by_label("Result code active").uncheck()
    await refused.get_by_role("button", name="Save").click()
    await expect(
        codes.locator("tr", has=page.locator('input[value="Not interested"]'))
        .get_by_label("Result code active")
    ).not_to_be_checked()  # fmt: skip
    never = codes.locator("tr", has=page.locator('input[value="Never again"]'))
    await never.get_by_role("button", name="Remove").click()
    await expect(codes.locator("tbody tr:not(.add)")).to_have_count(5)
    rows = await server.pool.fetch(
        "SELECT name, type_id, retry_minutes, active FROM campaign_result_codes ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("Sale", 1, None, True),
        ("Not interested", 2, None, False),
        ("Call back", 4, None, True),
        ("Busy, try later", 3, 30, True),
        ("Wrong person", 5, None, True),
    ]
    await codes.scroll_into_view_if_needed()
    await shot(page, "campaign-result-codes")
