"""/metrics on real Postgres: its own token on the API's listener (none without one), a
listener of its own, the abandon rates and campaign names from the database, the HTTP requests
and calltask imports counted as they happen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from dialerd import metrics
from dialerd.api.metrics import metrics_app
from dialerd.config import Settings
from dialerd.domain import Connres
from dialerd.service import build_app
from dialerd.users.tokens import create_token
from tests.integration.test_reports import add_attempt
from tests.integration.test_scheduler import add_campaign, add_contact

TOKEN = "metrics-secret-1"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def key(metric: str, /, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return metric, frozenset(labels.items())


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def client(
    settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = build_app(settings.model_copy(update={"metrics_token": TOKEN}), pool)
    async with TestClient(TestServer(app)) as c:
        yield c


async def scrape(client: TestClient[web.Request, web.Application]) -> str:
    resp = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    return await resp.text()


async def test_metrics_need_their_own_token(
    client: TestClient[web.Request, web.Application], pool: asyncpg.Pool
) -> None:
    api_token = await create_token(pool, 1)
    for auth in (None, "Bearer wrong", f"Bearer {api_token}"):
        resp = await client.get("/metrics", headers={"Authorization": auth} if auth else {})
        assert resp.status == 401
        assert await resp.json() == {  # the dialler API's envelope
            "status": 401,
            "error": "Unauthorized: missing or invalid metrics token",
        }
    assert "dialerd_http_requests_total" in await scrape(client)


async def test_without_a_token_or_a_port_there_are_no_metrics(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    async with TestClient(TestServer(build_app(settings, pool))) as c:
        resp = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status == 404


async def test_a_listener_of_its_own_needs_no_token(pool: asyncpg.Pool) -> None:
    async with TestClient(TestServer(metrics_app(pool, None, None))) as c:
        resp = await c.get("/metrics")
        assert resp.status == 200
        assert "process_cpu_seconds_total" in await resp.text()
    async with TestClient(TestServer(metrics_app(pool, TOKEN, None))) as c:
        assert (await c.get("/metrics")).status == 401


async def test_abandon_rates_and_names_of_the_campaigns(
    client: TestClient[web.Request, web.Application], pool: asyncpg.Pool
) -> None:
    campaign = await add_campaign(pool, 'Sales "north"', abandon_limit=0.03)
    contact = await add_contact(pool, campaign)
    now = datetime.now(UTC)
    # Four live answers today, one abandoned; a machine never counts; an abandon 40 days ago
    # only before the 30 days.
    for abandoned in (True, False, False, False):
        await add_attempt(
            pool, contact, now, Connres.CONNECTED, 16, answered=True, abandoned=abandoned
        )
    await add_attempt(pool, contact, now, Connres.ABORTED, 16, answered=True, machine=True)
    await add_attempt(
        pool, contact, now - timedelta(days=40), Connres.ABORTED, 16, answered=True, abandoned=True
    )
    found = samples(await scrape(client))
    c = str(campaign)
    assert found[key("dialerd_campaign_info", campaign=c, name='Sales "north"', client="1")] == 1
    assert found[key("dialerd_abandon_limit", campaign=c)] == pytest.approx(0.03)
    assert found[key("dialerd_abandon_rate", campaign=c, window="today")] == 0.25
    assert found[key("dialerd_abandon_rate", campaign=c, window="30d")] == 0.25
    assert not any(name == "dialerd_ami_connected" for name, _ in found)  # this process dials not


async def test_requests_are_counted_by_route_and_imports_by_rows(
    client: TestClient[web.Request, web.Application], pool: asyncpg.Pool
) -> None:
    await pool.execute("INSERT INTO calling_systems (code) VALUES ('CRM')")
    campaign = await add_campaign(pool)
    token = await create_token(pool, 1)
    auth = {"Authorization": f"Bearer {token}"}
    route = {"route": "/dialler/contacts/{diallerContactsID}", "method": "GET"}
    before = value("dialerd_http_requests_total", **route, status="404")
    created = value("dialerd_import_rows_total", result="created")
    imports = value("dialerd_import_seconds_count")
    for contact in (1, 2, 3):
        assert (await client.get(f"/dialler/contacts/{contact}", headers=auth)).status == 404
    body = {
        "systemCode": "CRM",
        "callCode": campaign,
        "maxCallAttempts": 3,
        "minCallIntervalHours": 1,
        "callTasks": [
            {"callReceiverName": f"n{i}", "callNumberList": ["+4791234567"], "extCustId": str(i)}
            for i in range(5)
        ],
    }
    resp = await client.post("/itxdialer/calltaskimport", json=body, headers=auth)
    assert resp.status == 200, await resp.text()
    await scrape(client)
    assert value("dialerd_http_requests_total", **route, status="404") == before + 3
    assert value("dialerd_http_request_seconds_count", **route) >= 3
    assert value("dialerd_import_rows_total", result="created") == created + 5
    assert value("dialerd_import_seconds_count") == imports + 1
    # A path no route knows is one series, whatever the path.
    await client.get("/no/such/1", headers=auth)
    await client.get("/no/such/2", headers=auth)
    assert value("dialerd_http_requests_total", route="unmatched", method="GET", status="404") >= 2
