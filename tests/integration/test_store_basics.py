"""Migrations, named queries, the app shell (auth, error envelopes)."""

from __future__ import annotations

import asyncpg

from dialerd.store.migrate import available, current_version, migrate
from dialerd.store.sqlfiles import parse_named_queries, q, queries
from tests.conftest import Api


async def test_migrate_is_idempotent_and_records_the_version(db_dsn: str) -> None:
    conn = await asyncpg.connect(db_dsn)
    try:
        assert await migrate(conn) == []  # the template already had them all
        assert await current_version(conn) == available()[-1].version
    finally:
        await conn.close()


async def test_every_named_query_is_valid_sql(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q("calltask_staging"))  # the temporary table calltask_upsert reads
        await conn.execute(q("dnc_load_table"))  # and the one dnc_load_insert reads
        for name, text in queries().items():
            try:
                await conn.prepare(text)
            except asyncpg.PostgresError as exc:  # pragma: no cover - the message is the point
                raise AssertionError(f"query {name}: {exc}") from exc


def test_named_query_blocks_are_split_by_name() -> None:
    text = "-- name: a\n-- does a\nSELECT 1\n\n-- name: b\nSELECT 2\n"
    assert parse_named_queries(text) == {"a": "-- does a\nSELECT 1", "b": "SELECT 2"}


async def test_health_needs_no_token(api: Api) -> None:
    assert await api.request("GET", "/health", auth=False) == (200, {"status": 200})


async def test_unknown_route_and_bad_token_answer_in_the_dialler_envelope(api: Api) -> None:
    status, body = await api.request("GET", "/dialler/nothing-here")
    assert (status, body["status"]) == (404, 404)
    status, body = await api.request("GET", "/dialler/contacts", auth="Bearer wrong")
    assert status == 401 and body == {"status": 401, "error": body["error"]}
    assert "token" in body["error"]


async def test_calltask_paths_answer_in_their_own_envelope(api: Api) -> None:
    status, body = await api.request("POST", "/itxdialer/calltaskimport", auth=False)
    assert status == 401
    assert set(body) == {"statusCode", "statusText"}
    assert body["statusCode"] == 1
