"""The integrations page: API tokens (shown once), calling systems and their CRM links, info
fields, pause reasons; an installation admin's, the shared ones read-only for a plain admin."""

from __future__ import annotations

from playwright.async_api import Page, expect

from dialerd.api.auth import client_for_token
from dialerd.domain import Role
from dialerd.store import admin
from tests.browser.conftest import Server, shot, sign_in


async def test_an_admin_sets_up_what_a_crm_needs(page: Page, server: Server) -> None:
    await server.add_user("ada", Role.ADMIN, client_id=4, installation_admin=True)
    await sign_in(page, server, "ada")
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_role("link", name="Integrations").click()
    await expect(page.get_by_text("No API tokens yet")).to_be_visible()

    await page.get_by_role("button", name="Create an API token").click()
    token = await page.locator("#new-token").inner_text()
    assert await client_for_token(server.pool, f"Bearer {token}") == 4  # the admin's client
    await page.get_by_role("textbox", name="systemCode").fill("CRM ONE")
    await page.get_by_role("button", name="Register").click()
    await expect(page.get_by_role("alert")).to_contain_text("without spaces")
    await page.get_by_role("textbox", name="systemCode").fill("CRM_ONE")
    await page.get_by_role("button", name="Register").click()
    await expect(page.locator("#systems")).to_contain_text("CRM_ONE")
    await page.get_by_role("textbox", name="emprId").fill("216")
    await page.get_by_label("Name", exact=True).fill("City")
    await page.get_by_role("button", name="Define").click()
    await expect(page.locator("#fields")).to_contain_text("City")
    await expect(page.locator("#new-token")).to_have_count(0)  # shown once only
    crm = page.get_by_label("CRM link of CRM_ONE")
    await crm.fill("https://crm.example/c?id={lookup}")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("Unknown placeholder {lookup}")
    await crm.fill("https://crm.example/customer?id={systemLookupCode}")
    await page.get_by_role("button", name="Save").click()
    await expect(crm).to_have_value("https://crm.example/customer?id={systemLookupCode}")
    await page.get_by_role("textbox", name="Reason").fill("Training")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator("#reasons")).to_contain_text("Training")
    await shot(page, "admin-integrations")

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Revoke token 1").click()
    await expect(page.locator("#tokens")).to_contain_text("Revoked")
    assert await client_for_token(server.pool, f"Bearer {token}") is None
    await page.get_by_role("link", name="Audit log").click()
    await expect(page.locator("#audit tbody tr")).to_have_count(7)  # the sign-in's too
    await expect(page.locator("#audit tbody tr").first).to_contain_text("token.revoke")
    await expect(page.locator("#audit tbody tr").last).to_contain_text("user.sign_in")


async def test_a_plain_admin_reads_what_every_client_shares(page: Page, server: Server) -> None:
    await server.add_user("bea", Role.ADMIN, client_id=5)
    await admin.add_calling_system(server.pool, "CRM_ONE")
    await admin.set_crm_url_template(server.pool, "CRM_ONE", "https://crm.example/?id={extCustId}")
    await admin.define_info_field(server.pool, 216, "City")
    await sign_in(page, server, "bea")
    await page.goto(server.url + "/console/admin/setup")
    await expect(page.locator("#systems")).to_contain_text("https://crm.example/?id={extCustId}")
    await expect(page.locator("#fields")).to_contain_text("City")
    for control in ("systemCode", "emprId"):
        await expect(page.get_by_role("textbox", name=control)).to_have_count(0)
    await expect(page.get_by_label("CRM link of CRM_ONE")).to_have_count(0)
    await expect(page.get_by_role("button", name="Create an API token")).to_be_visible()
