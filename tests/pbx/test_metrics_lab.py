"""/metrics while the engine dials the real lab: the live gauges (AMI up, calls in flight, the
lab's agents in their queue) during the run, and afterwards the counters agree with the
history rows the calls left."""

from __future__ import annotations

import asyncio
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from dialerd import metrics
from dialerd.api.metrics import exposition
from tests.pbx.harness import Harness, number
from tests.pbx.test_dialer_e2e import closed_count


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_follow_a_real_campaign(h: Harness) -> None:
    campaign = await h.campaign()
    c = str(campaign)
    for digit in range(10):  # every far-end behaviour: answers, busy, no answer, unknown
        await h.contact(campaign, number(digit))
    connres_before = {
        str(r): value("dialerd_attempts_total", campaign=c, connres=str(r)) for r in range(8)
    }
    placed_before = value("dialerd_calls_placed_total", campaign=c)
    seen: dict[str, float] = {"in_flight": 0, "connected": 0, "agents": 0}

    async def during() -> None:
        assert h.dialer is not None
        for _ in range(200):
            text = (await exposition(h.pool, h.dialer.live_view)).decode()
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name == "dialerd_calls_in_flight" and s.labels["campaign"] == c:
                        seen["in_flight"] = max(seen["in_flight"], s.value)
                    elif s.name == "dialerd_ami_connected":
                        seen["connected"] = max(seen["connected"], s.value)
                    elif s.name == "dialerd_agents" and s.labels["queue"] == "lab-agents":
                        seen["agents"] = max(seen["agents"], s.value)
            if seen["in_flight"] and seen["connected"]:
                return
            await asyncio.sleep(0.1)

    await h.run_until(closed_count(h, 10), 90, during=during)
    assert seen["connected"] == 1
    assert seen["in_flight"] >= 1
    assert seen["agents"] >= 1  # the lab's agents, by state
    rows = await h.pool.fetch(
        "SELECT connres FROM contact_history WHERE campaign_id = $1 AND status = 'closed'",
        campaign,
    )
    by_connres = Counter(str(r["connres"]) for r in rows)
    counted = {
        r: value("dialerd_attempts_total", campaign=c, connres=r) - before
        for r, before in connres_before.items()
    }
    assert {r: n for r, n in counted.items() if n} == by_connres
    placed = sum(n for r, n in by_connres.items() if r != "0")
    assert value("dialerd_calls_placed_total", campaign=c) - placed_before == placed
    assert value("dialerd_ami_action_seconds_count", action="Originate") >= placed
    assert value("dialerd_claim_seconds_count") >= 1
