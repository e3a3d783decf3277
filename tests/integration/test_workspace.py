"""The agent's workspace on a real Postgres: an agent user with its phone and campaigns; its
moves go to the engine that sees it as agent commands (one per queue) and into the state
history with their times; after-call work begins once per call and ends at the campaign's
limit; history's UsersID names the agent behind the interface; the screen pop shows only the
agent's own call, with the contact, its earlier attempts in words and the CRM link; a
transfer of that call goes to its engine as a command with its target and attempt; the
console's pages are the agent's only."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dialerd.dialer.live import CallLive
from dialerd.dialer.rules import decider
from dialerd.domain import (
    AFTER_CALL_REASON,
    AgentAction,
    AgentActionKind,
    AgentLive,
    AgentState,
    AgentStatus,
    ClosedAttempt,
    Connres,
    ResultCodeType,
    Role,
    Transfer,
    TransferKind,
    User,
)
from dialerd.store import admin as admin_store
from dialerd.store import agents
from dialerd.store.dialer import PostgresDialerStore
from dialerd.store.live import PostgresLiveStore
from dialerd.users import service as users
from dialerd.workspace.service import Workspace, WorkspaceError
from tests.conftest import PASSWORD, Console
from tests.integration.test_attempts import NOW, outcome, start_one
from tests.integration.test_results import add_code, called
from tests.integration.test_scheduler import add_campaign, add_contact, fetchrow
from tests.integration.test_wallboard import dialable_campaign, view_of

PHONE = "PJSIP/agent1"


async def add_agent(
    pool: asyncpg.Pool, login: str, endpoint: str, campaign_ids: list[int], client_id: int = 1
) -> User:
    return await users.add_user(
        pool,
        client_id,
        login,
        PASSWORD,
        Role.AGENT,
        login.title(),
        endpoint=endpoint,
        campaign_ids=campaign_ids,
    )


@dataclass
class FakeEngine:
    """An engine's side of the agent commands: a published view, and every action taken and
    done (Asterisk saying yes), or refused for the queues in ``refuse``."""

    live: PostgresLiveStore
    actions: list[AgentAction] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def run(self) -> None:
        while True:
            for command in await self.live.next_commands(1.0):
                self.actions.append(command.action)
                error = "No such queue" if command.action.queue in self.refuse else None
                await self.live.finish_command(command.id, error)


@contextlib.asynccontextmanager
async def engine(pool: asyncpg.Pool, dsn: str, *views: object) -> AsyncIterator[FakeEngine]:
    live = PostgresLiveStore(pool, dsn, "e1")
    for view in views or (view_of("e1", await dialable_campaign(pool, name="other")),):
        await live.publish(view)  # type: ignore[arg-type]
    fake = FakeEngine(live)
    task = asyncio.create_task(fake.run())
    try:
        yield fake
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await live.withdraw()


async def test_an_agent_s_moves_reach_every_queue_and_its_state_history(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    c1 = await add_campaign(pool, "c1", queue="q1")
    c2 = await add_campaign(pool, "c2", queue="q2")
    agent = await add_agent(pool, "ada", PHONE, [c1, c2])
    await agents.add_pause_reason(pool, 1, "break")
    ws = Workspace(pool, db_dsn)
    async with engine(pool, db_dsn) as e:
        await ws.move(agent, AgentActionKind.SIGN_IN)
        assert sorted((a.kind, a.queue, a.agent, a.member_name) for a in e.actions) == [
            (AgentActionKind.SIGN_IN, "q1", PHONE, "Ada"),
            (AgentActionKind.SIGN_IN, "q2", PHONE, "Ada"),
        ]
        with pytest.raises(WorkspaceError, match="cannot sign in while ready"):
            await ws.move(agent, AgentActionKind.SIGN_IN)
        with pytest.raises(WorkspaceError, match="not one of the pause reasons"):
            await ws.move(agent, AgentActionKind.PAUSE, "lunch")
        e.actions.clear()
        await ws.move(agent, AgentActionKind.PAUSE, "break")
        assert {(a.kind, a.reason) for a in e.actions} == {(AgentActionKind.PAUSE, "break")}
        await ws.move(agent, AgentActionKind.READY)
        e.refuse.add("q2")  # one queue refuses: the state changes with the other, and it says so
        with pytest.raises(WorkspaceError, match="Done, except: q2: Asterisk refused it"):
            await ws.move(agent, AgentActionKind.SIGN_OUT)
    periods = list(reversed((await ws.view(agent)).history))
    assert [(p.state, p.reason) for p in periods] == [
        (AgentStatus.READY, ""),
        (AgentStatus.PAUSED, "break"),
        (AgentStatus.READY, ""),
        (AgentStatus.OUT, ""),
    ]
    for before, after in itertools.pairwise(periods):
        assert before.ended_at == after.started_at  # one period ends as the next begins
    assert periods[-1].ended_at is None
    # another client's admin reading it sees nothing
    assert await agents.history(pool, agent.id, 2, 10) == []


async def test_without_a_running_engine_nothing_changes(pool: asyncpg.Pool, db_dsn: str) -> None:
    agent = await add_agent(pool, "ada", PHONE, [await add_campaign(pool, "c1", queue="q1")])
    with pytest.raises(WorkspaceError, match="no running dialer"):
        await Workspace(pool, db_dsn).move(agent, AgentActionKind.SIGN_IN)
    assert await agents.state_now(pool, agent.id) is None


async def test_after_call_work_begins_once_and_ends_at_the_campaign_s_limit(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    c1 = await add_campaign(pool, "c1", queue="q1", wrapup_limit_s=1)
    agent = await add_agent(pool, "ada", PHONE, [c1])
    live = PostgresLiveStore(pool, db_dsn, "e1")
    assert await live.start_after_call(PHONE, c1, 5) == []  # signed out: no after-call work
    assert await live.start_after_call("PJSIP/static9", c1, 5) == []  # no agent user
    await agents.move(pool, agent.id, 1, agents.NewState(AgentStatus.READY), lambda _: True)
    started = time.monotonic()
    assert await live.start_after_call(PHONE, c1, 5) == ["q1"]
    assert await live.start_after_call(PHONE, c1, 5) == []  # a second engine: nothing
    now = await agents.state_now(pool, agent.id)
    assert now is not None
    assert (now.state, now.reason, now.attempt_id) == (AgentStatus.AFTER_CALL, AFTER_CALL_REASON, 5)
    assert await live.end_after_calls() == []
    while not (ended := await live.end_after_calls()):
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.1)
    assert time.monotonic() - started >= 1.0
    assert ended == [(PHONE, ["q1"])]
    assert await live.end_after_calls() == []
    now = await agents.state_now(pool, agent.id)
    assert now is not None and now.state is AgentStatus.READY


async def test_history_names_the_agent_user_behind_the_interface(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    agent = await add_agent(pool, "ada", PHONE, [cid])
    store = PostgresDialerStore(pool, "me", 60)
    closed = []
    for interface in (PHONE, "PJSIP/static9", None):
        contact = await add_contact(pool, cid)
        attempt = await start_one(pool, store, contact)
        o = outcome(Connres.CONNECTED, 16, agent=interface)
        closed.append(ClosedAttempt(attempt, contact, 0, o, None))
    await store.close_attempts(closed, decider(NOW))
    rows = await pool.fetch("SELECT agent, users_id FROM contact_history ORDER BY id")
    assert [(r["agent"], r["users_id"]) for r in rows] == [
        (PHONE, agent.id),
        ("PJSIP/static9", None),
        (None, None),
    ]


async def test_the_screen_pop_is_the_agent_s_own_call(pool: asyncpg.Pool, db_dsn: str) -> None:
    c = await dialable_campaign(pool, name="c1", queue="q1")
    ada = await add_agent(pool, "ada", PHONE, [c.id])
    bob = await add_agent(pool, "bob", "PJSIP/agent2", [c.id])
    await admin_store.add_calling_system(pool, "crm1")
    await admin_store.set_crm_url_template(
        pool, "crm1", "https://crm.example/c?id={systemLookupCode}"
    )
    await admin_store.define_info_field(pool, 216, "City")
    contact = await add_contact(
        pool,
        c.id,
        ["+4791000001"],
        name="Kari Nordmann",
        system_code="crm1",
        system_lookup_code="K 17/&",
        properties={"216": "Oslo"},
    )
    store = PostgresDialerStore(pool, "e1", 60)
    earlier = await start_one(pool, store, contact)
    busy = outcome(Connres.BUSY, 17)
    await store.close_attempts([ClosedAttempt(earlier, contact, 0, busy, None)], decider(NOW))
    await pool.execute("UPDATE contacts SET dt_next_try = NULL")
    attempt = await start_one(pool, store, contact)
    call = CallLive(attempt, contact, "+4791000001", "agent", time.time(), PHONE)
    members = [
        AgentLive(PHONE, "ada", AgentState.TALKING, time.time()),
        AgentLive("PJSIP/agent2", "bob", AgentState.FREE, time.time()),
    ]
    async with engine(pool, db_dsn, view_of("e1", c, members, [call])):
        ws = Workspace(pool, db_dsn)
        mine = await ws.view(ada)
        assert mine.pop is not None and mine.phone.state == "talking"
        p = mine.pop
        assert (p.attempt_id, p.contact_id, p.name, p.number) == (
            attempt,
            contact,
            "Kari Nordmann",
            "+4791000001",
        )
        assert ("City", "Oslo") in p.fields
        assert p.crm_url == "https://crm.example/c?id=K%2017%2F%26"
        assert [(a["connres"], a["cause"]) for a in p.attempts] == [("busy", "user busy")]
        theirs = await ws.view(bob)
        assert theirs.pop is None and theirs.phone.state == "free"


async def test_a_transfer_is_a_command_for_the_engine_of_the_call_with_its_target(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    c = await dialable_campaign(pool, name="c1", queue="q1", default_region="DE")
    await add_campaign(pool, "c2", queue="q2")
    await add_campaign(pool, "c3", queue="q3", client_id=2)  # another client's
    ada = await add_agent(pool, "ada", PHONE, [c.id])
    contact = await add_contact(pool, c.id, ["+4791000001"])
    attempt = await start_one(pool, PostgresDialerStore(pool, "e1", 60), contact)
    call = CallLive(attempt, contact, "+4791000001", "agent", time.time(), PHONE)
    talking = [AgentLive(PHONE, "ada", AgentState.TALKING, time.time())]
    ws = Workspace(pool, db_dsn)
    async with engine(pool, db_dsn, view_of("e1", c, talking, [call])) as e:
        view = await ws.view(ada)
        assert [(q.queue, q.campaigns) for q in view.transfer_queues] == [("q2", "c2")]
        assert await ws.transfer(ada, TransferKind.NUMBER, "030 1234567") == "+49301234567"
        assert await ws.transfer(ada, TransferKind.QUEUE, "q2") == "q2"
        for kind, raw, error in [
            (TransferKind.NUMBER, "call me", "not a valid phone number"),
            (TransferKind.QUEUE, "q1", "The call is in q1 already"),
            (TransferKind.QUEUE, "q3", "not one of your queues"),
        ]:
            with pytest.raises(WorkspaceError, match=error):
                await ws.transfer(ada, kind, raw)
        e.refuse.add("q1")
        with pytest.raises(WorkspaceError, match="q1: Asterisk refused it"):
            await ws.transfer(ada, TransferKind.QUEUE, "q2")
    to_q2 = Transfer(TransferKind.QUEUE, "q2", attempt)
    assert [(a.kind, a.queue, a.agent, a.transfer) for a in e.actions] == [
        (
            AgentActionKind.TRANSFER,
            "q1",
            PHONE,
            Transfer(TransferKind.NUMBER, "+49301234567", attempt),
        ),
        (AgentActionKind.TRANSFER, "q1", PHONE, to_q2),
        (AgentActionKind.TRANSFER, "q1", PHONE, to_q2),
    ]
    stored = await pool.fetch(
        "SELECT action, transfer_kind, transfer_target, transfer_attempt_id, error"
        " FROM agent_commands ORDER BY id"
    )
    assert [tuple(r) for r in stored] == [
        ("transfer", "number", "+49301234567", attempt, None),
        ("transfer", "queue", "q2", attempt, None),
        ("transfer", "queue", "q2", attempt, "No such queue"),
    ]
    with pytest.raises(WorkspaceError, match="not on a call of the dialer"):  # the call is gone
        await ws.transfer(ada, TransferKind.QUEUE, "q2")


async def test_a_transfer_command_without_its_target_is_refused_by_the_schema(
    pool: asyncpg.Pool,
) -> None:
    insert = (
        "INSERT INTO agent_commands (instance_id, client_id, action, queue, agent, transfer_kind,"
        " transfer_target, transfer_attempt_id) VALUES ('e1', 1, $1, 'q1', $2, $3, $4, $5)"
    )
    for bad in [
        ("transfer", PHONE, None, None, None),
        ("transfer", PHONE, "queue", None, 7),
        ("transfer", PHONE, "queue", "", 7),
        ("transfer", PHONE, "queue", "q2", None),
        ("hangup", PHONE, "queue", "q2", 7),
        ("transfer", PHONE, "elsewhere", "q2", 7),
    ]:
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(insert, *bad)
    await pool.execute(insert, "transfer", PHONE, "queue", "q2", 7)


async def test_the_workspace_is_the_agent_s_only(console: Console) -> None:
    await add_agent(console.pool, "ada", PHONE, [])
    await console.add_user("sam", Role.ADMIN)
    assert await console.sign_in("ada") == 303
    status, _, body = await console.get("/console/agent/")
    assert status == 200 and "Sign in to my queues" in body
    assert "Wallboard" not in body  # no menu entry it may not open
    for path in ("/console/wallboard", "/console/campaigns", "/console/admin/users"):
        assert (await console.get(path))[0] == 403, path
    assert (await console.get("/console/"))[1] == "/console/agent/"  # home is the workspace
    assert (await console.post("/console/agent/sign_in"))[0] == 303
    row = await console.pool.fetchrow(
        "SELECT action, target, detail FROM audit_log WHERE action <> 'user.sign_in'"
    )
    assert row is not None and (row["action"], row["target"]) == (
        "workspace.sign_in",
        f"agent {PHONE}",
    )
    assert row["detail"]["error"] == "You work no campaign with a queue: an admin assigns them"
    assert (await console.post("/console/signout"))[0] == 303  # out of no queue: it never was
    assert await console.sign_in("sam") == 303
    assert (await console.get("/console/agent/"))[0] == 403


async def test_admins_add_agents_pause_reasons_and_crm_links(console: Console) -> None:
    cid = await add_campaign(console.pool, "c1", queue="q1")
    await console.add_user("sam", Role.ADMIN, installation_admin=True)  # also the CRM links
    assert await console.sign_in("sam") == 303
    form = {"login": "ada", "name": "Ada", "role": "agent", "password": PASSWORD}
    status, _, body = await console.post("/console/admin/users", form)
    assert status == 400 and "An agent needs its phone" in body
    status, _, _ = await console.post(
        "/console/admin/users", form | {"endpoint": PHONE, "campaign": str(cid)}
    )
    assert status == 303
    ada = await console.pool.fetchrow("SELECT id, endpoint FROM users WHERE login = 'ada'")
    assert ada is not None and ada["endpoint"] == PHONE
    assert await users.agent_campaigns(console.pool, 1) == {ada["id"]: [cid]}
    status, _, body = await console.post(
        "/console/admin/users", form | {"login": "bob", "endpoint": PHONE}
    )
    assert status == 400 and "Another agent has the phone PJSIP/agent1" in body
    assert (await console.post("/console/admin/users/ada/campaigns", {}))[0] == 303
    assert await users.agent_campaigns(console.pool, 1) == {}

    assert (await console.post("/console/admin/setup/reasons", {"reason": "Break"}))[0] == 303
    status, _, body = await console.post(
        "/console/admin/setup/reasons", {"reason": AFTER_CALL_REASON}
    )
    assert status == 400 and "the workspace&#39;s own" in body
    assert await agents.pause_reasons(console.pool, 1) == ["Break"]
    assert await agents.pause_reasons(console.pool, 2) == []

    await admin_store.add_calling_system(console.pool, "crm1")
    bad = {"template": "https://crm.example/?id={customer}"}
    status, _, body = await console.post("/console/admin/setup/systems/crm1/crm", bad)
    assert status == 400 and "Unknown placeholder {customer}" in body
    good = {"template": "https://crm.example/?id={extCustId}"}
    assert (await console.post("/console/admin/setup/systems/crm1/crm", good))[0] == 303
    [system] = await admin_store.calling_systems(console.pool)
    assert system["crm_url_template"] == good["template"]


BERLIN = ZoneInfo("Europe/Berlin")  # the zone of the contacts' +4930… numbers


async def in_after_call_work(pool: asyncpg.Pool, db_dsn: str, agent: User, cid: int) -> int:
    """The agent, ready, took a call of campaign ``cid`` that ended: after-call work with it."""
    attempt = await called(pool, await add_contact(pool, cid, ["+4930100000"]))
    await agents.move(pool, agent.id, 1, agents.NewState(AgentStatus.READY), lambda _: True)
    assert await PostgresLiveStore(pool, db_dsn, "e1").start_after_call(PHONE, cid, attempt)
    return attempt


async def test_the_result_form_records_the_call_s_result_then_makes_the_agent_ready(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    cid = await add_campaign(pool, "c1", queue="q1")
    agent = await add_agent(pool, "ada", PHONE, [cid])
    later = await add_code(pool, cid, ResultCodeType.CALLBACK, name="Call back", position=2)
    await add_code(pool, cid, ResultCodeType.SUCCESS, name="Sold", position=1)
    await add_code(pool, cid, ResultCodeType.REFUSED, name="Old", active=False)
    attempt = await in_after_call_work(pool, db_dsn, agent, cid)
    contact = await agents.attempt_contact(pool, attempt, 1)
    ws = Workspace(pool, db_dsn)
    async with engine(pool, db_dsn) as e:
        view = await ws.view(agent)
        form = view.result_form
        assert form is not None and form.attempt_id == attempt
        assert [c.name for c in form.codes] == ["Sold", "Call back"]  # active, by position
        assert form.zone == "Europe/Berlin" and form.zone_label.startswith("Europe/Berlin, UTC+0")
        assert view.pop is not None and view.pop.contact_id == contact  # the call's contact
        assert view.pop.number == "+4930100000"

        # Refused: the reason, nothing written, still in after-call work.
        tomorrow = (datetime.now(BERLIN) + timedelta(days=1)).date()
        for args, reason in [
            (("2020-01-01", "10:00"), "the callback time is in the past"),
            (("", ""), "a callback needs the time"),
            ((tomorrow.isoformat(), ""), "a callback needs its date and its time"),
            (("tomorrow", "10:00"), "the callback's date 'tomorrow' is not a date"),
        ]:
            with pytest.raises(WorkspaceError, match=f"Not recorded: {reason}"):
                await ws.record(agent, later, *args)
        with pytest.raises(WorkspaceError, match="not active"):
            await ws.record(agent, await add_code(pool, cid, ResultCodeType.SUCCESS, active=False))
        assert e.actions == []
        assert (
            await pool.fetchval("SELECT result_code_id FROM contact_history WHERE id = $1", attempt)
            is None
        )
        now = await agents.state_now(pool, agent.id)
        assert now is not None and now.state is AgentStatus.AFTER_CALL

        await ws.record(agent, later, tomorrow.isoformat(), "10:00", for_me=True)
        assert [(a.kind, a.queue) for a in e.actions] == [(AgentActionKind.READY, "q1")]
    c = await fetchrow(pool, "SELECT * FROM contacts WHERE id = $1", contact)
    at = datetime.combine(tomorrow, dtime(10), BERLIN)
    assert (c["callback_at"], c["dt_next_try"], c["callback_user_id"]) == (at, at, agent.id)
    h = await fetchrow(pool, "SELECT * FROM contact_history WHERE id = $1", attempt)
    assert (h["result_code_id"], h["users_id"]) == (later, agent.id)
    now = await agents.state_now(pool, agent.id)
    assert now is not None and now.state is AgentStatus.READY
    with pytest.raises(WorkspaceError, match="not in after-call work"):
        await ws.record(agent, later, tomorrow.isoformat(), "10:00")


async def test_the_result_comes_first_and_done_is_left_when_ready_fails(
    pool: asyncpg.Pool, db_dsn: str
) -> None:
    cid = await add_campaign(pool, "c1", queue="q1")
    agent = await add_agent(pool, "ada", PHONE, [cid])
    sold = await add_code(pool, cid, ResultCodeType.SUCCESS, name="Sold")
    attempt = await in_after_call_work(pool, db_dsn, agent, cid)
    ws = Workspace(pool, db_dsn)
    async with engine(pool, db_dsn) as e:
        e.refuse.add("q1")
        with pytest.raises(WorkspaceError, match="Sold recorded, but: q1: Asterisk refused it"):
            await ws.record(agent, sold)
        view = await ws.view(agent)
    assert view.status is AgentStatus.AFTER_CALL and view.result_form is None  # Done instead
    assert (
        await pool.fetchval("SELECT result_code_id FROM contact_history WHERE id = $1", attempt)
        == sold
    )


async def test_a_campaign_without_active_codes_keeps_done(pool: asyncpg.Pool, db_dsn: str) -> None:
    cid = await add_campaign(pool, "c1", queue="q1")
    agent = await add_agent(pool, "ada", PHONE, [cid])
    await add_code(pool, cid, ResultCodeType.SUCCESS, active=False)
    await in_after_call_work(pool, db_dsn, agent, cid)
    view = await Workspace(pool, db_dsn).view(agent)
    assert view.status is AgentStatus.AFTER_CALL and view.result_form is None


async def test_the_console_s_result_form_is_audited(console: Console, db_dsn: str) -> None:
    pool = console.pool
    cid = await add_campaign(pool, "c1", queue="q1")
    agent = await add_agent(pool, "ada", PHONE, [cid])
    wrong = await add_code(pool, cid, ResultCodeType.WRONG_NUMBER, name="Wrong number")
    await add_code(pool, cid, ResultCodeType.CALLBACK, name="Call back")
    attempt = await in_after_call_work(pool, db_dsn, agent, cid)
    assert await console.sign_in("ada") == 303
    status, _, body = await console.get("/console/agent/")
    assert status == 200 and "Wrong number" in body and "Europe/Berlin" in body
    assert 'id="ws-done"' not in body
    async with engine(pool, db_dsn):
        assert (await console.post("/console/agent/result", {}))[0] == 303
        assert (await console.post("/console/agent/result", {"code": str(wrong)}))[0] == 303
    rows = await pool.fetch(
        "SELECT action, target, detail FROM audit_log WHERE action = 'workspace.result' ORDER BY id"
    )
    assert [(r["action"], r["target"]) for r in rows] == [
        ("workspace.result", f"agent {PHONE}")
    ] * 2
    assert rows[0]["detail"]["error"] == "Choose a result for the call"
    assert rows[1]["detail"] == {
        "code": str(wrong),
        "date": "",
        "time": "",
        "for_me": False,
        "attempt": attempt,
        "contact": await agents.attempt_contact(pool, attempt, 1),
        "error": None,
    }
    now = await agents.state_now(pool, agent.id)
    assert now is not None and now.state is AgentStatus.READY
