"""The call task search on a real Postgres: every condition, keyset paging forward and back
without gaps or repeats under ties, actions on everything a search matches (count ==
affected, all or nothing), and one client never reaching another's contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dialerd.contacts import service
from dialerd.contacts.search import PAGE_SIZE, Search, encode_cursor, parse_search
from dialerd.dialer.rules import decider
from dialerd.domain import ClosedAttempt, Connres, ContactAction, ContactFilter, SearchState
from dialerd.store.contacts import ContactConflict
from dialerd.store.dialer import PostgresDialerStore
from tests.integration.test_attempts import outcome, start_one
from tests.integration.test_scheduler import add_campaign, add_contact

NOW = datetime.now(UTC)
CLIENT = 1


async def search(pool: asyncpg.Pool, campaign: int, **form: str) -> list[int]:
    """The ids on the first page."""
    s = parse_search(form, campaign, "NO", ZoneInfo("UTC"))
    return [r["id"] for r in (await service.search(pool, CLIENT, s)).items]


async def all_pages(pool: asyncpg.Pool, campaign: int, sort: str) -> tuple[list[int], Search]:
    """Every page forward; the ids in order, and the search of the last page."""
    s = parse_search({"sort": sort}, campaign, "NO", ZoneInfo("UTC"))
    seen: list[int] = []
    while True:
        page = await service.search(pool, CLIENT, s)
        seen += [r["id"] for r in page.items]
        if page.next is None:
            return seen, s
        form = {"sort": sort, "cursor": encode_cursor(page.next)}
        s = parse_search(form, campaign, "NO", ZoneInfo("UTC"))


async def test_each_condition_finds_exactly_its_contacts(pool: asyncpg.Pool) -> None:
    k = await add_campaign(pool, default_region="NO")
    other = await add_campaign(pool, "c2", default_region="NO")

    async def add(**columns: Any) -> int:
        numbers = columns.pop("numbers", ["+4722000000"])
        return await add_contact(pool, k, numbers, **columns)

    ola = await add(name="Ola Nordmann", numbers=[None, "+4791234567"], user_data="U1")
    olav = await add(name="olav 50%", ext_cust_id="E1", system_code="CRM", user_data="X")
    kari = await add(name="Kari", locked=True, dt_next_try=NOW - timedelta(hours=1))
    done = await add(name="Done", state="done", last_connres=1)
    busy = await add(name="Busy", state="finished", last_connres=3)
    later = await add(name="Later", dt_next_try=NOW + timedelta(days=2), last_connres=3)
    used_up = await add(name="Used up", attempts=3)
    dead = await add(name="Dead", number_invalid=[True])
    calling = await add(name="Calling", open_attempt_id=1)
    await add_contact(pool, other, ["+4791234567"], name="Ola elsewhere")

    assert await search(pool, k, name="ola") == [ola, olav]
    assert await search(pool, k, name="OLAV 50") == [olav]
    assert await search(pool, k, name="ola%") == []  # % is a character, not a wildcard
    assert await search(pool, k, number="912 34 567") == [ola]
    assert await search(pool, k, number="+4799999999") == []
    assert await search(pool, k, customer="U1") == [ola]
    assert await search(pool, k, customer="E1") == [olav]  # extCustId
    assert await search(pool, k, state="locked") == [kari]
    assert await search(pool, k, state="done") == [done]
    assert await search(pool, k, state="finished") == [busy]
    opened = [ola, olav, later, used_up, dead, calling]
    assert await search(pool, k, state="open") == opened
    assert await search(pool, k, state="due") == [ola, olav]
    assert await search(pool, k, outcome="3") == [busy, later]
    assert await search(pool, k, outcome="3", state="open") == [later]
    tomorrow = (NOW + timedelta(days=1)).isoformat()
    assert await search(pool, k, next_from=tomorrow) == [later]
    # No next try is due since ever: before any time.
    before = await search(pool, k, next_to=tomorrow)
    assert before == [ola, olav, kari, done, busy, used_up, dead, calling]


async def test_a_number_is_found_in_each_of_the_six_slots(pool: asyncpg.Pool) -> None:
    k = await add_campaign(pool, default_region="NO")
    slots = [[f"+479100000{i}" if j == i else None for j in range(6)] for i in range(6)]
    ids = [await add_contact(pool, k, numbers) for numbers in slots]
    both = await add_contact(pool, k, ["+4791000000", None, "+4791000005"])

    for i, contact in enumerate(ids):
        found = await search(pool, k, number=f"9100000{i}")  # local format, as typed
        assert found == ([contact, both] if i in (0, 5) else [contact])


async def test_paging_forward_and_back_has_no_gaps_or_repeats_under_ties(
    pool: asyncpg.Pool,
) -> None:
    k = await add_campaign(pool)
    n = 2 * PAGE_SIZE + 17
    ids = []
    for i in range(n):
        # Three names and two next tries, each shared by many: only the id breaks ties.
        name = ["Berg", "aas", "Dahl"][i % 3]
        due = None if i % 4 == 0 else NOW + timedelta(hours=i % 2)
        ids.append(await add_contact(pool, k, name=name, dt_next_try=due))
    rows = {r["id"]: r for r in await pool.fetch("SELECT * FROM contacts WHERE campaign_id=$1", k)}

    def by_next_try(i: int) -> tuple[datetime, int]:
        due = rows[i]["dt_next_try"]
        return (datetime.min.replace(tzinfo=UTC) if due is None else due, i)

    orders = {
        "id": sorted(ids),
        "name": sorted(ids, key=lambda i: (rows[i]["name"].lower(), i)),
        "next_try": sorted(ids, key=by_next_try),
    }
    for sort, expected in orders.items():
        for descending in (False, True):
            text = ("-" if descending else "") + sort
            want = expected[::-1] if descending else expected
            forward, last = await all_pages(pool, k, text)
            assert forward == want, text
            # And back from the last page to the first.
            back: list[int] = []
            s = last
            while True:
                page = await service.search(pool, CLIENT, s)
                back = [r["id"] for r in page.items] + back
                if page.previous is None:
                    break
                form = {"sort": text, "cursor": encode_cursor(page.previous)}
                s = parse_search(form, k, "NO", ZoneInfo("UTC"))
            assert back == want, text


async def test_an_action_on_a_search_acts_on_what_its_count_said(pool: asyncpg.Pool) -> None:
    k = await add_campaign(pool)
    busy = [await add_contact(pool, k, last_connres=3, attempts=2, state="finished")]
    busy.append(await add_contact(pool, k, last_connres=3, attempts=1, open_attempt_id=9))
    await add_contact(pool, k, last_connres=2, attempts=1)
    f = ContactFilter(k, connres=Connres.BUSY)

    matches = await service.count_matching(pool, CLIENT, f)
    assert (matches.total, matches.calling) == (2, 1)
    assert await service.act_on_matching(pool, CLIENT, f, ContactAction.RESET) == 2
    after = await pool.fetch("SELECT * FROM contacts WHERE campaign_id=$1 ORDER BY id", k)
    # The same reset as one contact's: open, no tries, no outcome; the other left alone.
    assert [(r["state"], r["attempts"], r["last_connres"]) for r in after] == [
        ("open", 0, None),
        ("open", 0, None),
        ("open", 1, 2),
    ]
    assert (await service.count_matching(pool, CLIENT, f)).total == 0

    everyone = ContactFilter(k)
    assert await service.act_on_matching(pool, CLIENT, everyone, ContactAction.LOCK) == 3
    locked = ContactFilter(k, state=SearchState.LOCKED)
    assert (await service.count_matching(pool, CLIENT, locked)).total == 3
    assert await service.act_on_matching(pool, CLIENT, locked, ContactAction.UNLOCK) == 3
    assert await service.act_on_matching(pool, CLIENT, f, ContactAction.DELETE) == 0
    quiet_only = ContactFilter(k, connres=Connres.NO_ANSWER)
    assert await service.act_on_matching(pool, CLIENT, quiet_only, ContactAction.DELETE) == 1
    left = await pool.fetch("SELECT id FROM contacts WHERE campaign_id=$1 ORDER BY id", k)
    assert [r["id"] for r in left] == busy


async def test_a_reset_that_would_reopen_a_duplicate_writes_nothing(pool: asyncpg.Pool) -> None:
    k = await add_campaign(pool)
    key: dict[str, Any] = {"system_code": "CRM", "ext_cust_id": "E1"}
    await add_contact(pool, k, state="open", **key)
    await add_contact(pool, k, state="done", last_connres=1, **key)
    finished = await add_contact(pool, k, state="finished", last_connres=1, attempts=3)
    with pytest.raises(ContactConflict):
        await service.act_on_matching(
            pool, CLIENT, ContactFilter(k, connres=Connres.CONNECTED), ContactAction.RESET
        )
    # The contact that could have been reset was not: all or nothing.
    assert await pool.fetchval("SELECT state FROM contacts WHERE id=$1", finished) == "finished"


async def test_another_clients_campaign_has_no_contacts_for_them(pool: asyncpg.Pool) -> None:
    theirs = await add_campaign(pool, "theirs", client_id=2)
    contact = await add_contact(pool, theirs, ["+4791234567"], name="Theirs")
    f = ContactFilter(theirs)
    assert await service.campaign(pool, CLIENT, theirs) is None
    assert await search(pool, theirs) == []
    assert await search(pool, theirs, number="+4791234567") == []
    assert (await service.count_matching(pool, CLIENT, f)).total == 0
    for action in ContactAction:
        assert await service.act_on_matching(pool, CLIENT, f, action) == 0
        assert await service.act_on_contact(pool, CLIENT, contact, action) is None
    assert await service.contact_view(pool, CLIENT, contact) is None
    row = await pool.fetchrow("SELECT * FROM contacts WHERE id=$1", contact)
    assert row is not None and not row["locked"]
    # Their own client sees it.
    assert await service.contact_view(pool, 2, contact) is not None
    assert (await service.count_matching(pool, 2, f)).total == 1


async def test_a_contacts_page_has_its_numbers_and_every_attempt(pool: asyncpg.Pool) -> None:
    k = await add_campaign(pool)
    contact = await add_contact(
        pool, k, ["+4791234567", None, "+4722000000"], number_invalid=[False, False, True]
    )
    for connres, cause in ((3, 17), (2, 19)):
        await pool.execute(
            """INSERT INTO contact_history (contact_id, campaign_id, phone_number,
                   phone_number_offset, status, connres, cause_code, agent, dt_call_end)
               VALUES ($1, $2, '+4791234567', 1, 'closed', $3, $4, 'PJSIP/agent1', now())""",
            contact,
            k,
            connres,
            cause,
        )
    view = await service.contact_view(pool, CLIENT, contact)
    assert view is not None and view.campaign.id == k
    assert [s.number for s in view.slots] == ["+4791234567", None, "+4722000000"]
    assert [s.invalid for s in view.slots] == [False, False, True]
    assert [(a["connres"], a["cause_code"]) for a in view.attempts] == [(3, 17), (2, 19)]


async def test_a_reset_during_a_call_counts_the_call_as_the_first_try_after_it(
    pool: asyncpg.Pool,
) -> None:
    k = await add_campaign(pool)
    contact = await add_contact(pool, k, attempts=2, state="open", last_connres=2)
    store = PostgresDialerStore(pool, "me", 60)
    attempt = await start_one(pool, store, contact)
    everyone = ContactFilter(k)
    assert (await service.count_matching(pool, CLIENT, everyone)).calling == 1
    assert await service.act_on_matching(pool, CLIENT, everyone, ContactAction.RESET) == 1
    busy = outcome(Connres.BUSY, 17)
    await store.close_attempts([ClosedAttempt(attempt, contact, 0, busy, None)], decider(NOW))
    c = await pool.fetchrow("SELECT * FROM contacts WHERE id=$1", contact)
    assert c is not None
    assert (c["attempts"], c["number_tries"], c["last_connres"]) == (1, [1], 3)
    assert c["open_attempt_id"] is None and c["state"] == "open"
