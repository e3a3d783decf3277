"""Every screen, at 1280 px and at tablet width (768 px): nothing runs off the page sideways
(wide tables scroll in their own frame), every form control has a label a screen reader reads,
every button and link has a name, and the keyboard reaches every control (none is taken out of
the tab order)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from dialerd.domain import Role
from tests.browser.conftest import Server, sign_in
from tests.browser.test_console_contacts import seed

# Each control: is it labelled (a <label>, aria-label or aria-labelledby), and can Tab reach it?
_AUDIT = """() => {
  const visible = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
  const out = [];
  for (const e of document.querySelectorAll("input, select, textarea, button, a[href]")) {
    if (!visible(e) || (e.type === "hidden")) continue;
    const named = e.matches("input, select, textarea")
      ? (e.labels && e.labels.length > 0) || e.getAttribute("aria-label") ||
        e.getAttribute("aria-labelledby")
      : (e.innerText || e.getAttribute("aria-label") || "").trim().length > 0;
    if (!named) out.push("unnamed " + e.outerHTML.slice(0, 120));
    if (e.tabIndex < 0) out.push("not in the tab order " + e.outerHTML.slice(0, 120));
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.push("page wider than the window: " + document.documentElement.scrollWidth);
  return out;
}"""


@pytest.mark.parametrize("width", [1280, 768])
async def test_every_screen_reads_well_at_desktop_and_tablet_width(
    page: Page, server: Server, width: int
) -> None:
    ola, _ = await seed(server)
    campaign_id = await server.pool.fetchval("SELECT campaign_id FROM contacts WHERE id = $1", ola)
    await server.add_user("ada", Role.ADMIN, installation_admin=True)  # every control shown
    await page.set_viewport_size({"width": width, "height": 900})
    await sign_in(page, server, "ada")
    paths = [
        "/console/campaigns",
        "/console/campaigns/new",
        f"/console/campaigns/{campaign_id}/edit",
        f"/console/contacts?campaign={campaign_id}",
        f"/console/contacts/{ola}",
        "/console/imports",
        "/console/dnc",
        "/console/dnc?list=installation",
        "/console/wallboard",
        f"/console/wallboard/{campaign_id}",
        "/console/reports",
        "/console/admin/users",
        "/console/admin/setup",
        "/console/admin/audit",
    ]
    problems = {}
    for path in paths:
        response = await page.goto(server.url + path)
        assert response is not None and response.status == 200, path
        found = await page.evaluate(_AUDIT)
        if found:
            problems[path] = found
    assert not problems, problems
