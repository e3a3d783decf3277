"""The campaigns' pacing leases on a real Postgres (migration 0026, docs/dialer.md "Nodes"):
one engine per campaign and PBX however two race for it, renewal by the holder, take-over
once the lease lapsed, release at stop, and one lease per PBX for the same campaign."""

from __future__ import annotations

import asyncio

import asyncpg

from dialerd.store.dialer import PostgresDialerStore
from tests.integration.test_scheduler import add_campaign


async def lease_of(pool: asyncpg.Pool, campaign: int, pbx: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT instance_id, lease_until - now() AS left FROM campaign_pacers"
        " WHERE campaign_id = $1 AND pbx = $2",
        campaign,
        pbx,
    )


async def test_two_engines_racing_for_campaigns_get_each_once(pool: asyncpg.Pool) -> None:
    campaigns = [await add_campaign(pool, f"c{i}") for i in range(20)]
    a, b = PostgresDialerStore(pool, "a", 60), PostgresDialerStore(pool, "b", 60)
    for cid in campaigns:  # one campaign a round, both asking at the same moment
        got_a, got_b = await asyncio.gather(
            a.hold_campaigns("pbx1", [cid]), b.hold_campaigns("pbx1", [cid])
        )
        assert len(got_a | got_b) == 1 and not got_a & got_b
    won_a = await a.hold_campaigns("pbx1", campaigns)
    won_b = await b.hold_campaigns("pbx1", campaigns)
    assert won_a | won_b == set(campaigns) and not won_a & won_b


async def test_the_holder_renews_and_another_takes_over_only_once_it_lapsed(
    pool: asyncpg.Pool,
) -> None:
    cid = await add_campaign(pool)
    a, b = PostgresDialerStore(pool, "a", 60), PostgresDialerStore(pool, "b", 60)
    assert await a.hold_campaigns("pbx1", [cid]) == {cid}
    await pool.execute("UPDATE campaign_pacers SET lease_until = now() + interval '5 s'")
    assert await a.hold_campaigns("pbx1", [cid]) == {cid}  # renewed: a full lease again
    row = await lease_of(pool, cid, "pbx1")
    assert row is not None and row["left"].total_seconds() > 55
    assert await b.hold_campaigns("pbx1", [cid]) == set()  # a is alive
    await pool.execute("UPDATE campaign_pacers SET lease_until = now() - interval '1 s'")
    assert await b.hold_campaigns("pbx1", [cid]) == {cid}  # a died: its lease lapsed
    assert await a.hold_campaigns("pbx1", [cid]) == set()  # back, it stands by
    row = await lease_of(pool, cid, "pbx1")
    assert row is not None and row["instance_id"] == "b"


async def test_a_stopped_engine_releases_its_campaigns_at_once(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    a, b = PostgresDialerStore(pool, "a", 60), PostgresDialerStore(pool, "b", 60)
    assert await a.hold_campaigns("pbx1", [cid]) == {cid}
    await b.release_campaigns()  # not b's: nothing happens to a's lease
    assert await b.hold_campaigns("pbx1", [cid]) == set()
    await a.release_campaigns()
    assert await b.hold_campaigns("pbx1", [cid]) == {cid}


async def test_each_pbx_has_its_own_lease_of_a_campaign(pool: asyncpg.Pool) -> None:
    cid = await add_campaign(pool)
    a, b = PostgresDialerStore(pool, "a", 60), PostgresDialerStore(pool, "b", 60)
    assert await a.hold_campaigns("pbx1", [cid]) == {cid}
    assert await b.hold_campaigns("pbx2", [cid]) == {cid}
    assert await b.hold_campaigns("pbx1", [cid]) == set()


async def test_an_unknown_campaign_is_not_held(pool: asyncpg.Pool) -> None:
    a = PostgresDialerStore(pool, "a", 60)
    assert await a.hold_campaigns("pbx1", [987654]) == set()
