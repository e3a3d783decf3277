"""The asyncpg pool, with JSON codecs so that jsonb columns come and go as Python objects, and
bounded waits: a connection attempt gives up after ``connect_timeout_s``, a statement after
``command_timeout_s``, so that a database that is down or restarting is an error a caller can
answer (``database_unavailable``: the APIs' 503), never a request that hangs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

from dialerd.config import DB_COMMAND_TIMEOUT_S, DB_CONNECT_TIMEOUT_S

# What a database that is down, restarting or unreachable raises: no connection (refused, lost,
# closed under us), the server shutting down or not yet accepting connections, a wait that ran
# out. Not a wrong statement or a violated constraint: those are the caller's.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # A statement on a connection the server has just closed, before asyncpg noticed (seen at
    # a `pg_ctl stop -m fast`: "cannot switch to state 15; another operation (2) is in
    # progress").
    asyncpg.exceptions.InternalClientError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database could not be reached."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _UNAVAILABLE):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
        seen = seen.__cause__
    return False


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog"
        )


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    connect_timeout_s: float = DB_CONNECT_TIMEOUT_S,
    command_timeout_s: float = DB_COMMAND_TIMEOUT_S,
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        timeout=connect_timeout_s,
        command_timeout=command_timeout_s,
    )
    assert pool is not None
    return pool


async def connect(
    dsn: str, *, connect_timeout_s: float = DB_CONNECT_TIMEOUT_S
) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, timeout=connect_timeout_s)
    await _init_connection(conn)
    return conn


@asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection (``connect``'s) for a block, closed after it."""
    conn = await connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()
