"""The agent's workspace on the real lab, in Chromium: an agent signs in (QueueAdd to the
campaign's queue), a predictive call is bridged to its sipp phone and the screen pop shows the
right contact within 1 s of Asterisk's AgentConnect; it hangs up from the workspace and is in
after-call work (paused with that reason) until Done; a pause with a reason stops calls to it
and the wallboard shows the pause; sign-out leaves the queue. Two agents signed in at once in two
browser contexts each see only their own calls (the one who chose so gets the CRM opened on
its call), and the wrap-up limit makes them ready."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from playwright.async_api import Browser, Page, expect

from dialerd.domain import AFTER_CALL_REASON, AgentStatus, Role
from dialerd.store import admin as admin_store
from dialerd.store import agents
from dialerd.users.service import add_user
from dialerd.wallboard.service import Wallboard
from tests.browser.conftest import VIEWPORT, Server, shot, sign_in
from tests.conftest import PASSWORD
from tests.pbx.conftest import Ami, Event, Lab, attempt_ids
from tests.pbx.harness import Harness, number, wait_until

QUEUE = "lab-workspace"

# Records, in the page, when each attempt's screen pop first appears (the browser's clock:
# the machine's, as Asterisk's event Timestamp).
OBSERVE = """() => {
  window.popped = {};
  const look = () => {
    for (const el of document.querySelectorAll("#ws-contact[data-attempt]")) {
      window.popped[el.dataset.attempt] ??= Date.now() / 1000;
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true});
  look();
}"""


async def agent(server: Server, login: str, phone: str, campaign_id: int) -> int:
    user = await add_user(
        server.pool,
        1,
        login,
        PASSWORD,
        Role.AGENT,
        login.title(),
        endpoint=phone,
        campaign_ids=[campaign_id],
    )
    return user.id


async def contact_of(pool: asyncpg.Pool, attempt: int) -> int:
    return int(await pool.fetchval("SELECT contact_id FROM contact_history WHERE id=$1", attempt))


def members(lab: Lab) -> str:
    return lab.cli(f"queue show {QUEUE}")


def connected_to(phone: str, after: float) -> Callable[[Event], bool]:
    def check(e: Event) -> bool:
        return e.name == "AgentConnect" and e.t > after and e.get("interface") == phone

    return check


async def signed_in(page: Page, lab: Lab, phone: str) -> None:
    await page.get_by_role("button", name="Sign in to my queues").click()
    await expect(page.locator("#ws-state")).to_have_text("Ready")
    assert phone in members(lab)


async def test_an_agent_signs_in_gets_the_screen_pop_within_a_second_and_pauses(
    h: Harness, ami: Ami, page: Page, server: Server
) -> None:
    campaign = await h.campaign(Queue=QUEUE, DialMode="predictive", WrapUpLimitSeconds=60)
    ada = await agent(server, "ada", "PJSIP/agent1", campaign)
    await agents.add_pause_reason(h.pool, 1, "training")
    await admin_store.add_calling_system(h.pool, "crm1")
    await admin_store.set_crm_url_template(h.pool, "crm1", "https://crm.example/c?id={extCustId}")
    await admin_store.define_info_field(h.pool, 216, "City")
    board = Wallboard(h.pool, h.settings.require_database_url())
    seen: dict[str, Any] = {}

    async def during() -> None:
        await sign_in(page, server, "ada")
        await expect(page).to_have_url(server.url + "/console/agent/")
        await signed_in(page, h.lab, "PJSIP/agent1")
        await expect(page.locator("#ws-waiting")).to_be_visible()
        await shot(page, "workspace-waiting")
        await page.evaluate(OBSERVE)

        added = time.monotonic()  # the session's AMI client has earlier tests' events
        contact = await h.contact(campaign, number(0))  # answers at once; the agent talks 3 s
        await h.pool.execute(
            "UPDATE contacts SET name = 'Kari Nordmann', system_code = 'crm1', "
            "ext_cust_id = 'K-17', properties = '{\"216\": \"Oslo\"}' WHERE id = $1",
            contact,
        )
        connect = await ami.wait_for(
            lambda e: e.name == "AgentConnect" and e.t > added and e.get("queue") == QUEUE, 30
        )
        attempt = min(int(a) for a in attempt_ids(connect))
        pop = page.locator("#ws-contact")
        await expect(pop).to_have_attribute("data-attempt", str(attempt))
        popped = await page.evaluate("() => window.popped")
        seen["latency"] = popped[str(attempt)] - float(connect.get("timestamp"))
        assert await contact_of(h.pool, attempt) == contact
        await expect(pop).to_contain_text("Kari Nordmann")
        await expect(page.locator("#ws-fields")).to_contain_text("Oslo")
        await expect(page.locator("#ws-crm")).to_have_attribute(
            "href", "https://crm.example/c?id=K-17"
        )
        await expect(page.locator("#ws-state")).to_have_text("On a call")
        await shot(page, "workspace-call")

        # Hung up from the workspace before the phone would (after 3 s): after-call work.
        await page.get_by_role("button", name="Hang up").click()
        await expect(page.locator("#ws-result")).to_have_text("Hung up")
        await expect(page.locator("#ws-state")).to_have_text("After-call work", timeout=15000)
        [call] = await h.history(contact)
        assert call["CONNRES"] == 1
        seen["talked"] = await h.pool.fetchval(
            "SELECT extract(epoch FROM dt_call_end - dt_agent_connect) FROM contact_history "
            "WHERE id = $1",
            attempt,
        )
        assert f"(paused:{AFTER_CALL_REASON}" in members(h.lab)
        await shot(page, "workspace-after-call")
        await page.get_by_role("button", name="Done").click()
        await expect(page.locator("#ws-state")).to_have_text("Ready")
        assert "paused" not in members(h.lab)

        await page.get_by_label("Pause for").select_option("training")
        await page.get_by_role("button", name="Pause", exact=True).click()
        await expect(page.locator("#ws-state")).to_have_text("Paused: training")
        assert "(paused:training" in members(h.lab)

        async def wallboard_shows_the_pause() -> bool:
            [c] = (await board.snapshot(1, campaign))["campaigns"]
            return [(a["agent"], a["state"], a["pause_reason"]) for a in c["agents"]] == [
                ("PJSIP/agent1", "paused", "training")
            ]

        await wait_until(wallboard_shows_the_pause, 2)
        await shot(page, "workspace-paused")
        paused_at = time.monotonic()
        waiting = await h.contact(campaign, number(0))
        await asyncio.sleep(4)  # the pacer places nothing for a paused agent
        assert await h.history(waiting) == []
        assert not [
            e
            for e in ami.events
            if e.t > paused_at and e.name == "AgentCalled" and e.get("queue") == QUEUE
        ]
        await page.get_by_role("button", name="Sign out of my queues").click()
        await expect(page.locator("#ws-state")).to_have_text("Signed out")
        assert "agent1" not in members(h.lab)
        await page.goto("about:blank")  # the event stream ends before the server
        seen["done"] = True

    async def done() -> bool:
        return "done" in seen

    try:
        await h.run_until(done, 90, during=during)
    finally:
        if "agent1" in members(h.lab):
            h.lab.cli(f"queue remove member PJSIP/agent1 from {QUEUE}")
    assert seen["latency"] < 1.0, seen
    assert seen["talked"] < h.lab.talk_time, seen
    states = [(p.state, p.reason) for p in reversed(await agents.history(h.pool, ada, 1, 10))]
    assert states == [
        (AgentStatus.READY, ""),
        (AgentStatus.AFTER_CALL, AFTER_CALL_REASON),
        (AgentStatus.READY, ""),
        (AgentStatus.PAUSED, "training"),
        (AgentStatus.OUT, ""),
    ]


async def test_two_agents_at_once_each_see_only_their_own_calls(
    h: Harness, ami: Ami, browser: Browser, server: Server
) -> None:
    campaign = await h.campaign(Queue=QUEUE, DialMode="progressive", WrapUpLimitSeconds=1)
    phones = {"ada": "PJSIP/agent1", "bob": "PJSIP/agent2"}
    ids = {login: await agent(server, login, phone, campaign) for login, phone in phones.items()}
    contexts = [await browser.new_context(viewport=VIEWPORT) for _ in phones]  # type: ignore[arg-type]
    pages = {login: await c.new_page() for login, c in zip(phones, contexts, strict=True)}
    await admin_store.add_calling_system(h.pool, "crm1")
    await admin_store.set_crm_url_template(h.pool, "crm1", "https://crm.example/c?id={contactId}")
    crm_opened: list[Page] = []  # the pages the workspaces opened
    for c in contexts:
        await c.route("https://crm.example/**", lambda route: route.fulfill(body="the CRM"))
        c.on("page", lambda opened: crm_opened.append(opened))
    seen: dict[str, Any] = {}

    async def during() -> None:
        for login, p in pages.items():
            await sign_in(p, server, login)
            await signed_in(p, h.lab, phones[login])
            await p.evaluate(OBSERVE)
        await pages["ada"].get_by_label("Open the CRM on each call").check()  # Ada's only
        added = time.monotonic()
        contacts = {await h.contact(campaign, number(0)) for _ in phones}
        await h.pool.execute("UPDATE contacts SET system_code = 'crm1'")  # long before a bridge
        bridged: dict[str, int] = {}
        for phone in phones.values():
            connect = await ami.wait_for(connected_to(phone, added), 30)
            bridged[phone] = min(int(a) for a in attempt_ids(connect))
        for login, p in pages.items():
            mine = bridged[phones[login]]
            await expect(p.locator("#ws-contact")).to_have_attribute("data-attempt", str(mine))

        async def crm_open() -> bool:
            return bool(crm_opened)

        await wait_until(crm_open, 5)
        for opened in crm_opened:
            await opened.wait_for_load_state()
        seen["crm"] = [opened.url for opened in crm_opened]

        # Both calls end and the 1 s wrap-up limit makes both ready again by themselves.
        async def ready_after_their_calls() -> bool:
            for user_id in ids.values():
                states = [p.state for p in await agents.history(h.pool, user_id, 1, 10)]
                if states[:2] != [AgentStatus.READY, AgentStatus.AFTER_CALL]:
                    return False
            return True

        await wait_until(ready_after_their_calls, 20)
        for p in pages.values():
            await expect(p.locator("#ws-state")).to_have_text("Ready")
        seen["popped"] = {
            login: await p.evaluate("() => window.popped") for login, p in pages.items()
        }
        seen["bridged"] = bridged
        seen["contacts"] = contacts
        for p in pages.values():
            await p.get_by_role("button", name="Sign out of my queues").click()
            await expect(p.locator("#ws-state")).to_have_text("Signed out")

    async def done() -> bool:
        return "popped" in seen

    try:
        await h.run_until(done, 90, during=during)
    finally:
        for c in contexts:
            await c.close()
        for phone in phones.values():
            if phone in members(h.lab):
                h.lab.cli(f"queue remove member {phone} from {QUEUE}")
    bridged = seen["bridged"]
    assert {await contact_of(h.pool, a) for a in bridged.values()} == seen["contacts"]
    for login, popped in seen["popped"].items():
        assert set(popped) == {str(bridged[phones[login]])}, (login, seen)
    adas = await contact_of(h.pool, bridged[phones["ada"]])
    assert seen["crm"] == [f"https://crm.example/c?id={adas}"]  # opened for Ada's call only
    for login, user_id in ids.items():
        states = [p.state for p in reversed(await agents.history(h.pool, user_id, 1, 10))]
        assert states == [
            AgentStatus.READY,
            AgentStatus.AFTER_CALL,
            AgentStatus.READY,
            AgentStatus.OUT,
        ], login
