"""The wallboard on the real lab: during a campaign the published view shows an agent going to
talking and its call within 1 s of Asterisk's AgentConnect; a force pause and a sign-out from
the wallboard change the agent's state in Asterisk; a listen-in reaches the agent's call
(ChanSpyStart on the agent's channel). The supervisor's phone is a lab agent phone (a sipp
that answers at once) paused out of the queue first, so the queue offers it no call."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest

from dialerd.config import Settings
from dialerd.domain import AgentActionKind
from dialerd.wallboard.service import Wallboard, WallboardError
from tests.conftest import Api
from tests.pbx.conftest import Ami, Event, Lab
from tests.pbx.test_dialer_e2e import Harness, number, wait_until

SUPERVISOR = "PJSIP/agent3"  # the lab agent phone that plays the supervisor's


@pytest.fixture
async def h(api: Api, pool: asyncpg.Pool, lab: Lab, settings: Settings) -> Harness:
    return Harness(api, pool, lab, settings)


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
            await board.act(
                client_id=1,
                user_id=None,
                phone=None,
                campaign_id=campaign,
                agent=SUPERVISOR,
                kind=AgentActionKind.PAUSE,
            )
            assert "paused:supervisor" in h.lab.cli("queue show lab-agents").replace(" ", "")
            await wait_until(supervisor_paused, 1.0)  # the view follows Asterisk's event
            with_call = asyncio.ensure_future(first_talking(updates))
            await asyncio.sleep(0.3)
            await h.contact(campaign, number(0))  # answers at once; the agent talks 3 s
            agent, shown_at = await asyncio.wait_for(with_call, 30)
            connect = await ami.wait_for(
                lambda e: e.name == "AgentConnect" and e.get("interface") == agent, 5
            )
            seen["latency"] = shown_at - connect.t

            await board.act(
                client_id=1,
                user_id=None,
                phone=SUPERVISOR,
                campaign_id=campaign,
                agent=agent,
                kind=AgentActionKind.LISTEN,
            )
            spy = await ami.wait_for(is_spy_on(agent), 5)
            seen["spy"] = spy.t
        finally:
            await updates.aclose()
            h.lab.cli(f"queue unpause member {SUPERVISOR} queue lab-agents")

    async def supervisor_paused() -> bool:
        agents = campaign_of(await board.snapshot(1, campaign))["agents"]
        shown = [(a["state"], a["pause_reason"]) for a in agents if a["agent"] == SUPERVISOR]
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
    return "spy" in seen


def is_spy_on(agent: str) -> Any:
    def check(e: Event) -> bool:
        return e.name == "ChanSpyStart" and str(e.get("spyeechannel", "")).startswith(agent + "-")

    return check


async def test_sign_out_removes_a_dynamic_agent_and_a_static_one_is_refused(h: Harness) -> None:
    """Agents who log in (QueueAdd) can be signed out; the lab's static members cannot, and the
    wallboard says what Asterisk said."""
    empty = await h.campaign(Queue="lab-empty")
    board = Wallboard(h.pool, h.settings.require_database_url())
    h.lab.cli(f"queue add member {SUPERVISOR} to lab-empty penalty 0 as agent3")
    signed_out: list[str] = []

    async def during() -> None:
        async def shown() -> bool:
            c = campaign_of(await board.snapshot(1, empty))
            return any(a["agent"] == SUPERVISOR for a in c["agents"])

        try:
            await wait_until(shown, 20)
            await board.act(
                client_id=1,
                user_id=None,
                phone=None,
                campaign_id=empty,
                agent=SUPERVISOR,
                kind=AgentActionKind.SIGN_OUT,
            )
            signed_out.append(h.lab.cli("queue show lab-empty"))
        finally:
            if "agent3" in h.lab.cli("queue show lab-empty"):
                h.lab.cli(f"queue remove member {SUPERVISOR} from lab-empty")

    await h.run_until(lambda: done_signing(signed_out), 40, during=during)
    assert "agent3" not in signed_out[0], signed_out[0]

    static = await h.campaign()

    async def refused() -> None:
        async def shown() -> bool:
            return bool(campaign_of(await board.snapshot(1, static))["agents"])

        await wait_until(shown, 20)
        try:
            await board.act(
                client_id=1,
                user_id=None,
                phone=None,
                campaign_id=static,
                agent=SUPERVISOR,
                kind=AgentActionKind.SIGN_OUT,
            )
        except WallboardError as exc:
            signed_out.append(str(exc))

    await h.run_until(lambda: done_signing(signed_out, 2), 40, during=refused)
    assert "not dynamic" in signed_out[1].lower(), signed_out
    assert "agent3" in h.lab.cli("queue show lab-agents")


async def done_signing(signed_out: list[str], n: int = 1) -> bool:
    return len(signed_out) >= n
