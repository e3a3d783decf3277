"""The console in a real browser: Playwright driving Debian's Chromium (headless) against a real
dialerd HTTP server on a free port and a fresh Postgres database per test.

``shot(page, name)`` saves a 1280x800 screenshot as docs/console/<name>.png: the README shows
them, so a test run refreshes the pictures of every screen.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from dialerd.config import Settings
from dialerd.domain import Role
from dialerd.service import build_app
from dialerd.users.service import add_user
from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("DIALERD_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 800}
# Headless, as root (no sandbox), and nothing that reaches out to the network on its own.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per session, before any test)
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh --browser installs Debian's chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        yield launched
        await launched.close()


@dataclass
class Server:
    url: str  # http://127.0.0.1:<port>
    pool: asyncpg.Pool

    async def add_user(
        self,
        login: str,
        role: Role = Role.SUPERVISOR,
        client_id: int = 1,
        *,
        installation_admin: bool = False,
    ) -> None:
        await add_user(
            self.pool,
            client_id,
            login,
            PASSWORD,
            role,
            display_name=login.title(),
            installation_admin=installation_admin,
        )


@pytest.fixture
async def server(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Server]:
    runner = web.AppRunner(build_app(settings, pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield Server(f"http://{host}:{port}", pool)
    finally:
        await runner.cleanup()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    errors: list[str] = []
    opened = await context.new_page()
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(m.text) if _unexpected(m.type, m.text) else None)
    try:
        yield opened
    finally:
        await context.close()
    # A script error or a refused asset (CSP) on any page fails the test that saw it.
    assert not errors, errors


_REFUSED_PAGE = re.compile(
    r"Failed to load resource: the server responded with a status of (400|401|403|409|429) .*"
)


def _unexpected(kind: str, text: str) -> bool:
    """A console error other than Chromium's note on a page the test made the console refuse
    (a form's 400, a wrong password's 401, a viewer's 403, a throttled 429): assets are public
    and never answer so."""
    return kind == "error" and not _REFUSED_PAGE.fullmatch(text)


async def sign_in(page: Page, server: Server, login: str, password: str = PASSWORD) -> None:
    await page.goto(server.url + "/console/")
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def shot(page: Page, name: str) -> None:
    """A 1280x800 picture of the page as it is now, for docs/console/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))
