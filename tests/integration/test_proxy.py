"""Behind a reverse proxy: the console's cookie is Secure when the request came over https,
and the sign-in's address is the client's, only when the proxy is trusted
(DIALERD_TRUSTED_PROXIES); from anyone else the X-Forwarded-* headers change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from dialerd.config import Settings
from dialerd.domain import Role
from dialerd.service import build_app
from dialerd.users.service import add_user
from tests.conftest import PASSWORD

FORWARDED = {
    "X-Forwarded-For": "198.51.100.1, 203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "dialer.example",
}


async def _sign_in(settings: Settings, pool: asyncpg.Pool, trusted: str) -> tuple[str, str | None]:
    """(Set-Cookie, the address the audit log has) of a sign-in through a proxy."""
    app = build_app(settings.model_copy(update={"trusted_proxies": trusted}), pool)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post(
            "/console/signin",
            data={"login": "ada", "password": PASSWORD},
            headers=FORWARDED,
            allow_redirects=False,
        )
        assert resp.status == 303
        address = await pool.fetchval(
            "SELECT address FROM audit_log WHERE action = 'user.sign_in' ORDER BY id DESC"
        )
        return resp.headers["Set-Cookie"], address


@pytest.fixture
async def ada(pool: asyncpg.Pool) -> AsyncIterator[None]:
    await add_user(pool, 1, "ada", PASSWORD, Role.ADMIN)
    yield


async def test_a_trusted_proxys_https_makes_the_cookie_secure(
    settings: Settings, pool: asyncpg.Pool, ada: None
) -> None:
    cookie, address = await _sign_in(settings, pool, "127.0.0.1")
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert address == "203.0.113.7"


async def test_an_untrusted_peers_forwarded_headers_change_nothing(
    settings: Settings, pool: asyncpg.Pool, ada: None
) -> None:
    cookie, address = await _sign_in(settings, pool, "10.0.0.0/8")
    assert "Secure" not in cookie
    assert address == "127.0.0.1"


async def test_secure_cookies_mark_the_cookie_secure_without_a_proxy(
    settings: Settings, pool: asyncpg.Pool, ada: None
) -> None:
    cookie, _ = await _sign_in(settings.model_copy(update={"secure_cookies": True}), pool, "")
    assert "Secure" in cookie
