"""The campaign list's live figures: agents and calls from the engines' live views, contacts
and rates from the store, for the signed-in user's client only."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import asyncpg

from dialerd.dialer.live import CallLive, CallState
from dialerd.domain import AgentLive, AgentState
from dialerd.store.live import PostgresLiveStore
from tests.conftest import Console
from tests.integration.test_scheduler import add_contact
from tests.integration.test_wallboard import add_answer, dialable_campaign, view_of


def _row(body: str, name: str) -> str:
    found = re.search(
        rf'<tr data-campaign="\d+">\s*<td class="campaign"><span class="strong">{name}</span>'
        r".*?</tr>",
        body,
        re.S,
    )
    assert found, name
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


async def test_the_list_shows_agents_calls_contacts_and_rates(
    console: Console, pool: asyncpg.Pool, db_dsn: str
) -> None:
    north = await dialable_campaign(pool, name="North", abandon_limit=0.03)
    other = await dialable_campaign(pool, name="Other client's", client_id=2)
    contacts = [await add_contact(pool, north.id) for _ in range(3)]
    await pool.execute("UPDATE contacts SET state = 'done' WHERE id = $1", contacts[0])
    now = datetime.now(UTC)
    await add_answer(pool, contacts[0], north.id, now, abandoned=False)
    await add_answer(pool, contacts[1], north.id, now, abandoned=True)
    agents = [
        AgentLive("PJSIP/agent1", "agent1", AgentState.TALKING, time.time()),
        AgentLive("PJSIP/agent2", "agent2", AgentState.FREE, time.time()),
        AgentLive("PJSIP/agent3", "agent3", AgentState.PAUSED, time.time()),
    ]
    calls = [CallLive(7, contacts[2], "+4930100000", CallState.RINGING, time.time(), None)]
    await PostgresLiveStore(pool, db_dsn, "engine-1").publish(
        view_of("engine-1", north, agents, calls)
    )
    await PostgresLiveStore(pool, db_dsn, "engine-2").publish(view_of("engine-2", other, agents))

    await console.add_user("vic", client_id=1)
    await console.sign_in("vic")
    status, _, body = await console.get("/console/campaigns")
    assert status == 200
    north_row = _row(body, "North")
    assert "3 logged in 1 free · 1 talking 0 wrap-up · 1 paused" in north_row
    assert "1 ringing 0 waiting 0 with an agent" in north_row
    assert "2 due now 2 left 1 done · 0 finished" in north_row
    # one of two live answers abandoned: 50 % today and over 30 days, against 3 %
    assert "50.0 % over today 50.0 % over 30 d" in north_row
    assert "limit 3.0 %" in north_row
    assert "Other client" not in body

    # the table alone, as htmx fetches it every few seconds
    status, _, table = await console.get("/console/campaigns/table")
    assert status == 200 and table.lstrip().startswith(
        '<div class="table-wrap" id="campaigns-table"'
    )
    assert _row(table, "North") == north_row


async def test_a_campaign_no_engine_dials_says_so(console: Console, pool: asyncpg.Pool) -> None:
    await dialable_campaign(pool, name="Quiet")
    await console.add_user("vic")
    await console.sign_in("vic")
    _, _, body = await console.get("/console/campaigns")
    row = _row(body, "Quiet")
    assert "no dialer" in row and "0 due now 0 left" in row
