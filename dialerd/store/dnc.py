"""The do-not-call lists in Postgres (``dnc_numbers``, migration 0022): a client's, or the
installation's (``client_id`` None). Numbers come in E.164, checked by the caller. A file's
numbers are copied in (``COPY``) and put on the list in one statement, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import asyncpg

from dialerd.domain import DncEntry
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from typing import TypeAlias

    from dialerd.store.campaigns import Conn

    Db: TypeAlias = Conn | asyncpg.Pool[asyncpg.Record]


def _entry(row: asyncpg.Record) -> DncEntry:
    return DncEntry(row["client_id"], row["number"], row["source"], row["added_at"])


async def add(conn: Db, client_id: int | None, numbers: Sequence[str], source: str) -> int:
    """Puts ``numbers`` on the list; how many were not on it yet."""
    added: int = await conn.fetchval(q("dnc_add"), client_id, list(numbers), source)
    return added


async def remove(conn: Db, client_id: int | None, numbers: Sequence[str]) -> list[str]:
    """Takes ``numbers`` off the list; those that were on it."""
    rows = await conn.fetch(q("dnc_remove"), client_id, list(numbers))
    return sorted(r["number"] for r in rows)


async def entries(conn: Db, client_id: int | None, numbers: Sequence[str]) -> list[DncEntry]:
    rows = await conn.fetch(q("dnc_entries"), client_id, list(numbers))
    return [_entry(r) for r in rows]


async def page(
    conn: Db, client_id: int | None, prefix: str, offset: int, limit: int
) -> tuple[list[DncEntry], int]:
    """The entries whose number starts with ``prefix`` (digits and ``+`` only), from the
    ``offset``-th on, at most ``limit``; and how many there are in all."""
    rows = await conn.fetch(q("dnc_page"), client_id, prefix, offset, limit)
    total: int = await conn.fetchval(q("dnc_count"), client_id, prefix)
    return [_entry(r) for r in rows], total


async def load(conn: Conn, client_id: int | None, numbers: Iterable[str], source: str) -> int:
    """Puts a file's numbers (each once) on the list, all or none; how many were not on it
    yet."""
    async with conn.transaction():
        await conn.execute(q("dnc_load_table"))
        await conn.copy_records_to_table("dnc_load", records=((n,) for n in numbers))
        await conn.execute(q("dnc_load_lock"))
        status = await conn.execute(q("dnc_load_insert"), client_id, source)
    return int(status.rsplit(" ", 1)[1])  # INSERT 0 <rows>
