"""Campaigns in the store, through the named queries of campaigns.sql: settings in, and out as
``dialerd.domain.Campaign``, which only ``find`` loads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from dialerd.domain import Campaign, DialMode, MachineAction
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    """A connection of its own or one lent by the pool."""

COLUMNS = (
    "name",
    "queue",
    "dial_string",
    "caller_id",
    "dial_mode",
    "dial_ratio",
    "max_lines_per_agent",
    "abandon_limit",
    "aggressiveness",
    "max_calls_in_flight",
    "max_originate_rate",
    "ring_timeout_s",
    "agent_timeout_s",
    "wrapup_limit_s",
    "amd_enabled",
    "machine_action",
    "window_start",
    "window_end",
    "window_days",
    "timezone",
    "default_region",
    "max_attempts",
    "min_call_interval_h",
    "retry_minutes",
    "callback_grace_s",
    "abandon_after_care",
    "call_hours_override",
    "active",
)
"""The settable columns, in the parameter order of campaign_insert and campaign_update."""
ID_MAX = 2**31 - 1  # campaigns.id is an integer: a larger ID names no campaign


def _params(values: Mapping[str, Any]) -> list[Any]:
    return [values[column] for column in COLUMNS]


async def insert(
    conn: Conn, client_id: int, campaign_id: int | None, values: Mapping[str, Any]
) -> Campaign:
    """Creates a campaign; raises asyncpg.UniqueViolationError for a taken name or id."""
    async with conn.transaction():
        new_id = await conn.fetchval(q("campaign_insert"), campaign_id, client_id, *_params(values))
        if campaign_id is not None:
            await conn.execute(q("campaign_sync_id_sequence"))
        created = await get(conn, client_id, new_id)
    assert created is not None  # inserted in this transaction
    return created


async def update(
    conn: Conn, client_id: int, campaign_id: int, values: Mapping[str, Any]
) -> Campaign | None:
    await conn.execute(q("campaign_update"), campaign_id, client_id, *_params(values))
    return await get(conn, client_id, campaign_id)


async def get(
    conn: Conn, client_id: int, campaign_id: int, *, for_update: bool = False
) -> Campaign | None:
    """The client's campaign; ``for_update`` locks it until the end of the transaction."""
    if not 0 < campaign_id <= ID_MAX:
        return None
    if for_update:
        await conn.execute(q("campaign_lock"), campaign_id, client_id)
    found = await find(conn, client_id, campaign_id=campaign_id)
    return found[0] if found else None


async def find(
    conn: Conn,
    client_id: int | None = None,
    *,
    campaign_id: int | None = None,
    name: str | None = None,
) -> list[Campaign]:
    """Campaigns by name: the client's (every client's with None), only the one with that ID
    or that name where given."""
    if campaign_id is not None and not 0 < campaign_id <= ID_MAX:
        return []
    return [
        _campaign(row) for row in await conn.fetch(q("campaigns"), client_id, campaign_id, name)
    ]


def _campaign(row: asyncpg.Record) -> Campaign:
    values: dict[str, Any] = dict(row)
    values["dial_mode"] = DialMode(values["dial_mode"])
    values["machine_action"] = MachineAction(values["machine_action"])
    values["window_days"] = tuple(values["window_days"])
    return Campaign(**values)
