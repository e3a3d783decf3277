"""The process's Prometheus metrics that count as things happen (docs/metrics.md): calls and
attempts, AMI reconnects and action latency, claim latency, the engine's tick, imports, HTTP
requests, the event loop's lag. The gauges
of what is true now (calls in flight, agents, the pacer, abandon rates) are read when
``/metrics`` is scraped (``dialerd/api/metrics.py``).

One registry of dialerd's own (plus the process's CPU and memory), so that a test or a second
app in one process never sees another's series. Campaign labels are campaign ids:
``dialerd_campaign_info`` gives their names.
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

from dialerd.domain import Outcome

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

# Seconds: from a millisecond to a minute (a large import), roughly doubling.
_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

CALLS_PLACED = Counter(
    "dialerd_calls_placed", "Originates sent, per campaign", ["campaign"], registry=REGISTRY
)
CALLS_ENDED = Counter(
    "dialerd_calls_ended",
    "Attempts closed per campaign and what came of them: answered (a live person or a "
    "machine picked up), connected (an agent took it), abandoned, machine",
    ["campaign", "result"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "dialerd_attempts",
    "Attempts closed, per campaign and CONNRES",
    ["campaign", "connres"],
    registry=REGISTRY,
)
AMI_RECONNECTS = Counter(
    "dialerd_ami_reconnects",
    "AMI logins after the first (a connection lost and made again)",
    registry=REGISTRY,
)
AMI_ACTION_SECONDS = Histogram(
    "dialerd_ami_action_seconds",
    "From an AMI action written to its answer, per action",
    ["action"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
CLAIM_SECONDS = Histogram(
    "dialerd_claim_seconds",
    "One claim of due contacts (a batch for one campaign)",
    buckets=_BUCKETS,
    registry=REGISTRY,
)
# Finer under 100 ms: a round that takes longer delays every call the pacer asked for.
TICK_SECONDS = Histogram(
    "dialerd_tick_seconds",
    "One round of the engine (campaigns, closes, leases, claims, Originates), from its start "
    "to its end: its own work and its waits for the database, the PBX and the event loop",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
IMPORT_ROWS = Counter(
    "dialerd_import_rows",
    "Call tasks imported (calltask API and files): created, updated, refused",
    ["result"],
    registry=REGISTRY,
)
IMPORT_SECONDS = Histogram(
    "dialerd_import_seconds",
    "One calltask import, from validation to written",
    buckets=_BUCKETS,
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "dialerd_http_requests",
    "HTTP requests per route (its template), method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "dialerd_http_request_seconds",
    "HTTP request latency per route and method (a stream: until its headers)",
    ["route", "method"],
    buckets=_BUCKETS,
    registry=REGISTRY,
)
# A sleep's overshoot: under a millisecond when idle; 100 ms is late for every AMI event behind it.
_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LOOP_LAG_INTERVAL_S = 0.1
EVENT_LOOP_LAG = Histogram(
    "dialerd_event_loop_lag_seconds",
    f"How much later than asked a {LOOP_LAG_INTERVAL_S} s sleep of the event loop woke up: how "
    "long a callback (an AMI event, an HTTP request, a tick) waited for the loop",
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)


async def watch_loop_lag(interval: float = LOOP_LAG_INTERVAL_S) -> None:
    """Until cancelled: sleeps ``interval`` again and again and records each wake-up's delay."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time() + interval
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG.observe(max(0.0, loop.time() - asked))


def count_attempt(campaign_id: int, outcome: Outcome) -> None:
    """A closed attempt, into the call and CONNRES counters."""
    campaign = str(campaign_id)
    ATTEMPTS.labels(campaign, str(int(outcome.connres))).inc()
    for result, happened in (
        ("answered", outcome.answered),
        ("connected", outcome.dt_agent_connect is not None),
        ("abandoned", outcome.abandoned),
        ("machine", outcome.machine),
    ):
        if happened:
            CALLS_ENDED.labels(campaign, result).inc()


def count_import(created: int, updated: int, refused: int, seconds: float) -> None:
    """One calltask import's rows (created, updated, refused tasks) and its time."""
    for result, rows in (("created", created), ("updated", updated), ("refused", refused)):
        IMPORT_ROWS.labels(result).inc(rows)
    IMPORT_SECONDS.observe(seconds)
