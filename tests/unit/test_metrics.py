"""The metrics' pure parts: a closed attempt into the counters, the gauges of a live view; the
event loop's lag."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from dialerd import metrics
from dialerd.api.metrics import ScrapeGauges
from dialerd.domain import Connres, Outcome

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def outcome(connres: Connres, **changes: Any) -> Outcome:
    fields: dict[str, Any] = {
        "connres": connres,
        "cause": 16,
        "dt_alert": AT,
        "dt_connect": None,
        "dt_agent_connect": None,
        "dt_end": AT,
        "caller_hangup": None,
        "agent": None,
        "abandoned": False,
        "machine": False,
        "detail": None,
    }
    return Outcome(**(fields | changes))


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_closed_attempt_is_counted_by_connres_and_what_came_of_it() -> None:
    campaign = "9001"  # the registry is the process's: a campaign no other test uses
    metrics.count_attempt(9001, outcome(Connres.CONNECTED, dt_connect=AT, dt_agent_connect=AT))
    metrics.count_attempt(9001, outcome(Connres.ABORTED, dt_connect=AT, abandoned=True))
    metrics.count_attempt(9001, outcome(Connres.ABORTED, dt_connect=AT, machine=True))
    metrics.count_attempt(9001, outcome(Connres.BUSY))
    assert value("dialerd_attempts_total", campaign=campaign, connres="1") == 1
    assert value("dialerd_attempts_total", campaign=campaign, connres="4") == 2
    assert value("dialerd_attempts_total", campaign=campaign, connres="3") == 1
    ended = {
        r: value("dialerd_calls_ended_total", campaign=campaign, result=r)
        for r in ("answered", "connected", "abandoned", "machine")
    }
    assert ended == {"answered": 3, "connected": 1, "abandoned": 1, "machine": 1}


def campaign_view(
    cid: int, queue: str, agents: list[str], calls: int, per_agent: float | None
) -> dict[str, Any]:
    return {
        "id": cid,
        "queue": queue,
        "agents": [{"agent": f"PJSIP/a{i}", "state": s} for i, s in enumerate(agents)],
        "calls": [{"attempt_id": i} for i in range(calls)],
        "pacer": {"calls_per_agent": per_agent, "wanted": calls + 1},
    }


def test_the_live_view_as_gauges() -> None:
    view = {
        "pbx": {"connected": True},
        "campaigns": [
            campaign_view(1, "sales", ["free", "talking", "talking", "paused"], 3, 1.5),
            campaign_view(2, "sales", ["free", "talking", "talking", "paused"], 0, None),
            campaign_view(3, "support", ["wrapup"], 0, None),
        ],
    }
    registry = CollectorRegistry()
    registry.register(ScrapeGauges(view, []))
    text = generate_latest(registry).decode()
    assert "dialerd_ami_connected 1.0" in text
    assert 'dialerd_calls_in_flight{campaign="1"} 3.0' in text
    assert 'dialerd_calls_in_flight{campaign="2"} 0.0' in text
    assert 'dialerd_pacer_lines_per_agent{campaign="1"} 1.5' in text
    assert 'dialerd_pacer_lines_per_agent{campaign="2"}' not in text  # no agent available
    assert 'dialerd_pacer_calls_wanted{campaign="1"} 4.0' in text
    # Two campaigns on one queue: its agents once.
    assert 'dialerd_agents{queue="sales",state="talking"} 2.0' in text
    assert 'dialerd_agents{queue="sales",state="free"} 1.0' in text
    assert 'dialerd_agents{queue="support",state="wrapup"} 1.0' in text


async def test_the_loop_lag_is_how_late_a_sleep_woke_up() -> None:
    def lag(sample: str, **labels: str) -> float:
        return value(f"dialerd_event_loop_lag_seconds_{sample}", **labels)

    count, late, total = lag("count"), lag("count") - lag("bucket", le="0.1"), lag("sum")
    watcher = asyncio.create_task(metrics.watch_loop_lag(0.01))
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # noqa: ASYNC251 (blocks the loop: the watcher wakes up about 0.29 s late)
    await asyncio.sleep(0.05)
    watcher.cancel()
    assert lag("count") - count >= 5
    assert lag("count") - lag("bucket", le="0.1") - late == 1  # one wake-up over 100 ms
    assert 0.25 < lag("sum") - total < 0.5
