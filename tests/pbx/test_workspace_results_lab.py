"""The result-code form on the real lab, in Chromium: a predictive call is bridged to the sipp
agent phone; when it ends, the form takes Done's place, and the agent records a callback
tomorrow at 10:00 (the callee's time), only for itself: the contacts API's contact is due then
and its history row carries the code and its type; the agent is ready again. A wrong number
recorded in the form marks that number invalid, and the contact's next call goes to the next
number."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from playwright.async_api import Page, expect

from dialerd.domain import AFTER_CALL_REASON, AgentStatus
from dialerd.store import agents
from tests.browser.conftest import Server, shot, sign_in
from tests.integration.test_workspace import BERLIN  # the zone of number()'s numbers
from tests.pbx.conftest import Ami, attempt_ids
from tests.pbx.harness import Harness, number
from tests.pbx.test_workspace_lab import (  # the workspace lab's fixtures and helpers
    QUEUE,
    agent,
    connected_to,
    members,
    signed_in,
)

PHONE = "PJSIP/agent1"


async def add_code(h: Harness, campaign: int, name: str, type_id: int) -> int:
    body = {"Name": name, "DiallerResultCodesTypesID": type_id}
    status, out = await h.api.request(
        "POST", f"/dialler/campaigns/{campaign}/resultcodes", json=body
    )
    assert status == 200, out
    return int(out["records"][0]["ID"])


async def bridged_and_ended(ami: Ami, page: Page, after: float) -> int:
    """The attempt the queue bridges to the agent's phone after ``after``, once the phone has
    hung up (the lab's agents talk 3 s) and the workspace is in after-call work."""
    connect = await ami.wait_for(connected_to(PHONE, after), 30)
    attempt = min(int(a) for a in attempt_ids(connect))
    await expect(page.locator("#ws-contact")).to_have_attribute("data-attempt", str(attempt))
    await expect(page.locator("#ws-state")).to_have_text("After-call work", timeout=15000)
    await expect(page.locator(f"#ws-result-form-{attempt}")).to_be_visible()
    return attempt


async def save(page: Page, said: str) -> None:
    await page.get_by_role("button", name="Save result").click()
    await expect(page.locator("#ws-result")).to_have_text(said)
    await expect(page.locator("#ws-state")).to_have_text("Ready")


async def signed_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out of my queues").click()
    await expect(page.locator("#ws-state")).to_have_text("Signed out")
    await page.goto("about:blank")  # the event stream ends before the server


def leave_queue(h: Harness) -> None:
    if "agent1" in members(h.lab):
        h.lab.cli(f"queue remove member {PHONE} from {QUEUE}")


async def test_a_callback_tomorrow_at_ten_is_recorded_in_the_form(
    h: Harness, ami: Ami, page: Page, server: Server
) -> None:
    campaign = await h.campaign(Queue=QUEUE, DialMode="predictive", WrapUpLimitSeconds=300)
    ada = await agent(server, "ada", PHONE, campaign)
    await add_code(h, campaign, "Sold", 1)
    callback = await add_code(h, campaign, "Call back", 4)
    await add_code(h, campaign, "Wrong number", 5)
    seen: dict[str, Any] = {}

    async def during() -> None:
        await sign_in(page, server, "ada")
        await signed_in(page, h.lab, PHONE)
        after = ami.events[-1].t if ami.events else 0.0
        contact = await h.contact(campaign, number(0))
        await h.pool.execute("UPDATE contacts SET name = 'Erika Mustermann' WHERE id = $1", contact)
        seen["contact"] = contact
        seen["attempt"] = await bridged_and_ended(ami, page, after)
        assert f"(paused:{AFTER_CALL_REASON}" in members(h.lab)
        await expect(page.locator("#ws-callback-zone")).to_be_hidden()  # no callback code yet
        await page.get_by_label("Call back", exact=True).check()
        await expect(page.locator("#ws-callback-zone")).to_contain_text("Europe/Berlin")
        seen["day"] = datetime.now(BERLIN).date() + timedelta(days=1)
        await page.get_by_label("Date").fill(seen["day"].isoformat())
        await page.get_by_label("Time (Europe/Berlin)").fill("10:00")
        await page.get_by_label("Only me").check()
        await shot(page, "workspace-result")
        await save(page, "Call back: recorded. Ready for calls")
        assert "paused" not in members(h.lab)
        await signed_out(page)
        seen["done"] = True

    async def done() -> bool:
        return "done" in seen

    try:
        await h.run_until(done, 90, during=during)
    finally:
        leave_queue(h)
    at = datetime.combine(seen["day"], time(10), BERLIN)
    record = await h.record(seen["contact"])
    assert (record["State"], record["dtNextTry"]) == (
        "open",
        at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds"),
    )
    row = await h.pool.fetchrow(
        "SELECT callback_at, callback_user_id FROM contacts WHERE id = $1", seen["contact"]
    )
    assert row is not None and (row["callback_at"], row["callback_user_id"]) == (at, ada)
    [call] = await h.history(seen["contact"])
    assert call["DiallerContactsHistoryID"] == seen["attempt"] and call["CONNRES"] == 1
    assert (call["DiallerCampaignsResultCodesID"], call["DiallerResultCodesTypesID"]) == (
        callback,
        4,
    )
    assert call["UsersID"] == ada
    states = [p.state for p in reversed(await agents.history(h.pool, ada, 1, 10))]
    assert states == [AgentStatus.READY, AgentStatus.AFTER_CALL, AgentStatus.READY, AgentStatus.OUT]


async def test_a_wrong_number_in_the_form_sends_the_next_call_to_the_next_number(
    h: Harness, ami: Ami, page: Page, server: Server
) -> None:
    campaign = await h.campaign(Queue=QUEUE, DialMode="predictive", WrapUpLimitSeconds=300)
    await agent(server, "ada", PHONE, campaign)
    sold = await add_code(h, campaign, "Sold", 1)
    wrong = await add_code(h, campaign, "Wrong number", 5)
    first, second = number(0), number(0)
    seen: dict[str, Any] = {}

    async def during() -> None:
        await sign_in(page, server, "ada")
        await signed_in(page, h.lab, PHONE)
        after = ami.events[-1].t if ami.events else 0.0
        contact = await h.contact(campaign, first, second)
        seen["contact"] = contact
        await bridged_and_ended(ami, page, after)
        await expect(page.locator("#ws-contact")).to_contain_text(first)
        await page.get_by_label("Wrong number").check()
        again = ami.events[-1].t
        await save(page, "Wrong number: recorded. Ready for calls")
        record = await h.record(contact)
        assert (record["bPhoneNumber1Invalid"], record["bPhoneNumber2Invalid"]) == (True, False)

        # Due again at once, on the next number: the dialer calls it and the agent takes it.
        await bridged_and_ended(ami, page, again)
        await expect(page.locator("#ws-contact")).to_contain_text(second)
        await page.get_by_label("Sold").check()
        await save(page, "Sold: recorded. Ready for calls")
        await signed_out(page)
        seen["done"] = True

    async def done() -> bool:
        return "done" in seen

    try:
        await h.run_until(done, 120, during=during)
    finally:
        leave_queue(h)
    calls = await h.history(seen["contact"])
    assert [(c["PhoneNumber"], c["PhoneNumberOffset"], c["CONNRES"]) for c in calls] == [
        (first, 1, 1),
        (second, 2, 1),
    ]
    assert [c["DiallerCampaignsResultCodesID"] for c in calls] == [wrong, sold]
    assert [c["DiallerResultCodesTypesID"] for c in calls] == [5, 1]
    record = await h.record(seen["contact"])
    assert (record["State"], record["bPhoneNumber1Invalid"]) == ("done", True)
