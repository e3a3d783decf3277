"""Transfer from the workspace on the real lab, in Chromium. The workspace agent's phone is the
tone phone ``toneagent1``, which stays on the call until Asterisk ends it. A predictive call
bridged to it is transferred to a number (the far end answers it and hangs up a second later)
and another to another queue (a lab agent answers there and talks ``LAB_TALK_TIME`` s). Both
stay connected in history, with the workspace agent as theirs and the transfer in their
detail, and close when the callee's leg ends; the agent is in after-call work as soon as its
own leg ended (AgentComplete Reason ``transfer``), while its call goes on; both transfers are
in the audit log."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from playwright.async_api import Page, expect

from dialerd.domain import AFTER_CALL_REASON, AgentStatus
from dialerd.store import agents
from tests.browser.conftest import Server, sign_in
from tests.pbx.conftest import Ami, Event, attempt_ids
from tests.pbx.harness import Harness, number, wait_until
from tests.pbx.test_workspace_lab import QUEUE, agent, connected_to, members, signed_in

PHONE = "PJSIP/toneagent1"
OTHER_QUEUE = "lab-agents"  # the lab's campaign queue with static sipp agents


async def attempt_row(pool: asyncpg.Pool, attempt: int) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, connres, agent, users_id, detail, caller_hangup, dt_agent_connect,"
        " dt_call_end FROM contact_history WHERE id = $1",
        attempt,
    )
    assert row is not None
    return row


async def after_call_since(pool: asyncpg.Pool, user_id: int, attempt: int) -> Any:
    """When the agent's after-call work for ``attempt`` began (None: it has not)."""
    return await pool.fetchval(
        "SELECT started_at FROM agent_states WHERE user_id = $1 AND state = 'after_call'"
        " AND attempt_id = $2",
        user_id,
        attempt,
    )


def agent_complete(attempt: int, after: float) -> Any:
    """The session's AMI client has earlier tests' events, whose attempt ids are the same."""

    def check(e: Event) -> bool:
        return e.name == "AgentComplete" and e.t > after and str(attempt) in attempt_ids(e)

    return check


async def bridged(h: Harness, ami: Ami, page: Page, campaign: int) -> tuple[int, int]:
    """A new contact called and bridged to the workspace agent, its pop on the page: (contact,
    attempt)."""
    added = time.monotonic()
    contact = await h.contact(campaign, number(0))  # answers and stays on
    connect = await ami.wait_for(connected_to(PHONE, added), 30)
    attempt = min(int(a) for a in attempt_ids(connect))
    await expect(page.locator("#ws-contact")).to_have_attribute("data-attempt", str(attempt))
    await expect(page.locator("#ws-state")).to_have_text("On a call")
    return contact, attempt


async def test_calls_are_transferred_to_a_number_and_to_another_queue(
    h: Harness, ami: Ami, page: Page, server: Server
) -> None:
    campaign = await h.campaign(
        Queue=QUEUE, DialMode="predictive", WrapUpLimitSeconds=60, DefaultRegion="DE"
    )
    await h.campaign(Queue=OTHER_QUEUE)  # the client's other queue; no contacts, no calls
    ada = await agent(server, "ada", PHONE, campaign)
    to_number = number(4)  # the far end answers after 1 s of ringing, hangs up 1 s later
    seen: dict[str, Any] = {}

    async def during() -> None:
        await sign_in(page, server, "ada")
        await signed_in(page, h.lab, PHONE)

        _, first = await bridged(h, ami, page, campaign)
        await page.locator("#ws-transfer-number").fill(to_number.replace("+49", "0"))  # national
        clicked = time.monotonic()
        await page.get_by_role("button", name="Transfer to the number").click()
        await expect(page.locator("#ws-result")).to_have_text(f"Transferred to {to_number}")
        done = await ami.wait_for(agent_complete(first, clicked), 10)
        assert done.get("reason") == "transfer" and done.get("interface") == PHONE
        await expect(page.locator("#ws-state")).to_have_text("After-call work", timeout=5000)
        assert (await attempt_row(h.pool, first))["status"] != "closed"  # the call goes on
        seen["first"] = first

        async def closed() -> bool:
            return bool((await attempt_row(h.pool, first))["status"] == "closed")

        await wait_until(closed, 20)
        await page.get_by_role("button", name="Done").click()
        await expect(page.locator("#ws-state")).to_have_text("Ready")

        _, second = await bridged(h, ami, page, campaign)
        await page.get_by_label("another queue").select_option(OTHER_QUEUE)
        clicked = time.monotonic()
        await page.get_by_role("button", name="Transfer to the queue").click()
        await expect(page.locator("#ws-result")).to_have_text(f"Transferred to {OTHER_QUEUE}")

        def taken_there(e: Event) -> bool:
            return (
                e.name == "AgentConnect"
                and e.t > clicked
                and e.get("queue") == OTHER_QUEUE
                and str(second) in attempt_ids(e)
            )

        seen["taker"] = (await ami.wait_for(taken_there, 15)).get("interface")
        await expect(page.locator("#ws-state")).to_have_text("After-call work", timeout=5000)
        seen["second"] = second

        async def second_closed() -> bool:  # the lab agent hangs up after its talk time
            return bool((await attempt_row(h.pool, second))["status"] == "closed")

        await wait_until(second_closed, 20)
        await page.get_by_role("button", name="Done").click()
        await expect(page.locator("#ws-state")).to_have_text("Ready")
        await page.get_by_role("button", name="Sign out of my queues").click()
        await expect(page.locator("#ws-state")).to_have_text("Signed out")
        await page.goto("about:blank")  # the event stream ends before the server
        seen["done"] = True

    async def finished() -> bool:
        return "done" in seen

    try:
        await h.run_until(finished, 120, during=during)
    finally:
        if "toneagent1" in members(h.lab):
            h.lab.cli(f"queue remove member {PHONE} from {QUEUE}")

    first, second = seen["first"], seen["second"]
    row = await attempt_row(h.pool, first)
    assert (row["connres"], row["agent"], row["users_id"]) == (1, PHONE, ada)
    assert row["detail"] == f"TRANSFER number {to_number} ANSWER"
    assert row["caller_hangup"] is False  # the far end of the transfer hung up, not the callee
    since = await after_call_since(h.pool, ada, first)
    assert row["dt_agent_connect"] < since < row["dt_call_end"]  # after-call began mid-call

    row = await attempt_row(h.pool, second)
    assert (row["connres"], row["agent"], row["users_id"]) == (1, PHONE, ada)
    assert seen["taker"].startswith("PJSIP/agent")
    assert row["detail"] == f"TRANSFER queue {OTHER_QUEUE} ANSWER {seen['taker']}"
    since = await after_call_since(h.pool, ada, second)
    assert row["dt_agent_connect"] < since < row["dt_call_end"]

    states = [(p.state, p.reason) for p in reversed(await agents.history(h.pool, ada, 1, 10))]
    assert states == [
        (AgentStatus.READY, ""),
        (AgentStatus.AFTER_CALL, AFTER_CALL_REASON),
        (AgentStatus.READY, ""),
        (AgentStatus.AFTER_CALL, AFTER_CALL_REASON),
        (AgentStatus.READY, ""),
        (AgentStatus.OUT, ""),
    ]
    audited = await h.pool.fetch(
        "SELECT target, detail->>'to' AS to, detail->>'target' AS target_of, detail->>'error'"
        " AS error FROM audit_log WHERE action = 'workspace.transfer' ORDER BY id"
    )
    assert [tuple(r) for r in audited] == [
        (f"agent {PHONE}", "number", to_number, None),
        (f"agent {PHONE}", "queue", OTHER_QUEUE, None),
    ]
