"""The console's call task search in the store: pages in keyset order, counts, and the ids
an action on everything a search matches acts on. Named queries of
``sql/queries/contact_search.sql``; the conditions are the SQL function ``contact_matches``
(migration 0010), so a page, its count and its action cannot disagree on what matches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from dialerd.domain import ContactAction, ContactFilter, ContactSort
from dialerd.store.contacts import act
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from dialerd.store.campaigns import Conn

Row = asyncpg.Record
Position = tuple[str | None, int]
"""Where a page starts: the sort key (None when sorting by id) and the id, exclusive."""


async def arguments(conn: Conn, client_id: int, f: ContactFilter) -> tuple[Any, ...]:
    """contact_matches' arguments. Plans are made with them known (force_custom_plans)."""
    await conn.execute(q("force_custom_plans"))
    ids = None
    if f.number is not None:
        ids = await conn.fetchval(q("contact_ids_with_number"), f.campaign_id, f.number) or []
    return (
        f.campaign_id,
        client_id,
        f.name_like,
        ids,
        f.customer,
        None if f.state is None else f.state.value,
        None if f.connres is None else int(f.connres),
        f.next_from,
        f.next_to,
    )


async def page(
    pool: asyncpg.Pool,
    client_id: int,
    f: ContactFilter,
    sort: ContactSort,
    ascending: bool,
    start: Position | None,
    limit: int,
) -> list[Row]:
    """Up to ``limit`` contacts in the order of ``sort`` (``ascending`` or not) after
    ``start`` in that order; each row has ``sort_key`` too, except by id."""
    name = f"contact_page_{sort.value}_{'asc' if ascending else 'desc'}"
    key, after = start if start is not None else (None, None)
    at = (after,) if sort is ContactSort.ID else (key, after)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        conditions = await arguments(conn, client_id, f)
        return list(await conn.fetch(q(name), *conditions, *at, limit))


async def count(pool: asyncpg.Pool, client_id: int, f: ContactFilter) -> tuple[int, int]:
    """How many contacts ``f`` matches (none in another client's campaign), and how many of
    them are being called right now."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        conditions = await arguments(conn, client_id, f)
        row = await conn.fetchrow(q("contact_count_matching"), *conditions)
    assert row is not None  # an aggregate
    return row["matching"], row["calling"]


async def act_on_matching(
    pool: asyncpg.Pool, client_id: int, f: ContactFilter, action: ContactAction
) -> int:
    """Does ``action`` to every contact ``f`` matches, in one transaction: all or, on an
    error (ContactConflict), none. How many it did it to."""
    async with pool.acquire() as conn, conn.transaction():
        conditions = await arguments(conn, client_id, f)
        ids = [r["id"] for r in await conn.fetch(q("contact_ids_matching"), *conditions)]
        return len(await act(conn, client_id, ids, action)) if ids else 0
