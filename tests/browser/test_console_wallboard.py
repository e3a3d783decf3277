"""The wallboard in Chromium on views an engine would publish (no PBX here; the lab's run is
tests/pbx/test_wallboard_browser.py): agents and calls with their states, a change on screen
within a second, the hopper, alerts, the chart; a supervisor's action; a viewer's read-only
board."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from dialerd.dialer.live import CallLive
from dialerd.domain import AgentLive, AgentSeconds, AgentState, DialableCampaign, Role
from dialerd.store.live import PostgresLiveStore
from tests.browser.conftest import Server, shot, sign_in
from tests.integration.test_scheduler import add_contact
from tests.integration.test_wallboard import add_answer, dialable_campaign, view_of

INSTANCE = "dialer-1"


def agents(now: float, second_talks: bool = False) -> list[AgentLive]:
    return [
        AgentLive("PJSIP/agent1", "Anna", AgentState.TALKING, now - 95),
        AgentLive(
            "PJSIP/agent2", "Bo", AgentState.TALKING if second_talks else AgentState.FREE, now - 4
        ),
        AgentLive("PJSIP/agent3", "Cleo", AgentState.WRAPUP, now - 12),
        AgentLive("PJSIP/agent4", "Dan", AgentState.PAUSED, now - 400, "lunch"),
        AgentLive("PJSIP/agent5", "Eve", AgentState.TALKING, now - 1, ringing=True),
    ]


def calls(now: float, second_talks: bool = False) -> list[CallLive]:
    found = [
        CallLive(101, 1, "+4930100001", "agent", now - 100, "PJSIP/agent1"),
        CallLive(102, 2, "+4930100002", "ringing", now - 6, None),
        CallLive(103, 3, "+4930100003", "waiting", now - 1, None),
    ]
    if second_talks:
        found.append(CallLive(104, 4, "+4930100004", "agent", now - 2, "PJSIP/agent2"))
    return found


class Board:
    """A campaign with contacts and a day of history, and the engine's side: its published
    view and the supervisors' actions it carries out."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, campaign: DialableCampaign) -> None:
        self.campaign = campaign
        self.live = PostgresLiveStore(pool, dsn, INSTANCE)
        self.done: list[str] = []

    async def publish(self, second_talks: bool = False) -> None:
        now = time.time()
        view = view_of(INSTANCE, self.campaign, agents(now, second_talks), calls(now, second_talks))
        await self.live.publish(view)

    async def serve_actions(self) -> None:
        while True:
            for command in await self.live.next_commands(5.0):
                self.done.append(f"{command.action.kind.value} {command.action.agent}")
                await self.live.finish_command(command.id, None)


@pytest.fixture
async def board(server: Server, db_dsn: str) -> AsyncIterator[Board]:
    pool = server.pool
    campaign = await dialable_campaign(pool, name="Renewals", queue="sales")
    now = datetime.now(UTC)
    names = ["Ada Lovelace", "Grace Hopper", "<script>alert(1)</script>", "Alan Turing"]
    for i, name in enumerate(names):
        await add_contact(pool, campaign.id, [f"+4930200{i:04d}"], name=name)
    first = await add_contact(pool, campaign.id, ["+4930209999"], state="done")
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    live = PostgresLiveStore(pool, db_dsn, INSTANCE)
    minutes = []
    for quarter in range(12):
        at = start + timedelta(minutes=15 * quarter)
        if at.date() != now.date():
            continue
        busy = 0.55 + 0.03 * quarter
        minutes.append(AgentSeconds(at, campaign.id, "PJSIP/agent1", 60 * busy, 5, 55 - 60 * busy))
        for n in range(20):
            await add_answer(pool, first, campaign.id, at, abandoned=n < quarter % 3)
    await live.add_agent_seconds(minutes)
    found = Board(pool, db_dsn, campaign)
    await found.publish()
    serving = asyncio.create_task(found.serve_actions())
    try:
        yield found
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def test_the_wallboard_shows_agents_calls_and_a_change_within_a_second(
    page: Page, server: Server, board: Board
) -> None:
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    await page.get_by_role("link", name="Wallboard").click()
    agent1 = page.locator("tr[data-agent='PJSIP/agent1']")
    await expect(agent1).to_contain_text("Talking")
    await expect(agent1).to_contain_text("+4930100001")
    await expect(page.locator("tr[data-agent='PJSIP/agent4']")).to_contain_text("Paused lunch")
    await expect(page.locator("tr[data-agent='PJSIP/agent5']")).to_contain_text("Ringing")
    await expect(page.locator("tr[data-attempt='103']")).to_contain_text("Waiting for an agent")
    hopper = page.locator(".wb-hopper tbody tr")
    await expect(hopper).to_have_count(4)
    await expect(hopper.nth(2)).to_contain_text("<script>alert(1)</script>")  # text, not markup
    await expect(page.locator("#wb-chart canvas")).to_have_count(1)
    await expect(page.locator(".wb-pbx")).to_contain_text("22.10.1")
    await expect(page.locator(".age.warn, .age.bad")).not_to_have_count(0)  # long states stand out
    await shot(page, "wallboard")
    await page.locator("#wb-chart").scroll_into_view_if_needed()
    await shot(page, "wallboard-chart")

    published = time.monotonic()
    await board.publish(second_talks=True)
    agent2 = page.locator("tr[data-agent='PJSIP/agent2']")
    await expect(agent2).to_have_attribute("data-state", "talking", timeout=1000)
    await expect(page.locator("tr[data-attempt='104']")).to_be_visible(timeout=1000)
    assert time.monotonic() - published < 1.0

    await page.get_by_role("link", name="Renewals").first.click()
    await expect(page.get_by_role("heading", name="Wallboard: Renewals")).to_be_visible()
    await page.get_by_role("button", name="Pause Bo").click()
    await expect(page.locator("#action-result")).to_have_text("PJSIP/agent2 paused")
    assert board.done == ["pause PJSIP/agent2"]
    await shot(page, "wallboard-campaign")
    await leave(page, server)


async def test_a_viewer_sees_the_board_but_no_action(
    page: Page, server: Server, board: Board
) -> None:
    await server.add_user("vic", Role.VIEWER)
    await sign_in(page, server, "vic")
    await page.goto(server.url + f"/console/wallboard/{board.campaign.id}")
    await expect(page.locator("tr[data-agent='PJSIP/agent1']")).to_contain_text("Talking")
    await expect(page.get_by_role("button", name="Pause Bo")).to_have_count(0)
    headers = json.loads(await page.locator("body").get_attribute("hx-headers") or "{}")
    refused = await page.request.post(
        server.url + f"/console/wallboard/{board.campaign.id}/action",
        headers=headers,
        form={"agent": "PJSIP/agent2", "action": "pause"},
    )
    assert refused.status == 403
    assert board.done == []
    await shot(page, "wallboard-viewer")
    await leave(page, server)


async def leave(page: Page, server: Server) -> None:
    """Away from the wallboard before the test's server stops: its event stream would end
    under the page, which reports the lost stream as an error."""
    await page.goto(server.url + "/console/campaigns")
