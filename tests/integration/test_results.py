"""Results and callbacks on a real Postgres: record_result writes the history row and moves the
contact in one transaction, and refuses what it must; callbacks come first in the claim and the
hopper, an agent's own callback waits for the campaign's grace and goes to anyone only while
its agent is signed out (the claim, the hopper and the search's "due" agreeing); its attempt
spends it; a reset deletes the contact's result and callback, not history's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dialerd.contacts.search import parse_search
from dialerd.contacts.service import search
from dialerd.dialer.rules import decider
from dialerd.domain import (
    AgentStatus,
    ClosedAttempt,
    Connres,
    ContactAction,
    ResultChoice,
    ResultCodeType,
    Role,
)
from dialerd.results.service import (
    ResultConflict,
    ResultNotFound,
    ResultRejected,
    next_callback_for_agent,
    record_result,
)
from dialerd.store import agents, contacts
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.live import dialable_left, next_due_contacts
from dialerd.users.service import add_user
from tests.conftest import PASSWORD, Api
from tests.integration.test_attempts import outcome, start_one
from tests.integration.test_scheduler import add_campaign, add_contact, fetchrow

AGENT = 41  # users.id of the agent recording


async def add_code(
    pool: asyncpg.Pool, campaign_id: int, kind: ResultCodeType, **columns: Any
) -> int:
    values = {"name": kind.name.lower(), "retry_minutes": None, **columns}
    if kind is ResultCodeType.RETRY and values["retry_minutes"] is None:
        values["retry_minutes"] = 30
    return int(
        await pool.fetchval(
            "INSERT INTO campaign_result_codes"
            " (campaign_id, name, type_id, retry_minutes, active, position)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            campaign_id,
            values["name"],
            int(kind),
            values["retry_minutes"],
            values.get("active", True),
            values.get("position", 0),
        )
    )


async def called(
    pool: asyncpg.Pool, contact: int, connres: Connres = Connres.CONNECTED, slot: int = 0
) -> int:
    """An attempt on ``contact`` placed and closed by the engine's store, as a call would."""
    store = PostgresDialerStore(pool, "me", 60)
    attempt = await start_one(pool, store, contact, slot)
    connect = datetime.now(UTC) if connres is Connres.CONNECTED else None
    done = ClosedAttempt(attempt, contact, slot, outcome(connres, 16, dt_connect=connect), None)
    await store.close_attempts([done], decider(datetime.now(UTC)))
    return attempt


async def contact_row(pool: asyncpg.Pool, contact: int) -> asyncpg.Record:
    return await fetchrow(pool, "SELECT * FROM contacts WHERE id = $1", contact)


async def test_a_result_writes_history_and_the_contact_in_one_go(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid, ["+4930100000", "+4930100001"])
    wrong = await add_code(pool, cid, ResultCodeType.WRONG_NUMBER)
    attempt = await called(pool, contact)
    assert (await contact_row(pool, contact))["state"] == "done"

    done = await record_result(pool, 1, attempt, wrong, AGENT)
    assert done.contact_id == contact
    h = await fetchrow(pool, "SELECT * FROM contact_history WHERE id = $1", attempt)
    assert (h["result_code_id"], h["result_code_type_id"], h["users_id"]) == (wrong, 5, AGENT)
    c = await contact_row(pool, contact)
    assert (c["state"], c["next_number"], c["number_invalid"]) == ("open", 1, [True, False])
    assert c["result_code_id"] == wrong
    assert c["dt_next_try"] <= await pool.fetchval("SELECT now()")


async def test_what_record_result_refuses_it_does_not_write(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    other = await add_campaign(pool, "c2")
    contact = await add_contact(pool, cid)
    done_code = await add_code(pool, cid, ResultCodeType.SUCCESS)
    callback = await add_code(pool, cid, ResultCodeType.CALLBACK)
    wrong = await add_code(pool, cid, ResultCodeType.WRONG_NUMBER)
    retired = await add_code(pool, cid, ResultCodeType.REFUSED, active=False)
    foreign = await add_code(pool, other, ResultCodeType.SUCCESS)
    attempt = await called(pool, contact)
    past = datetime.now(UTC) - timedelta(minutes=1)
    refusals: list[tuple[Any, type[Exception], str]] = [
        ((attempt, foreign), ResultRejected, "is not one of campaign"),
        ((attempt, retired), ResultRejected, "is not active"),
        ((attempt, 999_999), ResultNotFound, "no result code"),
        ((999_999, done_code), ResultNotFound, "no attempt"),
        ((attempt, callback), ResultRejected, "needs the time"),
        ((attempt, callback, AGENT, ResultChoice(past)), ResultRejected, "in the past"),
    ]
    # The attempt's number emptied since: no number to mark wrong.
    await pool.execute(
        "UPDATE contacts SET phone_numbers = '{NULL,+4930100009}', number_tries = '{0,0}',"
        " number_last_cause = '{0,0}', number_end_reason = '{0,0}', number_invalid = '{f,f}'"
        " WHERE id = $1",
        contact,
    )
    refusals.append(((attempt, wrong), ResultRejected, "no longer the contact's"))
    before = await contact_row(pool, contact)
    for args, error, why in refusals:
        call = args if len(args) > 2 else (*args, AGENT)
        with pytest.raises(error, match=why):
            await record_result(pool, 1, *call)
    # Another client's attempt does not exist for this one.
    with pytest.raises(ResultNotFound):
        await record_result(pool, 2, attempt, done_code, AGENT)
    assert await contact_row(pool, contact) == before
    assert (
        await pool.fetchval("SELECT count(*) FROM contact_history WHERE result_code_id IS NOT NULL")
        == 0
    )

    await record_result(pool, 1, attempt, done_code, AGENT)
    with pytest.raises(ResultConflict, match="has a result already"):
        await record_result(pool, 1, attempt, done_code, AGENT)


async def test_a_result_waits_for_the_call_to_end_and_is_for_the_last_attempt(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid)
    code = await add_code(pool, cid, ResultCodeType.RETRY)
    first = await called(pool, contact, Connres.NO_ANSWER)
    store = PostgresDialerStore(pool, "me", 60)
    running = await start_one(pool, store, contact)
    with pytest.raises(ResultConflict, match="still in progress"):
        await record_result(pool, 1, running, code, AGENT)
    with pytest.raises(ResultConflict, match="not its contact's last"):
        await record_result(pool, 1, first, code, AGENT)


async def test_a_reopened_call_task_may_not_double_an_open_one(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('crm')")
    done = await add_contact(pool, cid, system_code="crm", ext_cust_id="k1")
    code = await add_code(pool, cid, ResultCodeType.RETRY)
    attempt = await called(pool, done)
    await add_contact(
        pool, cid, system_code="crm", ext_cust_id="k1"
    )  # the same customer, sent again while this one was done
    with pytest.raises(ResultConflict, match="cannot be reopened"):
        await record_result(pool, 1, attempt, code, AGENT)
    assert (await contact_row(pool, done))["state"] == "done"


async def claimed(pool: asyncpg.Pool, campaign_id: int, limit: int = 10) -> list[int]:
    """The ids the claim takes, in the hopper's order (the claim returns them by id)."""
    hopper = [d.id for d in await next_due_contacts(pool, campaign_id, limit)]
    taken = {c.id for c in await PostgresDialerStore(pool, "claim", 60).claim(campaign_id, limit)}
    assert set(hopper) == taken, (hopper, taken)
    await pool.execute("UPDATE contacts SET claimed_by = NULL, lease_until = NULL")
    return hopper


async def callback_at(pool: asyncpg.Pool, contact: int, at: datetime, user: int | None) -> None:
    await pool.execute(
        "UPDATE contacts SET state = 'open', callback_at = $2, dt_next_try = $2,"
        " callback_user_id = $3 WHERE id = $1",
        contact,
        at,
        user,
    )


async def test_a_callback_for_anyone_is_claimed_first_once_its_time_has_come(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    now = await pool.fetchval("SELECT now()")
    never_tried = await add_contact(pool, cid)
    overdue = await add_contact(pool, cid, dt_next_try=now - timedelta(days=1))
    late = await add_contact(pool, cid)
    early = await add_contact(pool, cid)
    coming = await add_contact(pool, cid)
    await callback_at(pool, late, now - timedelta(minutes=1), None)
    await callback_at(pool, early, now - timedelta(minutes=5), None)
    await callback_at(pool, coming, now + timedelta(minutes=5), None)
    assert await claimed(pool, cid) == [early, late, never_tried, overdue]
    assert await claimed(pool, cid, 1) == [early]


async def test_an_agents_callback_is_theirs_for_the_grace_then_anyones(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool, callback_grace_s=600)
    now = await pool.fetchval("SELECT now()")
    other = await add_contact(pool, cid)
    mine = await add_contact(pool, cid)
    await callback_at(pool, mine, now - timedelta(minutes=5), AGENT)
    assert await claimed(pool, cid) == [other]
    found = await next_callback_for_agent(pool, cid, AGENT)
    assert found is not None and (found.contact_id, found.number) == (mine, "+4930100000")
    assert await next_callback_for_agent(pool, cid, AGENT + 1) is None

    await pool.execute("UPDATE campaigns SET callback_grace_s = 240 WHERE id = $1", cid)
    assert await claimed(pool, cid) == [mine, other]
    # Not yet its time: not even its agent's.
    await callback_at(pool, mine, now + timedelta(minutes=5), AGENT)
    assert await next_callback_for_agent(pool, cid, AGENT) is None


async def test_an_agents_callback_goes_to_anyone_only_while_the_agent_is_signed_out(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool, callback_grace_s=300)
    ada = await add_user(
        pool, 1, "ada", PASSWORD, Role.AGENT, endpoint="PJSIP/agent1", campaign_ids=[cid]
    )
    now = await pool.fetchval("SELECT now()")
    other = await add_contact(pool, cid)
    mine = await add_contact(pool, cid)
    await callback_at(pool, mine, now - timedelta(hours=1), ada.id)

    async def due() -> list[int]:
        """What the claim and the hopper take (claimed holds the two together), and the
        search's "due" agrees."""
        found = await claimed(pool, cid)
        s = parse_search({"state": "due"}, cid, "NO", ZoneInfo("UTC"))
        assert sorted(r["id"] for r in (await search(pool, 1, s)).items) == sorted(found)
        return found

    async def to(state: AgentStatus, ago_s: float = 0) -> None:
        await agents.move(pool, ada.id, 1, agents.NewState(state), lambda _: True)
        await pool.execute(
            "UPDATE agent_states SET started_at = now() - make_interval(secs => $2)"
            " WHERE user_id = $1 AND ended_at IS NULL",
            ada.id,
            ago_s,
        )

    assert await due() == [mine, other]  # never signed in: anyone's after the grace
    for state in (AgentStatus.READY, AgentStatus.PAUSED, AgentStatus.AFTER_CALL):
        await to(state, ago_s=7200)
        assert await due() == [other], state  # signed in: the agent's, long after the grace
        found = await next_callback_for_agent(pool, cid, ada.id)
        assert found is not None and found.contact_id == mine
    # Signed out: the grace counts from the sign-out when that is later than the callback's time
    await to(AgentStatus.OUT, ago_s=299)
    assert await due() == [other]
    await to(AgentStatus.OUT, ago_s=301)
    assert await due() == [mine, other]
    # ... and from the callback's time when that is later.
    await callback_at(pool, mine, now - timedelta(seconds=60), ada.id)
    assert await due() == [other]


async def test_a_callback_is_made_with_the_tries_used_up_and_its_call_spends_it(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    now = await pool.fetchval("SELECT now()")
    contact = await add_contact(pool, cid, max_attempts=1, attempts=1, state="finished")
    await callback_at(pool, contact, now - timedelta(seconds=1), None)
    assert await dialable_left(pool, [cid]) == {cid: 1}  # the wallboard's "none left" alert
    assert await claimed(pool, cid) == [contact]
    await called(pool, contact, Connres.NO_ANSWER)
    c = await contact_row(pool, contact)
    assert (c["state"], c["attempts"], c["callback_at"]) == ("finished", 2, None)
    assert await claimed(pool, cid) == []
    assert await dialable_left(pool, [cid]) == {}


async def test_a_paused_campaign_claims_no_callback(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool, active=False)
    contact = await add_contact(pool, cid)
    await callback_at(pool, contact, datetime.now(UTC) - timedelta(minutes=1), None)
    assert await PostgresDialerStore(pool, "me", 60).claim(cid, 10) == []


async def test_record_a_callback_then_reset(pool: asyncpg.Pool, api: Api) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid)
    code = await add_code(pool, cid, ResultCodeType.CALLBACK)
    attempt = await called(pool, contact)
    at = datetime.now(UTC) + timedelta(hours=2)
    await record_result(pool, 1, attempt, code, AGENT, ResultChoice(at, for_me=True))
    c = await contact_row(pool, contact)
    assert (c["state"], c["callback_at"], c["callback_user_id"]) == ("open", at, AGENT)
    assert (c["dt_next_try"], c["result_code_id"]) == (at, code)

    status, body = await api.request("GET", f"/dialler/contacts/contact/{contact}/history")
    assert status == 200
    [h] = body["records"]
    assert (h["DiallerCampaignsResultCodesID"], h["DiallerResultCodesTypesID"]) == (code, 4)
    assert h["UsersID"] == AGENT

    assert await contacts.act_on_contact(pool, 1, contact, ContactAction.RESET) == contact
    c = await contact_row(pool, contact)
    assert (c["result_code_id"], c["callback_at"], c["callback_user_id"]) == (None, None, None)
    # History is the record of what was said on that call: it keeps its result.
    status, body = await api.request("GET", f"/dialler/contacts/contact/{contact}/history")
    assert body["records"][0]["DiallerCampaignsResultCodesID"] == code


async def test_two_agents_recording_one_attempt_at_once_one_is_refused(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    contact = await add_contact(pool, cid)
    retry = await add_code(pool, cid, ResultCodeType.RETRY)
    done_code = await add_code(pool, cid, ResultCodeType.SUCCESS)
    attempt = await called(pool, contact)
    outcomes = await asyncio.gather(
        record_result(pool, 1, attempt, retry, AGENT),
        record_result(pool, 1, attempt, done_code, AGENT + 1),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], ResultConflict), outcomes
    # The contact moved by the one that was written, and only by it.
    h = await fetchrow(pool, "SELECT * FROM contact_history WHERE id = $1", attempt)
    c = await contact_row(pool, contact)
    assert h["result_code_id"] == c["result_code_id"] == won[0].code.id
    assert c["state"] == ("open" if won[0].code.id == retry else "done")
