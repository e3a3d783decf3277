"""The engines' live views and the supervisors' actions on agents, on Postgres (named queries
of ``sql/queries/live.sql``): the engine's live-store port, and what the wallboard reads.

Two NOTIFY channels: ``dialerd_live`` (an instance's view changed; payload: the instance; or
a workspace agent's state: ``agent <user id>``, from ``store/agents.py``) and
``dialerd_agent_commands`` (an action waits for an instance; payload: the instance). Each
listener has a connection of its own, outside the pool: LISTEN belongs to one session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dialerd.domain import (
    AFTER_CALL_REASON,
    AgentAction,
    AgentActionKind,
    AgentCommand,
    AgentSeconds,
    AgentStatus,
    NumberSlot,
    Transfer,
    TransferKind,
)
from dialerd.store import agents
from dialerd.store.pool import connect
from dialerd.store.slots import slots_of
from dialerd.store.sqlfiles import q

LIVE_CHANNEL = "dialerd_live"
COMMAND_CHANNEL = "dialerd_agent_commands"
COMMAND_MAX_AGE_S = 30.0  # an action not taken by then is not carried out at all


class Listener:
    """LISTEN on one channel with a connection of its own: :meth:`wait` returns when a
    notification came (for ``payload`` only, if given) or after ``wait_s``. A lost
    connection is opened again on the next wait."""

    def __init__(self, dsn: str, channel: str, payload: str | None = None) -> None:
        self.dsn = dsn
        self.channel = channel
        self.payload = payload
        self._conn: asyncpg.Connection | None = None
        self._woken = asyncio.Event()

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if self.payload is None or payload == self.payload:
            self._woken.set()

    async def start(self) -> None:
        if self._conn is None or self._conn.is_closed():
            again = self._conn is not None
            conn = await connect(self.dsn)
            await conn.add_listener(self.channel, self._notified)
            self._conn = conn
            if again:
                self._woken.set()  # what changed while nobody listened is unknown

    async def wait(self, wait_s: float, stop: asyncio.Event | None = None) -> bool:
        """True when notified (or (re)connected), False after ``wait_s`` without a word (or
        as soon as ``stop`` is set)."""
        await self.start()
        waits = [asyncio.ensure_future(self._woken.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        woken = self._woken.is_set()
        self._woken.clear()
        return woken

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()


class PostgresLiveStore:
    """The engine's live-store port on Postgres."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, instance_id: str) -> None:
        self.pool = pool
        self.instance_id = instance_id
        self._commands = Listener(dsn, COMMAND_CHANNEL, instance_id)

    async def publish(self, view: Mapping[str, object]) -> None:
        await self.pool.execute(q("publish_live_view"), self.instance_id, view)

    async def withdraw(self) -> None:
        await self.pool.execute(q("withdraw_live_view"), self.instance_id)
        await self._commands.close()

    async def add_agent_seconds(self, rows: Sequence[AgentSeconds]) -> None:
        if not rows:
            return
        await self.pool.execute(
            q("add_agent_seconds"),
            self.instance_id,
            [r.minute for r in rows],
            [r.campaign_id for r in rows],
            [r.agent for r in rows],
            [r.talk_s for r in rows],
            [r.wrapup_s for r in rows],
            [r.ready_s for r in rows],
            [r.paused_s for r in rows],
        )

    async def next_commands(self, wait_s: float) -> list[AgentCommand]:
        await self._commands.start()  # listening before looking: a row cannot slip between
        found = await self._take()
        if not found and await self._commands.wait(wait_s):
            found = await self._take()
        return found

    async def _take(self) -> list[AgentCommand]:
        rows = await self.pool.fetch(q("take_agent_commands"), self.instance_id, COMMAND_MAX_AGE_S)
        return [
            AgentCommand(
                r["id"],
                AgentAction(
                    AgentActionKind(r["action"]),
                    r["queue"],
                    r["agent"],
                    r["reason"],
                    r["phone"],
                    r["member_name"],
                    None
                    if r["transfer_kind"] is None
                    else Transfer(
                        TransferKind(r["transfer_kind"]),
                        r["transfer_target"],
                        r["transfer_attempt_id"],
                    ),
                ),
            )
            for r in rows
        ]

    async def finish_command(self, command_id: int, error: str | None) -> None:
        await self.pool.execute(q("finish_agent_command"), command_id, error)

    async def start_after_call(self, agent: str, campaign_id: int, attempt_id: int) -> list[str]:
        found = await agents.agent_by_endpoint(self.pool, agent)
        if found is None:
            return []
        user_id, client_id = found
        new = agents.NewState(AgentStatus.AFTER_CALL, AFTER_CALL_REASON, campaign_id, attempt_id)

        def was_ready(now: agents.StatePeriod | None) -> bool:
            return now is not None and now.state is AgentStatus.READY

        if await agents.move(self.pool, user_id, client_id, new, was_ready) is None:
            return []
        return agents.queues_of(await agents.campaigns_of_agent(self.pool, user_id))

    async def end_after_calls(self) -> list[tuple[str, list[str]]]:
        ended = []
        for over in await agents.after_calls_over(self.pool):

            def still_it(now: agents.StatePeriod | None, period_id: int = over.period_id) -> bool:
                return now is not None and now.id == period_id

            ready = agents.NewState(AgentStatus.READY)
            if await agents.move(self.pool, over.user_id, over.client_id, ready, still_it):
                queues = agents.queues_of(await agents.campaigns_of_agent(self.pool, over.user_id))
                ended.append((over.endpoint, queues))
        return ended


# -- what the wallboard reads ---------------------------------------------------------------


@dataclass(frozen=True)
class StoredView:
    instance_id: str
    view: dict[str, Any]
    age_s: float  # since it was last written, by the database's clock


async def live_views(pool: asyncpg.Pool) -> list[StoredView]:
    rows = await pool.fetch(q("live_views"))
    return [StoredView(r["instance_id"], r["view"], r["age_s"]) for r in rows]


async def insert_command(
    pool: asyncpg.Pool, instance_id: str, client_id: int, user_id: int | None, action: AgentAction
) -> int:
    """Queues ``action`` for ``instance_id`` and wakes it; returns the command's id."""
    transfer = action.transfer
    row = await pool.fetchrow(
        q("insert_agent_command"),
        instance_id,
        client_id,
        user_id,
        action.kind.value,
        action.queue,
        action.agent,
        action.reason,
        action.phone,
        action.member_name,
        transfer.kind.value if transfer else None,
        transfer.target if transfer else None,
        transfer.attempt_id if transfer else None,
    )
    assert row is not None
    return int(row["id"])


@dataclass(frozen=True)
class CommandState:
    taken: bool
    done: bool
    error: str | None


async def command_state(pool: asyncpg.Pool, command_id: int, client_id: int) -> CommandState | None:
    row = await pool.fetchrow(q("agent_command"), command_id, client_id)
    if row is None:
        return None
    return CommandState(row["taken_at"] is not None, row["done_at"] is not None, row["error"])


@dataclass(frozen=True)
class DueContact:
    id: int
    name: str | None
    slots: tuple[NumberSlot, ...]
    next_number: int
    dt_next_try: datetime | None


async def next_due_contacts(pool: asyncpg.Pool, campaign_id: int, limit: int) -> list[DueContact]:
    rows = await pool.fetch(q("next_due_contacts"), campaign_id, limit)
    return [
        DueContact(r["id"], r["name"], slots_of(r), r["next_number"], r["dt_next_try"])
        for r in rows
    ]


async def dialable_left(pool: asyncpg.Pool, campaign_ids: Sequence[int]) -> dict[int, int]:
    rows = await pool.fetch(q("dialable_left"), list(campaign_ids))
    return {r["campaign_id"]: r["dialable"] for r in rows}


@dataclass(frozen=True)
class DayBin:
    at: datetime
    talk_s: float = 0.0
    wrapup_s: float = 0.0
    ready_s: float = 0.0
    answered: int = 0
    abandoned: int = 0


async def day_bins(
    pool: asyncpg.Pool, campaign_ids: Sequence[int], since: datetime, bin_s: int
) -> list[DayBin]:
    """Agent seconds and abandons of the campaigns since ``since``, per ``bin_s`` seconds."""
    ids = list(campaign_ids)
    bins: dict[datetime, dict[str, Any]] = {}
    for r in await pool.fetch(q("occupancy_by_bin"), ids, since, bin_s):
        bins.setdefault(r["at"], {}).update(
            talk_s=r["talk_s"], wrapup_s=r["wrapup_s"], ready_s=r["ready_s"]
        )
    for r in await pool.fetch(q("abandons_by_bin"), ids, since, bin_s):
        bins.setdefault(r["at"], {}).update(answered=r["answered"], abandoned=r["abandoned"])
    return [DayBin(at, **values) for at, values in sorted(bins.items())]
