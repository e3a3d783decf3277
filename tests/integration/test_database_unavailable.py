"""The APIs and the console while the database cannot be reached: a 503 in each one's own
envelope within the pool's connect timeout, never a 500 or a hang; and once it answers again
the same process serves as before (its dropped connections replaced)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator

import asyncpg
import jsonschema
import pytest
from aiohttp.test_utils import TestClient, TestServer

from dialerd.api.app import DATABASE_UNAVAILABLE
from dialerd.api.openapi import document
from dialerd.config import Settings
from dialerd.service import build_app
from dialerd.store.pool import create_pool
from tests.conftest import Api

CONNECT_TIMEOUT_S = 2.0


def _closed_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def down() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres"
    pool = await create_pool(dsn, min_size=0, connect_timeout_s=CONNECT_TIMEOUT_S)
    async with TestClient(TestServer(build_app(Settings(database_url=dsn), pool))) as client:
        yield client
    await pool.close()


async def test_the_dialler_api_answers_503_in_its_envelope(down: TestClient) -> None:  # type: ignore[type-arg]
    started = time.monotonic()
    resp = await down.get("/dialler/contacts/1", headers={"Authorization": "Bearer x"})
    assert resp.status == 503
    assert await resp.json() == {"status": 503, "error": DATABASE_UNAVAILABLE}
    assert resp.headers["Retry-After"] == "5"
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 1


async def test_the_calltask_api_answers_503_in_its_envelope(down: TestClient) -> None:  # type: ignore[type-arg]
    resp = await down.post(
        "/itxdialer/calltaskimport", json={}, headers={"Authorization": "Bearer x"}
    )
    assert resp.status == 503
    assert await resp.json() == {"statusCode": 1, "statusText": DATABASE_UNAVAILABLE}


async def test_every_documented_operation_answers_its_documented_503(down: TestClient) -> None:  # type: ignore[type-arg]
    doc = document()
    answered = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "503" not in op["responses"]:
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            resp = await down.request(method, url, headers={"Authorization": "Bearer x"})
            assert resp.status == 503, (method, path)
            assert resp.headers["Retry-After"].isdigit()
            schema = op["responses"]["503"]["content"]["application/json"]["schema"]
            jsonschema.validate(await resp.json(), {**schema, "components": doc["components"]})
            answered += 1
    assert answered == sum(len(ops) for path, ops in doc["paths"].items() if path != "/health")


async def test_the_console_shows_its_own_503_page(down: TestClient) -> None:  # type: ignore[type-arg]
    resp = await down.post("/console/signin", data={"login": "a", "password": "b"})
    assert resp.status == 503
    assert resp.content_type == "text/html"
    text = await resp.text()
    assert "Service unavailable" in text and "The database cannot be reached" in text


async def test_connections_the_server_dropped_are_replaced(
    api: Api, pool: asyncpg.Pool, db_dsn: str
) -> None:
    """A restart ends every session (57P01, as pg_ctl restart -m fast does): the next requests
    find them closed and open new ones; nothing is answered 500."""
    status, _ = await api.request("GET", "/dialler/campaigns")
    assert status == 200
    database = db_dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(db_dsn)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await admin.close()
    assert ended >= 1
    for _ in range(3):
        status, body = await api.request("GET", "/dialler/campaigns")
        assert status in (200, 503), body
    status, _ = await api.request("GET", "/dialler/campaigns")
    assert status == 200
