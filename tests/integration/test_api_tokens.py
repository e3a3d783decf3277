"""API tokens on real Postgres: names, expiry, last use, revocation at once on every node (two
app instances, each with its own pool, on one database), ``dialerd token`` through its real
entry point, and the console's admin page."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dialerd.config import Settings
from dialerd.domain import Role
from dialerd.service import build_app
from dialerd.store.pool import create_pool
from dialerd.users.tokens import TokenError, create_token, parse_expiry
from tests.conftest import Console

BIN = Path(sys.executable).parent
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def nodes(settings: Settings, db_dsn: str) -> AsyncIterator[tuple[Client, Client]]:
    """Two dialerd apps on one database, each with a pool of its own, as two processes are."""
    pools = [await create_pool(db_dsn, min_size=1, max_size=2) for _ in range(2)]
    try:
        async with (
            TestClient(TestServer(build_app(settings, pools[0]))) as one,
            TestClient(TestServer(build_app(settings, pools[1]))) as two,
        ):
            yield one, two
    finally:
        for p in pools:
            await p.close()


async def _status(client: Client, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.get("/dialler/campaigns", headers=headers) as resp:
        return resp.status


async def _statuses(nodes: tuple[Client, Client], token: str) -> list[int]:
    return [await _status(node, token) for node in nodes]


async def _command(dsn: str, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of the installed ``dialerd`` command."""
    env = os.environ | {"DIALERD_DATABASE_URL": dsn, "DIALERD_LOG_FORMAT": "json"}
    run = await asyncio.create_subprocess_exec(
        str(BIN / "dialerd"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await run.communicate()
    assert run.returncode is not None
    return run.returncode, out.decode(), err.decode()


async def test_a_revoke_by_the_command_gets_401_at_once_on_every_node(
    nodes: tuple[Client, Client], db_dsn: str, pool: asyncpg.Pool
) -> None:
    rc, out, _ = await _command(db_dsn, "token", "create", "--client", "1", "--name", "CRM")
    assert rc == 0 and re.fullmatch(r"dlr_[\w-]{43}\n", out)
    token = out.strip()
    assert await _statuses(nodes, token) == [200, 200]
    token_id = await pool.fetchval("SELECT id FROM api_tokens")
    rc, out, _ = await _command(db_dsn, "token", "revoke", str(token_id))
    assert (rc, out) == (0, f"API token {token_id} revoked\n")
    assert await _statuses(nodes, token) == [401, 401]
    rc, _, err = await _command(db_dsn, "token", "revoke", str(token_id))
    assert (rc, err) == (1, f"error: No live API token {token_id}\n")


async def test_an_expired_token_gets_401_on_every_node(
    nodes: tuple[Client, Client], pool: asyncpg.Pool
) -> None:
    token = await create_token(pool, 1, "short", datetime.now(UTC) + timedelta(seconds=1))
    assert await _statuses(nodes, token) == [200, 200]
    await asyncio.sleep(1.1)
    assert await _statuses(nodes, token) == [401, 401]


async def test_the_last_use_is_written_at_most_once_a_minute(
    nodes: tuple[Client, Client], pool: asyncpg.Pool
) -> None:
    token = await create_token(pool, 1)
    assert await pool.fetchval("SELECT last_used_at FROM api_tokens") is None
    assert await _statuses(nodes, token) == [200, 200]
    first = await pool.fetchval("SELECT last_used_at FROM api_tokens")
    assert first is not None
    xmin = await pool.fetchval("SELECT xmin::text FROM api_tokens")
    assert await _statuses(nodes, token) == [200, 200]
    # no new row version: the requests within the minute wrote nothing
    assert await pool.fetchval("SELECT xmin::text FROM api_tokens") == xmin
    assert await pool.fetchval("SELECT last_used_at FROM api_tokens") == first
    await pool.execute("UPDATE api_tokens SET last_used_at = last_used_at - interval '61 s'")
    assert await _status(nodes[1], token) == 200
    assert await pool.fetchval("SELECT last_used_at FROM api_tokens") > first


async def test_the_command_lists_names_expiry_last_use_and_state(
    db_dsn: str, pool: asyncpg.Pool
) -> None:
    rc, _, _ = await _command(
        db_dsn, "token", "create", "--client", "4", "--name", "Billing CRM", "--expires", "30d"
    )
    assert rc == 0
    await create_token(pool, 5, "other client's")
    await pool.execute("UPDATE api_tokens SET last_used_at = created_at WHERE client_id = 5")
    rc, out, _ = await _command(db_dsn, "token", "list", "--client", "4")
    assert rc == 0
    header, row = out.splitlines()
    assert header == "id\tclient\tname\tcreated\texpires\tlast used\tstate"
    token_id, client, name, created, expires, last_used, state = row.split("\t")
    assert (client, name, last_used, state) == ("4", "Billing CRM", "-", "valid")
    days = datetime.fromisoformat(expires) - datetime.fromisoformat(created)
    assert timedelta(days=30) - timedelta(seconds=5) < days < timedelta(days=30, seconds=5)
    # another client's revoke does not reach it; the operator's (no --client) does
    rc, _, _ = await _command(db_dsn, "token", "revoke", token_id, "--client", "5")
    assert rc == 1
    assert await _command(db_dsn, "token", "revoke", token_id) == (
        0,
        f"API token {token_id} revoked\n",
        "",
    )
    rc, out, _ = await _command(db_dsn, "token", "list")
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert [(r[1], r[2], r[-1]) for r in rows] == [
        ("5", "other client's", "valid"),
        ("4", "Billing CRM", "revoked"),
    ]
    assert rows[0][5] != "-"


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        ("soon", "Expiry 'soon' is neither like 30d nor like 2027-01-31"),
        ("2020-01-01", "Expiry '2020-01-01' has passed"),
        ("0d", "Expiry '0d' is neither like 30d nor like 2027-01-31"),
    ],
)
async def test_the_command_refuses_a_bad_expiry_and_makes_no_token(
    db_dsn: str, pool: asyncpg.Pool, expires: str, message: str
) -> None:
    rc, out, err = await _command(db_dsn, "token", "create", "--client", "1", "--expires", expires)
    assert (rc, out, err) == (1, "", f"error: {message}\n")
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 0


def test_an_expiry_without_a_zone_is_utc() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_expiry("2027-01-31T12:00", now) == datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert parse_expiry("2027-01-31T12:00+01:00", now).astimezone(UTC).hour == 11
    assert parse_expiry("7d", now) == datetime(2026, 12, 8, tzinfo=UTC)


async def test_a_name_of_control_characters_is_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(TokenError, match="printable"):
        await create_token(pool, 1, "CRM\x1b[31m")
    with pytest.raises(TokenError, match="at most 100"):
        await create_token(pool, 1, "x" * 101)


async def test_the_admin_page_creates_shows_and_revokes_a_named_token(
    console: Console, nodes: tuple[Client, Client]
) -> None:
    await console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    status, _, body = await console.post(
        "/console/admin/setup/tokens", {"name": "Shop", "days": "7"}
    )
    assert status == 200
    found = re.search(r'<code id="new-token">([^<]+)</code>', body)
    assert found
    token = found.group(1)
    assert await _statuses(nodes, token) == [200, 200]
    _, _, body = await console.get("/console/admin/setup")
    row = re.search(r"<tr><td class=\"num\">(\d+)</td><td>Shop</td>(.*?)</tr>", body, re.S)
    assert row, body
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(2), re.S)
    assert cells[1] != "never" and cells[2].strip() != "never"  # expires; last used just now
    assert "Valid" in cells[3]
    status, _, body = await console.post("/console/admin/setup/tokens", {"days": "x"})
    assert status == 400 and "neither like 30d" in body
    status, _, _ = await console.post(f"/console/admin/setup/tokens/{row.group(1)}/revoke")
    assert status == 303
    assert await _statuses(nodes, token) == [401, 401]
    _, _, body = await console.get("/console/admin/setup")
    assert "Revoked" in body
