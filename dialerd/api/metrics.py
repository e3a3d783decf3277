"""``/metrics`` in the Prometheus text format (docs/metrics.md): the counters of
``dialerd.metrics``, and what is true at the scrape: this process's engine's live view (calls in
flight, agents by state per queue, the pacer, the AMI connection) and every campaign's abandon
rates from the database.

It names campaigns, so it is never public: on the API's listener it needs its own token
(``DIALERD_METRICS_TOKEN``); on a listener of its own (``DIALERD_METRICS_PORT``, loopback by
default) the address is the guard, the token too if one is set. Without either, there is none.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from dialerd import metrics
from dialerd.api.context import POOL
from dialerd.api.errors import ApiError
from dialerd.reports.figures import CampaignAbandons
from dialerd.reports.service import abandons_of_every_campaign

LiveView = Callable[[], Mapping[str, Any]]
LIVE_VIEW: web.AppKey[LiveView] = web.AppKey("metrics_live_view")  # when this process dials
METRICS_TOKEN = web.AppKey("metrics_token", str)
PATH = "/metrics"
_STREAM = "text/event-stream"  # a stream's time is its connection's life, not a latency

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ScrapeGauges(Collector):
    """The gauges of one scrape, from the live view and the abandon rates read for it."""

    def __init__(self, view: Mapping[str, Any] | None, abandons: list[CampaignAbandons]) -> None:
        self.view = view
        self.abandons = abandons

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "dialerd_campaign_info",
            "A campaign's name and client",
            labels=["campaign", "name", "client"],
        )
        limit = GaugeMetricFamily(
            "dialerd_abandon_limit", "The campaign's abandon-rate limit", labels=["campaign"]
        )
        rate = GaugeMetricFamily(
            "dialerd_abandon_rate",
            "Abandoned calls over live answers, today (from the campaign's local midnight) and "
            "over the 30 days; absent without a live answer",
            labels=["campaign", "window"],
        )
        for a in self.abandons:
            campaign = str(a.campaign_id)
            info.add_metric([campaign, a.name, str(a.client_id)], 1)
            limit.add_metric([campaign], a.abandon_limit)
            for window, value in (("today", a.rate_today), ("30d", a.rate_30d)):
                if value is not None:
                    rate.add_metric([campaign, window], value)
        yield from (info, limit, rate)
        if self.view is not None:
            yield from _live(self.view)


def _live(view: Mapping[str, Any]) -> Iterator[GaugeMetricFamily]:
    connected = GaugeMetricFamily("dialerd_ami_connected", "1 while the AMI connection is up")
    connected.add_metric([], 1 if view["pbx"]["connected"] else 0)
    in_flight = GaugeMetricFamily(
        "dialerd_calls_in_flight", "Calls placed and not ended, per campaign", labels=["campaign"]
    )
    lines = GaugeMetricFamily(
        "dialerd_pacer_lines_per_agent",
        "Calls in flight per available agent, per campaign; absent without an available agent",
        labels=["campaign"],
    )
    wanted = GaugeMetricFamily(
        "dialerd_pacer_calls_wanted",
        "What the pacer asked for on its last tick",
        labels=["campaign"],
    )
    agents = GaugeMetricFamily(
        "dialerd_agents",
        "Agents per queue by state (free, ringing, talking, wrapup, paused)",
        labels=["queue", "state"],
    )
    counted: dict[str, dict[str, int]] = {}
    for c in view["campaigns"]:
        campaign = str(c["id"])
        in_flight.add_metric([campaign], len(c["calls"]))
        wanted.add_metric([campaign], c["pacer"]["wanted"])
        if c["pacer"]["calls_per_agent"] is not None:
            lines.add_metric([campaign], c["pacer"]["calls_per_agent"])
        if c["queue"] not in counted:  # campaigns sharing a queue share its agents
            states = counted[c["queue"]] = {}
            for a in c["agents"]:
                states[a["state"]] = states.get(a["state"], 0) + 1
    for queue, states in counted.items():
        for state, n in sorted(states.items()):
            agents.add_metric([queue, state], n)
    yield from (connected, in_flight, lines, wanted, agents)


async def exposition(pool: asyncpg.Pool, live_view: LiveView | None) -> bytes:
    """The text of one scrape."""
    now = CollectorRegistry(auto_describe=True)
    view = live_view() if live_view is not None else None
    now.register(ScrapeGauges(view, await abandons_of_every_campaign(pool)))
    return generate_latest(metrics.REGISTRY) + generate_latest(now)


async def handle(request: web.Request) -> web.Response:
    token = request.app.get(METRICS_TOKEN)
    if token is not None:
        given = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            # Answered here, in the dialler API's envelope: the own listener has no middleware.
            return ApiError(401, "Unauthorized: missing or invalid metrics token").response()
    body = await exposition(request.app[POOL], request.app.get(LIVE_VIEW))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def http_metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request counted by its route's template (not its path: ids would make a series
    each) and timed, whatever it answered."""
    started = time.perf_counter()
    status = 500
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        if response is None or response.content_type != _STREAM:
            metrics.HTTP_SECONDS.labels(route, request.method).observe(
                time.perf_counter() - started
            )


def metrics_app(
    pool: asyncpg.Pool, token: str | None, live_view: LiveView | None
) -> web.Application:
    """The application of the metrics' own listener."""
    app = web.Application()
    app[POOL] = pool
    if token:
        app[METRICS_TOKEN] = token
    if live_view is not None:
        app[LIVE_VIEW] = live_view
    app.router.add_get(PATH, handle)
    return app
