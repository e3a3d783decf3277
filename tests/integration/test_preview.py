"""Preview offers on a real Postgres: the claim for one agent (its own callback first, in any
campaign it works and without the grace; else a preview campaign's callbacks for anyone, then
its other contacts in order; never another agent's callback before the grace, never a contact
of a paced campaign); one offer per agent; offers that no longer hold are withdrawn; Skip
gives the contact back due after its retry interval (one's own callback to anyone, a manual
call's contact deleted); a manual call is a contact of the campaign offered in place of the
held offer; the close of a called offer's attempt removes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dialerd.dialer.rules import decider
from dialerd.domain import (
    AgentClaim,
    AgentStatus,
    ClosedAttempt,
    Connres,
    ReadyAgent,
    Role,
    User,
)
from dialerd.store import agents
from dialerd.store import preview as preview_store
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.preview import OfferError, PostgresPreviewStore
from tests.conftest import Console
from tests.integration.test_attempts import outcome, start_one
from tests.integration.test_scheduler import add_campaign, add_contact
from tests.integration.test_workspace import add_agent

ADA, BOB = "PJSIP/agent1", "PJSIP/agent2"


@pytest.fixture
def store(pool: asyncpg.Pool) -> PostgresPreviewStore:
    return PostgresPreviewStore(pool, "e1", 60)


async def ready(pool: asyncpg.Pool, user: User) -> ReadyAgent:
    await agents.move(pool, user.id, 1, agents.NewState(AgentStatus.READY), lambda _: True)
    mine = [c.id for c in await agents.campaigns_of_agent(pool, user.id)]
    found = await PostgresPreviewStore(pool, "x", 1).ready_agents(mine)
    [it] = [a for a in found if a.user_id == user.id]
    assert it.campaign_ids == tuple(sorted(mine))
    return it


async def callback(pool: asyncpg.Pool, contact: int, user: User | None, ago_s: float) -> None:
    at = datetime.now(UTC) - timedelta(seconds=ago_s)
    await pool.execute(
        "UPDATE contacts SET callback_at = $2, callback_user_id = $3, dt_next_try = $2 "
        "WHERE id = $1",
        contact,
        at,
        user.id if user else None,
    )


async def claimed_ids(
    store: PostgresPreviewStore, user: User, own: list[int], pv: list[int]
) -> list[int]:
    found = []
    while (claim := await store.claim_for_agent(user.id, own, pv)) is not None:
        found.append(claim.contact.id)
    return found


async def test_the_claim_for_an_agent_takes_its_callback_then_the_preview_campaigns_contacts(
    pool: asyncpg.Pool, store: PostgresPreviewStore
) -> None:
    preview = await add_campaign(pool, "p", dial_mode="preview", callback_grace_s=300)
    paced = await add_campaign(pool, "q", dial_mode="predictive")
    ada = await add_agent(pool, "ada", ADA, [preview, paced])
    bob = await add_agent(pool, "bob", BOB, [preview, paced])
    first = await add_contact(pool, preview)
    second = await add_contact(pool, preview)
    for_anyone = await add_contact(pool, preview)
    await callback(pool, for_anyone, None, 10)
    bobs_fresh = await add_contact(pool, preview)
    await callback(pool, bobs_fresh, bob, 10)  # bob's, within the grace
    adas_paced = await add_contact(pool, paced)
    await callback(pool, adas_paced, ada, 1)  # ada's, in a paced campaign, its time just come
    await add_contact(pool, paced)  # a paced campaign's contact: never offered
    later = await add_contact(pool, preview)
    await callback(pool, later, ada, -600)  # ada's, not yet due

    await ready(pool, ada)
    await ready(pool, bob)
    due = {a.user_id: a.callback_due for a in await store.ready_agents([preview, paced])}
    assert due == {ada.id: True, bob.id: True}
    got = await claimed_ids(store, ada, [preview, paced], [preview])
    assert got == [adas_paced, for_anyone, first, second]
    claimed = await pool.fetch(
        "SELECT id FROM contacts WHERE claimed_by = 'e1' AND lease_until > now() ORDER BY id"
    )
    assert [r["id"] for r in claimed] == sorted(got)
    # Bob's own callback is his, without the grace.
    assert await claimed_ids(store, bob, [preview, paced], [preview]) == [bobs_fresh]
    await pool.execute("UPDATE contacts SET claimed_by = NULL, lease_until = NULL")
    due = {a.user_id: a.callback_due for a in await store.ready_agents([preview, paced])}
    assert due == {ada.id: True, bob.id: True}  # both claimed contacts are due again
    due = {a.user_id: a.callback_due for a in await store.ready_agents([preview])}
    assert due == {ada.id: False, bob.id: True}  # Ada's is in the paced campaign


async def test_one_offer_per_agent_and_the_offers_that_no_longer_hold_are_withdrawn(
    pool: asyncpg.Pool, store: PostgresPreviewStore
) -> None:
    campaign = await add_campaign(pool, "p", dial_mode="preview")
    ada = await add_agent(pool, "ada", ADA, [campaign])
    bob = await add_agent(pool, "bob", BOB, [campaign])
    c1, c2 = await add_contact(pool, campaign), await add_contact(pool, campaign)
    a, b = await ready(pool, ada), await ready(pool, bob)
    claim1 = await store.claim_for_agent(ada.id, [campaign], [campaign])
    claim2 = await store.claim_for_agent(bob.id, [campaign], [campaign])
    assert claim1 is not None and claim2 is not None
    assert await store.offer(a, claim1, 0, "+4930100000")
    assert not await store.offer(a, claim2, 0, "+4930100000")  # ada holds one already
    assert await store.offer(b, claim2, 0, "+4930100000")
    assert [x.has_offer for x in await store.ready_agents([campaign])] == [True, True]
    offer = await store.offer_of(ADA)
    assert offer is not None
    assert (offer.contact_id, offer.instance_id, offer.callback, offer.manual) == (
        c1,
        "e1",
        False,
        False,
    )

    # Ada pauses: her offer is withdrawn and its contact given back, due as it was.
    await agents.move(pool, ada.id, 1, agents.NewState(AgentStatus.PAUSED, "x"), lambda _: True)
    # Bob's engine crashed: the lease of his contact ran out.
    await pool.execute("UPDATE contacts SET lease_until = now() - interval '1 s' WHERE id = $1", c2)
    await store.withdraw_offers()
    assert await store.offer_of(ADA) is None and await store.offer_of(BOB) is None
    row = await pool.fetchrow("SELECT claimed_by, dt_next_try FROM contacts WHERE id = $1", c1)
    assert row is not None and (row["claimed_by"], row["dt_next_try"]) == (None, None)


async def test_a_renewal_keeps_the_leases_of_the_engines_calls_and_offers_only(
    pool: asyncpg.Pool, store: PostgresPreviewStore
) -> None:
    """renew_leases finds an engine's contacts by their calls in progress and its offers
    (migration 0024: no index on claimed_by): another engine's are left, and so is a claim
    that became neither (its lease runs out and the contact is due again)."""
    campaign = await add_campaign(pool, "p", dial_mode="preview")
    ada = await add_agent(pool, "ada", ADA, [campaign])
    offered = await add_contact(pool, campaign)
    claim = await store.claim_for_agent(ada.id, [campaign], [campaign])
    assert claim is not None and claim.contact.id == offered
    assert await store.offer(await ready(pool, ada), claim, 0, "+4930100000")
    called, theirs, left = [await add_contact(pool, campaign) for _ in range(3)]
    mine, other = PostgresDialerStore(pool, "e1", 60), PostgresDialerStore(pool, "e2", 60)
    await start_one(pool, mine, called)
    await start_one(pool, other, theirs)
    await pool.execute(
        "UPDATE contacts SET claimed_by = 'e1', lease_until = now() WHERE id = $1", left
    )
    await pool.execute("UPDATE contacts SET lease_until = now() - interval '1 s'")

    await mine.renew_leases()
    live = await pool.fetch("SELECT id FROM contacts WHERE lease_until > now() ORDER BY id")
    assert [r["id"] for r in live] == [offered, called]
    await other.renew_leases()
    live = await pool.fetch("SELECT id FROM contacts WHERE lease_until > now() ORDER BY id")
    assert [r["id"] for r in live] == [offered, called, theirs]


async def test_skip_gives_the_contact_back_after_its_retry_interval_and_a_callback_to_anyone(
    pool: asyncpg.Pool, store: PostgresPreviewStore
) -> None:
    campaign = await add_campaign(pool, "p", dial_mode="preview")
    ada = await add_agent(pool, "ada", ADA, [campaign])
    plain = await add_contact(pool, campaign, min_call_interval_h=2)
    a = await ready(pool, ada)

    async def offered() -> AgentClaim:
        claim = await store.claim_for_agent(ada.id, [campaign], [campaign])
        assert claim is not None and await store.offer(a, claim, 0, "+4930100000")
        return claim

    assert (await offered()).contact.id == plain
    with pytest.raises(OfferError, match="not offered to you"):
        await preview_store.skip(pool, ada.id, plain + 100)
    await preview_store.skip(pool, ada.id, plain)
    row = await pool.fetchrow(
        "SELECT claimed_by, dt_next_try - now() AS due_in FROM contacts WHERE id = $1", plain
    )
    assert row is not None and row["claimed_by"] is None
    assert timedelta(hours=1, minutes=59) < row["due_in"] <= timedelta(hours=2)
    assert await store.offer_of(ADA) is None

    own = await add_contact(pool, campaign)
    await callback(pool, own, ada, 5)
    claim = await offered()
    assert (claim.contact.id, claim.callback) == (own, True)
    offer = await preview_store.skip(pool, ada.id, own)
    assert offer.callback
    row = await pool.fetchrow(
        "SELECT claimed_by, callback_user_id, callback_at IS NOT NULL AS promised, "
        "dt_next_try <= now() AS due FROM contacts WHERE id = $1",
        own,
    )
    assert row is not None and dict(row) == {
        "claimed_by": None,
        "callback_user_id": None,  # anyone's now, due as it was
        "promised": True,
        "due": True,
    }


async def test_a_manual_call_is_a_contact_of_the_campaign_offered_in_place_of_the_held_one(
    pool: asyncpg.Pool, store: PostgresPreviewStore
) -> None:
    campaign = await add_campaign(pool, "p", dial_mode="preview", min_call_interval_h=3)
    ada = await add_agent(pool, "ada", ADA, [campaign])
    held = await add_contact(pool, campaign)
    a = await ready(pool, ada)
    claim = await store.claim_for_agent(ada.id, [campaign], [campaign])
    assert claim is not None and await store.offer(a, claim, 0, "+4930100000")

    manual = await preview_store.manual_offer(
        pool, ada.id, 1, campaign, "Manual call (Ada)", "+4930999999", "e1", 60
    )
    row = await pool.fetchrow("SELECT claimed_by FROM contacts WHERE id = $1", held)
    assert row is not None and row["claimed_by"] is None  # given back, due as it was
    offer = await store.offer_of(ADA)
    assert offer is not None
    assert (offer.contact_id, offer.number, offer.slot, offer.manual) == (
        manual,
        "+4930999999",
        0,
        True,
    )
    contact = await pool.fetchrow(
        "SELECT campaign_id, name, phone_numbers, max_attempts, claimed_by, "
        "dt_next_try = 'infinity' AS never_due_by_itself FROM contacts WHERE id = $1",
        manual,
    )
    assert contact is not None and dict(contact) == {
        "campaign_id": campaign,
        "name": "Manual call (Ada)",
        "phone_numbers": ["+4930999999"],
        "max_attempts": 1,
        "claimed_by": "e1",
        "never_due_by_itself": True,
    }

    # Skipped, a manual call's contact (never called) is deleted.
    await preview_store.skip(pool, ada.id, manual)
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE id = $1", manual) == 0


async def test_a_manual_call_whose_originate_never_went_out_is_not_dialled_later(
    pool: asyncpg.Pool,
) -> None:
    campaign = await add_campaign(pool, "p", dial_mode="predictive")
    ada = await add_agent(pool, "ada", ADA, [campaign])
    await ready(pool, ada)
    manual = await preview_store.manual_offer(
        pool, ada.id, 1, campaign, "Manual call (Ada)", "+4930999999", "e1", 60
    )
    dialer = PostgresDialerStore(pool, "e1", 60)
    [started] = await dialer.start_attempts([(manual, "+4930999999", 0)], "4700000000", "pbx1")
    unsent = outcome(Connres.NOT_DIALLED, None, dt_alert=None, detail="NOT SENT")
    await dialer.close_attempts(
        [ClosedAttempt(started.id, manual, 0, unsent, None)], decider(datetime.now(UTC))
    )
    state = await pool.fetchval("SELECT state FROM contacts WHERE id = $1", manual)
    assert state == "finished"
    assert await PostgresDialerStore(pool, "e2", 60).claim(campaign, 10) == []


async def test_a_called_offer_goes_when_its_attempt_closes_and_cannot_be_skipped_before(
    pool: asyncpg.Pool, store: PostgresPreviewStore
) -> None:
    campaign = await add_campaign(pool, "p", dial_mode="preview")
    ada = await add_agent(pool, "ada", ADA, [campaign])
    contact = await add_contact(pool, campaign)
    a = await ready(pool, ada)
    claim = await store.claim_for_agent(ada.id, [campaign], [campaign])
    assert claim is not None and await store.offer(a, claim, 0, "+4930100000")
    dialer = PostgresDialerStore(pool, "e1", 60)
    attempt = await start_one(pool, dialer, contact)
    await store.calling(ada.id, attempt)
    with pytest.raises(OfferError, match="being called"):
        await preview_store.skip(pool, ada.id, contact)
    with pytest.raises(OfferError, match="on a call"):
        await preview_store.manual_offer(pool, ada.id, 1, campaign, "m", "+4930999999", "e1", 60)
    offer = await store.offer_of(ADA)
    assert offer is not None and offer.attempt_id == attempt
    await store.withdraw_offers()  # a called offer is not withdrawn (its claim is the call's)
    assert await store.offer_of(ADA) is not None
    closed = ClosedAttempt(attempt, contact, 0, outcome(Connres.NO_ANSWER, 19), None)
    await dialer.close_attempts([closed], decider(datetime.now(UTC)))
    assert await store.offer_of(ADA) is None


async def hx(console: Console, path: str, data: dict[str, str]) -> str:
    """The result line htmx gets for a workspace button."""
    resp = await console.client.post(
        path, data=data | {"csrf_token": console.csrf}, headers={"HX-Request": "true"}
    )
    assert resp.status == 200
    return await resp.text()


async def test_the_workspace_shows_the_offer_and_refuses_what_cannot_be_done(
    console: Console,
) -> None:
    pool = console.pool
    campaign = await add_campaign(pool, "p", dial_mode="preview", queue="q1", default_region="DE")
    other = await add_campaign(pool, "o", queue="q2")
    ada = await add_agent(pool, "ada", ADA, [campaign])
    contact = await add_contact(pool, campaign, name="Kari Nordmann", min_call_interval_h=1)
    assert await console.sign_in("ada") == 303
    manual = {"campaign": str(campaign), "number": "030 1234567"}
    assert "only while ready" in await hx(console, "/console/agent/manual", manual)

    store = PostgresPreviewStore(pool, "e1", 60)
    claim = await store.claim_for_agent(ada.id, [campaign], [campaign])
    assert claim is not None and await store.offer(await ready(pool, ada), claim, 0, "+49301")
    _, _, page = await console.get("/console/agent/")
    assert f'id="ws-offer" data-contact="{contact}"' in page and "Kari Nordmann" in page
    assert "Call +49301" in page

    bad = {"campaign": str(campaign), "number": "030 12 ext. 3"}
    assert "is not a phone number this dialer can call" in await hx(
        console, "/console/agent/manual", bad
    )
    theirs = {"campaign": str(other), "number": "030 1234567"}
    assert "not one of your campaigns" in await hx(console, "/console/agent/manual", theirs)
    # A valid number, but no running engine to call it: nothing is written.
    assert "No running dialer" in await hx(console, "/console/agent/manual", manual)
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    # Call goes to the engine holding the claim, which does not run here.
    assert "Not called: the dialer e1 did not carry it out in time" in await hx(
        console, "/console/agent/call", {}
    )

    skip = {"contact": str(contact), "reason": ""}
    assert "Say why you skip it" in await hx(console, "/console/agent/skip", skip)
    wrong = {"contact": str(contact + 1), "reason": "not now"}
    assert "not offered to you" in await hx(console, "/console/agent/skip", wrong)
    assert "Skipped" in await hx(console, "/console/agent/skip", skip | {"reason": "not now"})
    assert await store.offer_of(ADA) is None
    assert "Nothing is offered to you" in await hx(console, "/console/agent/call", {})
    row = await pool.fetchrow(
        "SELECT target, detail FROM audit_log WHERE action = 'workspace.skip' AND "
        "detail->>'error' IS NULL"
    )
    assert row is not None and row["target"] == f"contact {contact}"
    assert (row["detail"]["reason"], row["detail"]["agent"]) == ("not now", ADA)


async def test_the_workspaces_own_pause_reasons_are_no_clients(console: Console) -> None:
    await console.add_user("sam", Role.ADMIN)
    assert await console.sign_in("sam") == 303
    for reason, why in (("Preview", "while a contact is offered"), ("after-call work", "after")):
        status, _, body = await console.post("/console/admin/setup/reasons", {"reason": reason})
        assert status == 400 and f"is the workspace&#39;s own, {why}" in body, body
    assert await agents.pause_reasons(console.pool, 1) == []
