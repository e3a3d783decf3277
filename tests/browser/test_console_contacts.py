"""The call tasks screen in Chromium: find a contact by a number typed in local format, reset
it, see its history; a script-named contact shows as text; one client's users never see
another client's contacts, by the screen or by URL; a viewer gets no action buttons."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from dialerd.domain import Role
from tests.browser.conftest import Server, shot, sign_in
from tests.integration.test_scheduler import add_campaign, add_contact

XSS = "<script>alert(1)</script>"


async def seed(server: Server) -> tuple[int, int]:
    """Campaign Renewals (region NO) with a busy Ola who has history, and a few others; another
    client's campaign with a contact of the same number. (Ola, the other client's contact.)"""
    pool = server.pool
    k = await add_campaign(pool, "Renewals", default_region="NO", timezone="Europe/Oslo")
    ola = await add_contact(
        pool,
        k,
        ["+4791234567", "+4722334455"],
        name="Ola Nordmann",
        user_data="CRM-1001",
        attempts=2,
        last_connres=3,
        last_cause=17,
        number_tries=[2, 0],
        number_last_cause=[17, None],
        number_end_reason=[3, None],
        dt_last_try=datetime.now(UTC) - timedelta(hours=3),
        number_invalid=[False, True],
        dt_next_try=datetime.now(UTC) + timedelta(days=1),
    )
    for connres, cause, hours in ((2, 19, 27), (3, 17, 3)):
        await pool.execute(
            """INSERT INTO contact_history (contact_id, campaign_id, phone_number,
                   phone_number_offset, status, connres, cause_code, dt_call_start,
                   dt_call_alert, dt_call_end)
               SELECT $1, $2, '+4791234567', 1, 'closed', $3, $4, t, t + interval '2 s',
                      t + interval '25 s'
               FROM (SELECT now() - $5 * interval '1 hour' AS t) s""",
            ola,
            k,
            connres,
            cause,
            hours,
        )
    names = ["Kari Hansen", "Per Olsen", XSS, "Anne Berg", "Jon Dahl"]
    for i, name in enumerate(names):
        await add_contact(pool, k, [f"+479000000{i}"], name=name, last_connres=2, attempts=1)
    theirs = await add_campaign(pool, "Their campaign", client_id=2, default_region="NO")
    other = await add_contact(pool, theirs, ["+4791234567"], name="Their Ola")
    return ola, other


async def test_find_by_a_local_number_reset_and_see_the_history(page: Page, server: Server) -> None:
    ola, _ = await seed(server)
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    await page.get_by_role("link", name="Call tasks").click()
    rows = page.locator("#contacts tbody tr")
    await expect(rows).to_have_count(6)
    await expect(page.locator("#contacts")).to_contain_text(XSS)  # as text, not a script
    await shot(page, "calltasks")
    await page.get_by_label("Phone number").fill("912 34 567")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Ola Nordmann")
    await expect(page).to_have_url(re.compile(r"number=912"))  # htmx pushed the search
    await shot(page, "calltasks-search")
    await page.get_by_role("link", name="Ola Nordmann").click()
    await expect(page.get_by_role("heading", name=re.compile("Ola Nordmann"))).to_be_visible()
    await expect(page.locator("#numbers")).to_contain_text("Invalid")
    await expect(page.locator("#attempts tbody tr")).to_have_count(2)
    await expect(page.locator("#attempts")).to_contain_text("17 user busy")
    await expect(page.locator("#attempts")).to_contain_text("2 no answer")
    await shot(page, "calltask")
    await page.locator("#attempts").scroll_into_view_if_needed()
    await shot(page, "calltask-history")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Reset").click()
    await expect(page.get_by_role("heading", name=re.compile("Ola Nordmann"))).to_contain_text(
        "Due"
    )
    facts = page.locator("table.facts").first
    await expect(facts).to_contain_text("0 of 3")
    await expect(page.locator("#attempts tbody tr")).to_have_count(2)  # history kept
    row = await server.pool.fetchrow("SELECT * FROM contacts WHERE id=$1", ola)
    assert row is not None and (row["attempts"], row["last_connres"]) == (0, None)


async def test_reset_every_busy_contact_after_the_count(page: Page, server: Server) -> None:
    await seed(server)
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    await page.goto(server.url + "/console/contacts")
    await page.get_by_label("Last outcome").select_option("2")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#contacts tbody tr")).to_have_count(5)
    await page.get_by_role("link", name="Reset all…").click()
    await expect(page.locator("#bulk-count")).to_have_text("5")
    await shot(page, "calltasks-bulk")
    await page.get_by_role("button", name="Reset 5 call tasks").click()
    await expect(page.get_by_role("status")).to_have_text("Reset: 5 contacts")
    await expect(page.locator("#contacts tbody tr")).to_have_count(0)
    await expect(page.get_by_text("No call tasks match this search.")).to_be_visible()


async def test_a_viewer_sees_no_actions_and_no_other_clients_contacts(
    page: Page, server: Server
) -> None:
    ola, other = await seed(server)
    await server.add_user("vera", Role.VIEWER)
    await sign_in(page, server, "vera")
    await page.goto(server.url + "/console/contacts?number=91234567")
    await expect(page.locator("#contacts tbody tr")).to_have_count(1)
    await expect(page.locator("#contacts")).not_to_contain_text("Their Ola")
    await expect(page.get_by_role("link", name="Reset all…")).to_have_count(0)
    await page.goto(f"{server.url}/console/contacts/{ola}")
    await expect(page.get_by_role("heading", name=re.compile("Ola Nordmann"))).to_be_visible()
    await expect(page.get_by_role("button", name="Reset")).to_have_count(0)
    await expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    # Another client's contact and campaign, by URL, with this session: as if they did not
    # exist (a request, not a page load: the browser would log the 404 as a page error).
    theirs = await server.pool.fetchval("SELECT campaign_id FROM contacts WHERE id=$1", other)
    for path in (f"/console/contacts/{other}", f"/console/contacts?campaign={theirs}"):
        response = await page.request.get(server.url + path, max_redirects=0)
        assert response.status == 404, path
        assert "Their Ola" not in await response.text()
