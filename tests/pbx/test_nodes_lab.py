"""Two dialerd nodes on one database, counted as the faults are (tests/pbx/test_faults_lab.py):
what was called is the far end's log of INVITEs, held against the history.

On one Asterisk the campaign is paced by one node at a time (its lease in ``campaign_pacers``,
docs/dialer.md "Nodes"): the other stands by, placing nothing and showing no campaign in its
live view, and takes the campaign and the dead node's open attempts over after the lease once
the first is SIGKILLed. Its size comes from ``DIALERD_NODES_CONTACTS`` (300 in the test run;
``bench/faults.py --nodes`` runs 10,000).

Two labs (two Asterisks, each with its own agents and its own dialerd) on one database and one
campaign: each node holds the campaign's lease of its own PBX and paces its own agents, the
contacts are shared through the claim."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.pbx.conftest import Lab
from tests.pbx.harness import FarEndCalls, FarEnds, Harness, Serve, wait_until
from tests.pbx.test_faults_lab import (
    CAMPAIGN,
    LEASE_S,
    add_contacts,
    all_called,
    claims_left,
    numbers,
    progress,
    tally,
)

CONTACTS = int(os.environ.get("DIALERD_NODES_CONTACTS", "300"))


def pacer_is(db: asyncpg.Pool, campaign: int, instance: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = await db.fetchval(
            "SELECT instance_id FROM campaign_pacers"
            " WHERE campaign_id = $1 AND lease_until > now()",
            campaign,
        )
        return bool(found == instance)

    return check


async def calls_by_node(db: asyncpg.Pool, campaign: int) -> dict[str, int]:
    """Calls placed (CONNRES other than 0) per instance, as the history has them: a dead
    node's open attempts become the instance's that took them over."""
    rows = await db.fetch(
        "SELECT instance_id, count(*) AS n FROM contact_history"
        " WHERE campaign_id = $1 AND connres IS DISTINCT FROM 0 GROUP BY instance_id",
        campaign,
    )
    return {r["instance_id"]: r["n"] for r in rows}


async def live_campaigns(db: asyncpg.Pool, instance: str) -> list[int] | None:
    """The campaigns of an instance's live view (None: it has published none)."""
    view = await db.fetchval("SELECT view FROM live_views WHERE instance_id = $1", instance)
    if view is None:
        return None
    return [c["id"] for c in view["campaigns"]]


@pytest.mark.timeout(300 + CONTACTS)  # 10,000 contacts: 3 hours at most
async def test_two_nodes_on_one_lab_one_paces_the_other_takes_over(
    h: Harness, serve: Serve, tmp_path: Path
) -> None:
    """Node a paces the campaign, node b stands by for it on the same Asterisk; a is SIGKILLed
    at a third of the contacts, b takes the campaign and a's open attempts over after the
    lease and calls the rest. Nobody is called twice, every INVITE has its history row."""
    campaign = await h.campaign(**CAMPAIGN)
    await add_contacts(h, campaign, numbers(CONTACTS, "306"))
    far_end = FarEndCalls.since_now(h.lab)
    a = serve(tmp_path / "node-a.log", DIALERD_INSTANCE_ID="node-a")
    await wait_until(pacer_is(h.pool, campaign, "node-a"), 60)
    b = serve(tmp_path / "node-b.log", DIALERD_INSTANCE_ID="node-b")

    async def b_standing_by() -> bool:
        return await live_campaigns(h.pool, "node-b") == []

    await wait_until(b_standing_by, 60)
    within = 120 + CONTACTS * 0.5

    async def a_third() -> bool:
        return bool((await progress(h.pool, campaign))["dialled"] >= CONTACTS // 3)

    await wait_until(a_third, within)
    before = await calls_by_node(h.pool, campaign)
    assert await live_campaigns(h.pool, "node-b") == []  # not shown as a second pacer
    a.send_signal(signal.SIGKILL)
    a.wait()
    killed = time.monotonic()
    assert "node-b" not in before, before  # it stood by: not one call while a paced
    await wait_until(pacer_is(h.pool, campaign, "node-b"), LEASE_S + 15)
    took_over_s = time.monotonic() - killed
    await wait_until(all_called(h.pool, campaign, CONTACTS), within)
    b.send_signal(signal.SIGTERM)
    assert b.wait(60) == 0
    await wait_until(lambda: _none_left(h.pool, campaign), LEASE_S + 10)

    counts = await tally(h.pool, campaign, far_end)
    by_node = await calls_by_node(h.pool, campaign)
    print(
        counts.line(
            f"two nodes, one lab: a paced {before.get('node-a', 0)} calls, SIGKILL, b took over "
            f"after {took_over_s:.1f} s (lease {LEASE_S} s); calls by node {by_node}"
        )
    )
    counts.assert_clean()
    assert by_node.get("node-a", 0) > 0 and by_node.get("node-b", 0) > 0, by_node


async def _none_left(db: asyncpg.Pool, campaign: int) -> bool:
    return await claims_left(db, campaign) == 0


TWO_LABS_CONTACTS = 200
# The far end's answers (0), busy (5), no answer (6) and machines (9), without the callee who
# hangs up 1 s after answering (4): during AMD that is an abandon no pacer could avoid.
TWO_LABS_MIX = (0, 5, 0, 9, 6, 0, 5, 0, 9, 0)


@pytest.mark.timeout(600)
async def test_two_labs_share_one_campaign_each_node_pacing_its_own_agents(
    h: Harness, serve: Serve, second_lab: Lab, tmp_path: Path
) -> None:
    """Node 1 on the session's lab, node 2 on a second lab, one predictive campaign: both hold
    its lease for their own PBX and place calls through it; nobody is called twice over the two far
    ends, and the campaign's abandon rate over both stays under its limit."""
    campaign = await h.campaign(**{**CAMPAIGN, "DialMode": "predictive"})
    phone_numbers = [
        f"+49307{i:05d}{TWO_LABS_MIX[i % len(TWO_LABS_MIX)]}" for i in range(TWO_LABS_CONTACTS)
    ]
    await add_contacts(h, campaign, phone_numbers)
    far_ends = FarEnds([FarEndCalls.since_now(h.lab), FarEndCalls.since_now(second_lab)])
    one = serve(tmp_path / "node-1.log", DIALERD_INSTANCE_ID="node-1")
    two = serve(
        tmp_path / "node-2.log",
        DIALERD_INSTANCE_ID="node-2",
        DIALERD_AMI_HOST=second_lab.ami_host,
        DIALERD_AMI_PORT=str(second_lab.ami_port),
        DIALERD_AMI_USERNAME=second_lab.ami_username,
        DIALERD_AMI_SECRET=second_lab.ami_secret,
    )
    await wait_until(all_called(h.pool, campaign, TWO_LABS_CONTACTS), 120 + TWO_LABS_CONTACTS * 0.5)
    for proc in (one, two):
        proc.send_signal(signal.SIGTERM)
    assert one.wait(60) == 0 and two.wait(60) == 0

    pacers = await h.pool.fetch(
        "SELECT pbx, instance_id FROM campaign_pacers WHERE campaign_id = $1", campaign
    )
    assert pacers == []  # both released at their stop
    counts = await tally(h.pool, campaign, far_ends)
    by_node = await calls_by_node(h.pool, campaign)
    row = await h.pool.fetchrow(
        "SELECT answered, abandoned FROM abandons($1, '-infinity', 'infinity')", campaign
    )
    assert row is not None
    rate = row["abandoned"] / max(row["answered"], 1)
    limit = float(
        await h.pool.fetchval("SELECT abandon_limit FROM campaigns WHERE id = $1", campaign)
    )
    print(
        counts.line(
            f"two labs, one campaign: calls by node {by_node}, abandon rate {rate:.2%} "
            f"({row['abandoned']} of {row['answered']} live answers, limit {limit:.0%})"
        )
    )
    counts.assert_clean()
    assert by_node.get("node-1", 0) > 0 and by_node.get("node-2", 0) > 0, by_node
    assert rate < limit
