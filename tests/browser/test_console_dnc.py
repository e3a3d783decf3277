"""The do-not-call screen in Chromium: an admin adds numbers to its client's list (a bad one
refused, nothing added), loads a file, searches, removes one; the installation's list is its
own tab."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from dialerd.domain import Role
from tests.browser.conftest import Server, shot, sign_in


async def test_an_admin_keeps_the_do_not_call_lists(
    page: Page, server: Server, tmp_path: Path
) -> None:
    await server.add_user("ada", Role.ADMIN)
    await sign_in(page, server, "ada")
    await page.get_by_role("link", name="Do not call").click()
    await expect(page.get_by_text("The list is empty")).to_be_visible()

    numbers = page.get_by_role("textbox", name="Numbers")
    await numbers.fill("+47 22 00 00 00\n030 1234567\ncall me")
    await page.get_by_label("Region", exact=True).fill("DE")
    await page.get_by_role("button", name="Add to the list").click()
    await expect(page.get_by_role("alert")).to_contain_text("#3 'call me'")
    await expect(page.get_by_text("The list is empty")).to_be_visible()  # nothing half-written
    await numbers.fill("+47 22 00 00 00\n030 1234567")
    await page.get_by_label("Region", exact=True).fill("DE")
    await page.get_by_role("button", name="Add to the list").click()
    await expect(page.get_by_role("status")).to_contain_text("2 added to the list")

    registry = tmp_path / "opt-outs.csv"
    registry.write_text("PhoneNumber\n+4930100001\n+4930100002\n+4722000000\n+12025550123\n")
    await page.get_by_label("File", exact=True).set_input_files(registry)
    await page.get_by_role("button", name="Load").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "opt-outs.csv: 4 numbers read, 3 added to the list, 1 already on it"
    )
    await expect(page.locator("#dnc-numbers tbody tr")).to_have_count(5)
    await expect(page.locator("#h-numbers")).to_contain_text("5")
    await shot(page, "dnc")

    await page.get_by_label("Number starts with").fill("+4930")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#dnc-numbers tbody tr")).to_have_count(3)
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Remove +4930100001").click()
    await expect(page.get_by_role("status")).to_contain_text("+4930100001 was taken off")
    await expect(page.locator("#dnc-numbers tbody tr")).to_have_count(2)

    await page.get_by_role("link", name="The installation's list").click()
    await expect(page.get_by_text("Every client's calls obey this list")).to_be_visible()
    await expect(page.get_by_text("The list is empty")).to_be_visible()
