"""Shared fixtures: a real Postgres for every test that touches storage.

The schema is migrated once into a template database per test session; each test gets its own
database cloned from it (CREATE DATABASE … TEMPLATE …), so tests are isolated and fast.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from dialerd.config import Settings
from dialerd.domain import Role
from dialerd.service import build_app
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect, create_pool
from dialerd.users.service import add_user
from dialerd.users.tokens import create_token

ADMIN_DSN = os.environ.get(
    "DIALERD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def dsn_for(database: str) -> str:
    return str(URL(ADMIN_DSN).with_path("/" + database))


@pytest.fixture(scope="session")
async def template_db() -> AsyncIterator[str]:
    name = f"dialerd_tpl_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await connect(dsn_for(name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db_dsn(template_db: str) -> AsyncIterator[str]:
    """The DSN of a fresh, migrated, empty database for this test alone."""
    name = f"dialerd_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield dsn_for(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_dsn, min_size=1, max_size=5)
    yield p
    await p.close()


@pytest.fixture
def settings(db_dsn: str) -> Settings:
    return Settings(database_url=db_dsn, max_body_bytes=64 * 1024 * 1024)


@dataclass
class Api:
    """An HTTP client of the running app that sends a valid bearer token unless told not to."""

    client: TestClient[web.Request, web.Application]
    token: str
    client_id: int

    def _headers(self, auth: bool | str, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if auth is True:
            out["Authorization"] = f"Bearer {self.token}"
        elif isinstance(auth, str):
            out["Authorization"] = auth
        return out

    async def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool | str = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Sends a request; returns (HTTP status, decoded JSON body or None)."""
        async with self.client.request(
            method, path, headers=self._headers(auth, headers), **kwargs
        ) as resp:
            body = await resp.read()
            assert resp.content_type == "application/json", (resp.status, body[:300])
            return resp.status, (await resp.json()) if body else None


@pytest.fixture
async def api(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Api]:
    token = await create_token(pool, 1)
    async with TestClient(TestServer(build_app(settings, pool))) as client:
        yield Api(client, token, 1)


PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """A browser-less client of the console: its cookie jar keeps the session."""

    client: TestClient[web.Request, web.Application]
    pool: asyncpg.Pool
    csrf: str = ""

    async def add_user(
        self,
        login: str,
        role: Role = Role.SUPERVISOR,
        client_id: int = 1,
        *,
        installation_admin: bool = False,
    ) -> None:
        await add_user(
            self.pool, client_id, login, PASSWORD, role, installation_admin=installation_admin
        )

    async def sign_in(self, login: str, password: str = PASSWORD) -> int:
        """Signs in (the cookie jar keeps the session); the response's status."""
        resp = await self.client.post(
            "/console/signin", data={"login": login, "password": password}, allow_redirects=False
        )
        if resp.status == 303:
            self.csrf = await self.csrf_of("/console/campaigns")
        return resp.status

    async def csrf_of(self, path: str) -> str:
        resp = await self.client.get(path)
        found = _CSRF.search(await resp.text())
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True
    ) -> tuple[int, str, str]:
        """(status, Location header, body) of a form POST, with the session's CSRF token."""
        form = dict(data or {}) | ({"csrf_token": self.csrf} if csrf else {})
        resp = await self.client.post(path, data=form, allow_redirects=False)
        return resp.status, resp.headers.get("Location", ""), await resp.text()

    async def get(self, path: str) -> tuple[int, str, str]:
        resp = await self.client.get(path, allow_redirects=False)
        return resp.status, resp.headers.get("Location", ""), await resp.text()


@pytest.fixture
async def console(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Console]:
    async with TestClient(TestServer(build_app(settings, pool))) as client:
        yield Console(client, pool)
