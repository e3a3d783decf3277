"""The wallboard on the real lab: during a campaign the published view, and the console's page
in Chromium, show an agent going to talking and its call within 1 s of Asterisk's
AgentConnect; a force pause and a sign-out from the wallboard change the agent's state in
Asterisk. (Listen, whisper and barge: test_spy_media.py, by what each phone hears.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from playwright.async_api import Page

from dialerd.domain import AgentActionKind
from dialerd.wallboard.service import Wallboard, WallboardError
from tests.browser.conftest import Server, shot, sign_in
from tests.pbx.conftest import Ami
from tests.pbx.harness import Harness, number, wait_until

ACTED_ON = "PJSIP/agent3"  # the agent the supervisor pauses and signs out


async def act(
    board: Wallboard,
    campaign_id: int,
    agent: str,
    kind: AgentActionKind,
    phone: str | None = None,
) -> None:
    """A supervisor of client 1 acts on ``agent`` of the campaign."""
    await board.act(
        client_id=1, user_id=None, phone=phone, campaign_id=campaign_id, agent=agent, kind=kind
    )


def campaign_of(snap: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any]
    [c] = snap["campaigns"]
    return c


async def test_wallboard_follows_a_lab_call_and_its_actions_reach_asterisk(
    h: Harness, ami: Ami
) -> None:
    campaign = await h.campaign()
    board = Wallboard(h.pool, h.settings.require_database_url())
    seen: dict[str, float] = {}

    async def during() -> None:
        updates = board.updates(1, campaign)
        try:
            await wait_until(lambda: agents_shown(3), 20)
            await act(board, campaign, ACTED_ON, AgentActionKind.PAUSE)
            assert "paused:supervisor" in h.lab.cli("queue show lab-agents").replace(" ", "")
            await wait_until(supervisor_paused, 1.0)  # the view follows Asterisk's event
            with_call = asyncio.ensure_future(first_talking(updates))
            await asyncio.sleep(0.3)
            added = time.monotonic()  # the session's AMI client has earlier tests' events
            await h.contact(campaign, number(0))  # answers at once; the agent talks 3 s
            agent, shown_at = await asyncio.wait_for(with_call, 30)
            connect = await ami.wait_for(
                lambda e: e.name == "AgentConnect" and e.t > added and e.get("interface") == agent,
                5,
            )
            seen["latency"] = shown_at - connect.t
        finally:
            await updates.aclose()
            h.lab.cli(f"queue unpause member {ACTED_ON} queue lab-agents")

    async def supervisor_paused() -> bool:
        agents = campaign_of(await board.snapshot(1, campaign))["agents"]
        shown = [(a["state"], a["pause_reason"]) for a in agents if a["agent"] == ACTED_ON]
        return shown == [("paused", "supervisor")]

    async def agents_shown(n: int) -> bool:
        snap = await board.snapshot(1, campaign)
        return len(campaign_of(snap)["agents"]) == n

    async def first_talking(updates: Any) -> tuple[str, float]:
        async for snap in updates:
            c = campaign_of(snap)
            calls = {call["agent"] for call in c["calls"] if call["state"] == "agent"}
            for a in c["agents"]:
                if a["state"] == "talking" and a["agent"] in calls and a["number"]:
                    return a["agent"], time.monotonic()
        raise AssertionError("the updates ended")

    await h.run_until(lambda: done(seen), 60, during=during)
    assert seen["latency"] < 1.0, seen


async def done(seen: dict[str, float]) -> bool:
    return "latency" in seen


async def test_sign_out_removes_a_dynamic_agent_and_a_static_one_is_refused(h: Harness) -> None:
    """Agents who log in (QueueAdd) can be signed out; the lab's static members cannot, and the
    wallboard says what Asterisk said."""
    empty = await h.campaign(Queue="lab-empty")
    board = Wallboard(h.pool, h.settings.require_database_url())
    h.lab.cli(f"queue add member {ACTED_ON} to lab-empty penalty 0 as agent3")
    signed_out: list[str] = []

    async def during() -> None:
        async def shown() -> bool:
            c = campaign_of(await board.snapshot(1, empty))
            return any(a["agent"] == ACTED_ON for a in c["agents"])

        try:
            await wait_until(shown, 20)
            await act(board, empty, ACTED_ON, AgentActionKind.SIGN_OUT)
            signed_out.append(h.lab.cli("queue show lab-empty"))
        finally:
            if "agent3" in h.lab.cli("queue show lab-empty"):
                h.lab.cli(f"queue remove member {ACTED_ON} from lab-empty")

    await h.run_until(lambda: done_signing(signed_out), 40, during=during)
    assert "agent3" not in signed_out[0], signed_out[0]

    static = await h.campaign()

    async def refused() -> None:
        async def shown() -> bool:
            return bool(campaign_of(await board.snapshot(1, static))["agents"])

        await wait_until(shown, 20)
        try:
            await act(board, static, ACTED_ON, AgentActionKind.SIGN_OUT)
        except WallboardError as exc:
            signed_out.append(str(exc))

    await h.run_until(lambda: done_signing(signed_out, 2), 40, during=refused)
    assert "not dynamic" in signed_out[1].lower(), signed_out
    assert "agent3" in h.lab.cli("queue show lab-agents")


async def done_signing(signed_out: list[str], n: int = 1) -> bool:
    return len(signed_out) >= n


# Records, in the page, when an agent row first says talking and a call row first says "with an
# agent" (the browser's clock: the machine's, as Asterisk's event Timestamp).
OBSERVE = """() => {
  window.seen = {};
  const look = () => {
    for (const row of document.querySelectorAll("tr[data-agent][data-state='talking']")) {
      window.seen["agent " + row.dataset.agent] ??= Date.now() / 1000;
    }
    for (const row of document.querySelectorAll("tr[data-attempt][data-state='agent']")) {
      window.seen["call"] ??= Date.now() / 1000;
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
}"""


async def test_the_wallboard_page_shows_a_lab_call_within_a_second(
    h: Harness, ami: Ami, page: Page, server: Server
) -> None:
    campaign = await h.campaign()
    await server.add_user("sam")
    await sign_in(page, server, "sam")
    await page.goto(server.url + f"/console/wallboard/{campaign}")
    await page.evaluate(OBSERVE)
    latency: dict[str, float] = {}

    async def during() -> None:
        added = time.monotonic()  # the session's AMI client has earlier tests' events
        await h.contact(campaign, number(0))
        connect = await ami.wait_for(lambda e: e.name == "AgentConnect" and e.t > added, 30)
        agent = str(connect.get("interface"))

        async def shown() -> bool:
            seen = await page.evaluate("() => window.seen")
            return f"agent {agent}" in seen and "call" in seen

        await wait_until(shown, 10)
        seen = await page.evaluate("() => window.seen")
        at = float(connect.get("timestamp"))
        latency["agent"] = seen[f"agent {agent}"] - at
        latency["call"] = seen["call"] - at
        await shot(page, "wallboard-lab")
        await page.goto(server.url + "/console/campaigns")  # the stream ends before the server

    await h.run_until(lambda: done_latency(latency), 60, during=during)
    assert latency["agent"] < 1.0 and latency["call"] < 1.0, latency


async def done_latency(latency: dict[str, float]) -> bool:
    return bool(latency)
