"""Preview dialling on the real lab, in Chromium: a signed-in agent of a preview campaign is
shown the next due contact (paused in its queue with the reason ``preview`` meanwhile); Skip
with a reason gives it back, due again after its retry interval, and shows the next; Call
places a real call to the lab's far end, "calling <number>" while it rings, bridged to the
agent's sipp phone once answered, and history records it (CONNRES, agent, UsersID); an
agent's own callback in a predictive campaign is offered to that agent; a manual call to a
typed number is placed and recorded as a contact of the campaign."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from playwright.async_api import Page, expect

from dialerd.domain import PREVIEW_REASON
from tests.browser.conftest import Server, shot, sign_in
from tests.pbx.conftest import Ami, Event
from tests.pbx.harness import Harness, number, wait_until
from tests.pbx.test_workspace_lab import QUEUE, agent, members, signed_in

ADA = "PJSIP/agent1"


def agent_connect(attempt: int) -> Any:
    def check(e: Event) -> bool:
        return (
            e.name == "UserEvent"
            and e.get("userevent") == "DialerdAgentConnect"
            and e.get("attemptid") == str(attempt)
        )

    return check


async def offered(page: Page, contact: int) -> None:
    await expect(page.locator("#ws-offer")).to_have_attribute("data-contact", str(contact))
    await expect(page.locator("#ws-call")).to_be_visible()


async def named(pool: asyncpg.Pool, contact: int, name: str) -> None:
    await pool.execute("UPDATE contacts SET name = $2 WHERE id = $1", contact, name)


async def closed_attempt(h: Harness, contact: int) -> dict[str, Any]:
    """The contact's one attempt, once it closed."""

    async def closed() -> bool:
        calls = await h.history(contact)
        return len(calls) == 1 and calls[0]["Status"] == "closed"

    await wait_until(closed, 40)
    [call] = await h.history(contact)
    return call


async def test_an_offer_is_skipped_the_next_rings_out_the_one_after_is_bridged_to_the_agent(
    h: Harness, ami: Ami, page: Page, server: Server
) -> None:
    campaign = await h.campaign(
        Queue=QUEUE, DialMode="preview", WrapUpLimitSeconds=1, MinCallIntervalHours=1
    )
    ada = await agent(server, "ada", ADA, campaign)
    skipped = await h.contact(campaign, number(0))
    ringing = number(6)
    rings_out = await h.contact(campaign, ringing)
    answers = number(0)
    called = await h.contact(campaign, answers)  # answers after 1 s; the agent talks 3 s
    await named(h.pool, skipped, "Ola Nordmann")
    await named(h.pool, rings_out, "Kari Nordmann")
    await named(h.pool, called, "Per Hansen")
    seen: dict[str, Any] = {}

    async def during() -> None:
        await sign_in(page, server, "ada")
        await signed_in(page, h.lab, ADA)
        await offered(page, skipped)
        await expect(page.locator("#ws-offer")).to_contain_text("Ola Nordmann")

        async def held_for_it() -> bool:
            return f"(paused:{PREVIEW_REASON}" in members(h.lab)

        await wait_until(held_for_it, 5)  # no queue call may reach it meanwhile
        await shot(page, "workspace-preview")

        await page.get_by_label("Skip because").fill("asked to be called next week")
        await page.get_by_role("button", name="Skip").click()
        await expect(page.locator("#ws-result")).to_have_text("Skipped")
        await offered(page, rings_out)
        seen["skipped"] = await h.pool.fetchrow(
            "SELECT claimed_by, dt_next_try - now() AS due_in FROM contacts WHERE id = $1",
            skipped,
        )

        await page.get_by_role("button", name=f"Call {ringing}").click()
        await expect(page.locator("#ws-calling")).to_contain_text(f"Calling {ringing}")
        await shot(page, "workspace-ringing")
        seen["rang_out"] = await closed_attempt(h, rings_out)

        await offered(page, called)  # the call was not answered: the next contact
        added = time.monotonic()
        await page.get_by_role("button", name=f"Call {answers}").click()
        await expect(page.locator("#ws-calling")).to_be_visible()
        pop = page.locator("#ws-contact")
        await expect(pop).to_contain_text("Per Hansen", timeout=15000)
        await expect(page.locator("#ws-state")).to_have_text("On a call")
        seen["call"] = await closed_attempt(h, called)
        connect = await ami.wait_for(agent_connect(seen["call"]["DiallerContactsHistoryID"]), 5)
        assert connect.t > added
        await expect(page.locator("#ws-state")).to_have_text("Ready", timeout=15000)
        await expect(page.locator("#ws-waiting")).to_be_visible()  # nothing more is due

        async def unpaused() -> bool:
            return "paused" not in members(h.lab)

        await wait_until(unpaused, 5)
        await page.get_by_role("button", name="Sign out of my queues").click()
        await expect(page.locator("#ws-state")).to_have_text("Signed out")
        await page.goto("about:blank")
        seen["done"] = True

    async def done() -> bool:
        return "done" in seen

    try:
        await h.run_until(done, 120, during=during)
    finally:
        if "agent1" in members(h.lab):
            h.lab.cli(f"queue remove member {ADA} from {QUEUE}")
    row = seen["skipped"]
    assert row["claimed_by"] is None and 3500 < row["due_in"].total_seconds() <= 3600
    assert await h.history(skipped) == []
    assert seen["rang_out"]["CONNRES"] == 2 and seen["rang_out"]["UsersID"] is None
    call = seen["call"]
    assert (call["CONNRES"], call["CauseCodesID"], call["Agent"], call["UsersID"]) == (
        1,
        16,
        ADA,
        ada,
    )
    assert call["dtAgentConnect"] is not None
    assert (await h.record(called))["State"] == "done"


async def test_an_agents_own_callback_is_offered_to_it_and_a_manual_call_is_recorded(
    h: Harness, page: Page, server: Server
) -> None:
    campaign = await h.campaign(Queue=QUEUE, DialMode="predictive", WrapUpLimitSeconds=1)
    ada = await agent(server, "ada", ADA, campaign)
    promised = await h.contact(campaign, number(0))
    await named(h.pool, promised, "Ola Nordmann")
    # Ada promised to call back; its time has come (the predictive dialer leaves it to her
    # for the campaign's grace).
    await h.pool.execute(
        "UPDATE contacts SET callback_at = now() - interval '1 s', callback_user_id = $2, "
        "dt_next_try = now() - interval '1 s' WHERE id = $1",
        promised,
        ada,
    )
    typed = number(0)
    seen: dict[str, Any] = {}

    async def during() -> None:
        await sign_in(page, server, "ada")
        await signed_in(page, h.lab, ADA)
        await offered(page, promised)
        await expect(page.locator("#ws-offered")).to_contain_text("Your callback")
        await page.locator("#ws-call").click()
        await expect(page.locator("#ws-contact")).to_contain_text("Ola Nordmann", timeout=15000)
        seen["callback"] = await closed_attempt(h, promised)
        await expect(page.locator("#ws-state")).to_have_text("Ready", timeout=15000)

        await page.get_by_label("Number", exact=True).fill(f"{typed[:3]} {typed[3:6]} {typed[6:]}")
        await page.locator("#ws-manual-call").click()
        await expect(page.locator("#ws-result")).to_have_text(f"Calling {typed}")
        await expect(page.locator("#ws-contact")).to_contain_text(
            "Manual call (Ada)", timeout=15000
        )
        seen["manual"] = await h.pool.fetchval(
            "SELECT id FROM contacts WHERE campaign_id = $1 AND phone_numbers = ARRAY[$2]",
            campaign,
            typed,
        )
        seen["manual_call"] = await closed_attempt(h, seen["manual"])
        await expect(page.locator("#ws-state")).to_have_text("Ready", timeout=15000)
        await page.get_by_role("button", name="Sign out of my queues").click()
        await expect(page.locator("#ws-state")).to_have_text("Signed out")
        await page.goto("about:blank")
        seen["done"] = True

    async def done() -> bool:
        return "done" in seen

    try:
        await h.run_until(done, 120, during=during)
    finally:
        if "agent1" in members(h.lab):
            h.lab.cli(f"queue remove member {ADA} from {QUEUE}")
    for call in (seen["callback"], seen["manual_call"]):
        assert (call["CONNRES"], call["Agent"], call["UsersID"]) == (1, ADA, ada), call
    contact = await h.record(seen["manual"])
    assert (contact["Name"], contact["State"]) == ("Manual call (Ada)", "done")
    callback = await h.pool.fetchrow(
        "SELECT callback_at, state FROM contacts WHERE id = $1", promised
    )
    assert callback is not None and dict(callback) == {"callback_at": None, "state": "done"}
