"""The API's documentation page in a real browser: Swagger UI from this server only, under the
page's Content-Security-Policy (a refused script or style fails the test), with every
operation of the document shown."""

from __future__ import annotations

from playwright.async_api import Page, expect

from dialerd.api.openapi import document
from tests.browser.conftest import Server


async def test_the_docs_page_shows_every_operation(page: Page, server: Server) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await page.goto(server.url + "/docs")
    operations = sum(len(ops) for ops in document()["paths"].values())
    await expect(page.locator(".opblock")).to_have_count(operations)
    await expect(page.get_by_text("/itxdialer/calltaskimport/{importId}")).to_be_visible()
    assert all(url.startswith(server.url) for url in requested), requested
    # An operation opens with the seed's example body.
    await page.locator(".opblock-post .opblock-summary").first.click()  # the calltask import
    await expect(page.get_by_text('"systemCode": "MY_SYSTEM"').first).to_be_visible()
