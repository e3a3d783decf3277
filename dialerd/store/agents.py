"""Agents in the workspace (agents.sql): their state periods, the campaigns they work, their
client's pause reasons and queues, the contact of their call; the after-call work of a time
range, for the simulator.

Every change of an agent's state locks the agent's user row first, so the workspace's changes
and the engines' (after-call work begins, its limit ends it) never interleave: each reads the
state now in a statement of its own, after the lock, and one open period is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import asyncpg

from dialerd.domain import AgentStatus
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    from dialerd.store.campaigns import Conn

    Db: TypeAlias = (
        asyncpg.Connection[asyncpg.Record]
        | asyncpg.Pool[asyncpg.Record]
        | PoolConnectionProxy[asyncpg.Record]
    )
    """What runs one statement: a connection (of its own or the pool's) or the pool."""


@dataclass(frozen=True)
class StatePeriod:
    id: int
    state: AgentStatus
    reason: str
    campaign_id: int | None  # after-call work: the call's campaign
    attempt_id: int | None  # after-call work: the call
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class NewState:
    state: AgentStatus
    reason: str = ""
    campaign_id: int | None = None
    attempt_id: int | None = None


@dataclass(frozen=True)
class AgentCampaign:
    id: int
    name: str
    queue: str | None
    wrapup_limit_s: int
    default_region: str | None  # how the numbers an agent transfers to are read


@dataclass(frozen=True)
class ClientQueue:
    queue: str
    campaigns: str  # the names of the client's campaigns with this queue


def _period(row: asyncpg.Record) -> StatePeriod:
    return StatePeriod(
        row["id"],
        AgentStatus(row["state"]),
        row["reason"],
        row["campaign_id"],
        row["attempt_id"],
        row["started_at"],
        row["ended_at"],
    )


async def state_now(db: Db, user_id: int) -> StatePeriod | None:
    row = await db.fetchrow(q("agent_state_now"), user_id)
    return None if row is None else _period(row)


async def move(
    pool: asyncpg.Pool,
    user_id: int,
    client_id: int,
    new: NewState,
    may: Callable[[StatePeriod | None], bool],
) -> StatePeriod | None:
    """Ends the agent's state period and opens ``new`` if ``may`` allows it from the state
    now (None: never signed in); returns the new period, or None when it was not allowed."""
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(q("lock_agent"), user_id) is None:
            return None
        if not may(await state_now(conn, user_id)):
            return None
        await conn.execute(q("end_agent_state"), user_id)
        row = await conn.fetchrow(
            q("insert_agent_state"),
            user_id,
            client_id,
            new.state.value,
            new.reason,
            new.campaign_id,
            new.attempt_id,
        )
    assert row is not None
    return _period(row)


async def history(db: Db, user_id: int, client_id: int, limit: int) -> list[StatePeriod]:
    """The agent's state periods, newest first."""
    return [_period(r) for r in await db.fetch(q("agent_state_history"), user_id, client_id, limit)]


async def campaigns_of_agent(db: Db, user_id: int) -> list[AgentCampaign]:
    rows = await db.fetch(q("campaigns_of_agent"), user_id)
    return [
        AgentCampaign(r["id"], r["name"], r["queue"], r["wrapup_limit_s"], r["default_region"])
        for r in rows
    ]


def queues_of(campaigns: list[AgentCampaign]) -> list[str]:
    """The distinct queues of the campaigns, in their order."""
    return list(dict.fromkeys(c.queue for c in campaigns if c.queue))


async def agent_by_endpoint(db: Db, endpoint: str) -> tuple[int, int] | None:
    """(user id, client id) of the enabled agent with this phone."""
    row = await db.fetchrow(q("agent_by_endpoint"), endpoint)
    return None if row is None else (row["id"], row["client_id"])


@dataclass(frozen=True)
class OverdueAfterCall:
    period_id: int
    user_id: int
    client_id: int
    endpoint: str


async def after_calls_over(db: Db) -> list[OverdueAfterCall]:
    rows = await db.fetch(q("after_calls_over"))
    return [OverdueAfterCall(r["id"], r["user_id"], r["client_id"], r["endpoint"]) for r in rows]


async def client_queues(db: Db, client_id: int) -> list[ClientQueue]:
    rows = await db.fetch(q("client_queues"), client_id)
    return [ClientQueue(r["queue"], r["campaigns"]) for r in rows]


async def pause_reasons(db: Db, client_id: int) -> list[str]:
    return [r["reason"] for r in await db.fetch(q("pause_reasons"), client_id)]


async def add_pause_reason(db: Db, client_id: int, reason: str) -> None:
    await db.execute(q("add_pause_reason"), client_id, reason)


async def delete_pause_reason(db: Db, client_id: int, reason: str) -> bool:
    return await db.fetchval(q("delete_pause_reason"), client_id, reason) is not None


async def attempt_contact(db: Db, attempt_id: int, client_id: int) -> int | None:
    """The contact of the client's attempt."""
    found: int | None = await db.fetchval(q("attempt_contact"), attempt_id, client_id)
    return found


@dataclass(frozen=True)
class AfterCallPeriod:
    """One period of after-call work, as the history has it."""

    campaign_id: int
    seconds: float | None  # None: still open
    wrapup_limit_s: int  # its campaign's limit now
    result_code_id: int | None  # recorded for its call; None: none (yet)
    result_code: str | None  # that code's name


async def after_call_periods(
    conn: Conn, campaign_id: int | None, since: datetime, until: datetime
) -> list[AfterCallPeriod]:
    """The after-call work that began in [``since``, ``until``), of one campaign or of all
    (None), oldest first; read in a read-only transaction."""
    async with conn.transaction(readonly=True):
        rows = await conn.fetch(q("after_call_periods"), campaign_id, since, until)
    columns = ("campaign_id", "seconds", "wrapup_limit_s", "result_code_id", "result_code")
    return [AfterCallPeriod(*(r[c] for c in columns)) for r in rows]


@dataclass(frozen=True)
class FormAttempt:
    """An attempt as the result form shows it."""

    number: str
    campaign_zone: str
    recorded: bool  # it has a result already


async def attempt_for_result_form(db: Db, attempt_id: int, client_id: int) -> FormAttempt | None:
    row = await db.fetchrow(q("attempt_for_result_form"), attempt_id, client_id)
    return (
        None if row is None else FormAttempt(row["phone_number"], row["timezone"], row["recorded"])
    )
