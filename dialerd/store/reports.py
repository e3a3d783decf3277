"""Reports and the campaign list's figures in the store (reports.sql), scoped to one client.

``first`` and ``last`` are days, both included, each campaign's days in its own time zone;
``campaign_id`` None means all the client's campaigns. No statement is JIT-compiled
(reports_without_jit says why).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import asyncpg

from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

Row = asyncpg.Record


@dataclass(frozen=True)
class ReportRows:
    abandon: list[Row]  # report_abandon_by_day
    outcomes: list[Row]  # report_outcomes_by_day
    agents: list[Row]  # report_agents


@asynccontextmanager
async def _without_jit(conn: Conn) -> AsyncIterator[None]:
    """A transaction (a savepoint in the caller's) in which the statements are not compiled."""
    async with conn.transaction():
        await conn.execute(q("reports_without_jit"))
        yield


async def report(
    conn: Conn, client_id: int, campaign_id: int | None, first: date, last: date
) -> ReportRows:
    args = (client_id, campaign_id, first, last)
    async with _without_jit(conn):
        return ReportRows(
            list(await conn.fetch(q("report_abandon_by_day"), *args)),
            list(await conn.fetch(q("report_outcomes_by_day"), *args)),
            list(await conn.fetch(q("report_agents"), *args)),
        )


async def abandon_by_day(
    conn: Conn, client_id: int, campaign_id: int, first: date, last: date
) -> list[Row]:
    async with _without_jit(conn):
        return list(
            await conn.fetch(q("report_abandon_by_day"), client_id, campaign_id, first, last)
        )


async def abandon_window(conn: Conn, client_id: int, campaign_id: int) -> Row | None:
    row: Row | None = await conn.fetchrow(q("abandon_window"), client_id, campaign_id)
    return row


async def stream_attempts(
    pool: asyncpg.Pool,
    client_id: int,
    campaign_id: int | None,
    first: date,
    last: date,
    batch: int = 2000,
) -> AsyncGenerator[list[Row], None]:
    """The closed attempts of the range in batches from a server-side cursor: memory stays
    flat however many there are. One consistent snapshot throughout.

    Use with ``contextlib.aclosing`` so that a client that goes away frees the connection.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(q("reports_without_jit"))
        cursor = await conn.cursor(q("report_attempts"), client_id, campaign_id, first, last)
        while rows := await cursor.fetch(batch):
            yield rows


async def campaign_figures(conn: Conn, client_id: int) -> list[Row]:
    async with _without_jit(conn):
        return list(await conn.fetch(q("campaign_figures"), client_id))


async def metrics_abandons(conn: Conn) -> list[Row]:
    async with _without_jit(conn):
        return list(await conn.fetch(q("metrics_abandons")))
