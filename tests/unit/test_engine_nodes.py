"""Two engines on one store (tests/unit/fakes.py): on one PBX one paces a campaign and the
other stands by for it, taking it over once the first's lease lapsed or at once when the
first stopped; on two PBXs each paces the campaign with its own agents."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from dialerd.config import Settings
from dialerd.dialer.engine import Engine
from tests.unit.fakes import FakePbx, MemoryStore, campaign, dialable
from tests.unit.test_engine import Clock

LEASE_S = 10


@dataclass
class Node:
    store: MemoryStore
    pbx: FakePbx
    engine: Engine

    async def tick(self) -> None:
        await self.engine.tick()


async def node(clock: Clock, store: MemoryStore, name: str, pbx_name: str) -> Node:
    """An engine named ``name`` on PBX ``pbx_name`` over the same data as ``store``."""
    mine = MemoryStore(
        clock.now,
        instance_id=name,
        lease_seconds=LEASE_S,
        campaign_list=store.campaign_list,
        contacts=store.contacts,
        attempts=store.attempts,
        _ids=store._ids,
        pacers=store.pacers,
    )
    pbx = FakePbx()
    settings = Settings(claim_lease_seconds=LEASE_S, pbx_name=pbx_name)
    engine = Engine(settings, mine, pbx, clock=clock.mono, wall=clock.wall)
    engine.attach()
    await pbx.connect()
    return Node(mine, pbx, engine)


async def two_nodes(pbx_a: str, pbx_b: str) -> tuple[Clock, Node, Node]:
    clock = Clock()
    data = MemoryStore(clock.now, lease_seconds=LEASE_S)
    data.campaign_list.append(dialable(campaign()))
    for i in range(10):
        data.add_contact(1, f"+49301000{i:02d}")
    return clock, await node(clock, data, "a", pbx_a), await node(clock, data, "b", pbx_b)


async def test_on_one_pbx_one_engine_paces_and_the_other_stands_by() -> None:
    clock, a, b = await two_nodes("pbx1", "pbx1")
    for _ in range(5):
        await a.tick()
        await b.tick()
        clock.t += 0.5
    assert len(a.pbx.originates) == 1  # one free agent, one call
    assert b.pbx.originates == []  # the same agent, seen by the engine standing by
    assert [c.campaign.id for c in a.engine.campaigns_live()] == [1]
    assert b.engine.campaigns_live() == []  # it does not look like a second pacer


async def test_the_engine_standing_by_takes_over_once_the_pacers_lease_lapsed() -> None:
    clock, a, b = await two_nodes("pbx1", "pbx1")
    await a.tick()
    await b.tick()
    assert len(a.pbx.originates) == 1
    # a dies: no more renewals. b keeps asking and is refused until the lease is over.
    clock.t += LEASE_S - 1
    await b.tick()
    assert b.pbx.originates == []
    clock.t += 2
    await b.tick()
    assert len(b.pbx.originates) == 1
    assert b.store.pacers[1, "pbx1"][0] == "b"


async def test_an_engine_that_stops_hands_its_campaigns_over_at_once() -> None:
    clock, a, b = await two_nodes("pbx1", "pbx1")
    await a.tick()
    await b.tick()
    assert a.store.pacers[1, "pbx1"][0] == "a"
    [attempt] = [int(f["ChannelId"].removeprefix("dialerd-")) for f, _ in a.pbx.originates]
    a.pbx.push("Hangup", attempt, Cause="17")
    stop = asyncio.Event()
    stop.set()
    await a.engine.run(stop)  # drains (nothing left) and releases
    assert (1, "pbx1") not in a.store.pacers
    clock.t += 2.5  # b's next look at the campaigns
    await b.tick()
    assert len(b.pbx.originates) == 1


async def test_on_two_pbxs_each_engine_paces_the_campaign_with_its_own_agents() -> None:
    clock, a, b = await two_nodes("pbx1", "pbx2")
    for _ in range(3):
        await a.tick()
        await b.tick()
        clock.t += 0.5
    assert len(a.pbx.originates) == 1 and len(b.pbx.originates) == 1
    numbers = {f["Channel"] for f, _ in a.pbx.originates + b.pbx.originates}
    assert len(numbers) == 2  # the contacts shared through the claim: never one twice
