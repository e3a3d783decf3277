"""Contacts (= call tasks) in the store: the dialler contacts API's operations.

Every operation is scoped to one client: a contact is visible only through a campaign of that
client. A contact is addressed by a ``Key``: its ID, or its UserData, in which case the contact
with the lowest ID among the client's matches is taken.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from dialerd.domain import MAX_PHONE_NUMBERS, Campaign, ContactAction, NumberSlot
from dialerd.numbers import normalize
from dialerd.store import campaigns
from dialerd.store.slots import columns, slots_of
from dialerd.store.sqlfiles import q

Key = int | str
"""A contact's ID (int) or UserData (str)."""

Row = asyncpg.Record


class ContactRejected(Exception):
    """The request cannot be applied to the contact as sent (the API's 400)."""


class ContactConflict(Exception):
    """The change collides with another contact (the API's 409)."""


@dataclass
class Changes:
    """The writable fields a request sent, validated by type; a field not sent is not a key.

    ``numbers`` maps a 0-based slot (PhoneNumber<slot+1>) to the number as sent, None or ""
    meaning "empty this slot"; they are normalised with the campaign's region on write.
    """

    name: str | None = None
    user_data: str | None = None
    sent_user_data: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    numbers: dict[int, str | None] = field(default_factory=dict)


def normalize_numbers(sent: Mapping[int, str | None], region: str | None) -> dict[int, str | None]:
    """E.164 for every number sent; None for an emptied slot. Raises ContactRejected."""
    out: dict[int, str | None] = {}
    for slot, raw in sent.items():
        if raw is None or not raw.strip():
            out[slot] = None
            continue
        number = normalize(raw, region)
        if number is None:
            reason = f"PhoneNumber{slot + 1} is not a possible phone number: {raw[:40]!r}"
            if region is None and not raw.lstrip().startswith(("+", "00")):
                reason += " (no +country code, and the campaign has no default region)"
            raise ContactRejected(reason)
        out[slot] = number
    return out


def merge_numbers(
    current: Sequence[NumberSlot], sent: Mapping[int, str | None]
) -> tuple[NumberSlot, ...]:
    """``current`` with the normalised numbers ``sent`` put in their slots.

    A slot whose number changes starts afresh (no tries, no cause, valid); trailing empty slots
    are dropped. Raises ContactRejected if no number is left.
    """
    merged = list(current) + [NumberSlot(None)] * (MAX_PHONE_NUMBERS - len(current))
    for slot, number in sent.items():
        if number != merged[slot].number:
            merged[slot] = NumberSlot(number)
    size = max((i + 1 for i, s in enumerate(merged) if s.number is not None), default=0)
    if size == 0:
        raise ContactRejected("A contact needs at least one phone number (PhoneNumber1..6)")
    return tuple(merged[:size])


async def find_campaign(
    pool: asyncpg.Pool, client_id: int, campaign_id: int | None, name: str | None
) -> Campaign | None:
    """The client's campaign by ID, else by name. With both, they must name the same one."""
    async with pool.acquire() as conn:
        if campaign_id is None:
            found = await campaigns.find(conn, client_id, name=name)
        else:
            found = await campaigns.find(conn, client_id, campaign_id=campaign_id)
    if found and name is not None and found[0].name != name:
        raise ContactRejected(
            f"DiallerCampaignsID {campaign_id} and DiallerCampaignsName {name!r} "
            "name different campaigns"
        )
    return found[0] if found else None


async def _target(conn: PoolConnectionProxy[Row], client_id: int, key: Key) -> int | None:
    """The ID of the contact ``key`` addresses; by ID it is checked by the statement using it."""
    if isinstance(key, int):
        return key
    found: int | None = await conn.fetchval(q("contact_id_by_user_data"), key, client_id)
    return found


async def find_contacts(pool: asyncpg.Pool, client_id: int, key: Key) -> list[Row]:
    """The contact with that ID, or all the client's contacts with that UserData."""
    if isinstance(key, int):
        row = await pool.fetchrow(q("contact_by_id"), key, client_id)
        return [] if row is None else [row]
    return list(await pool.fetch(q("contacts_by_user_data"), key, client_id))


async def stream_contacts(
    pool: asyncpg.Pool, client_id: int, campaign_id: int | None, batch: int = 1000
) -> AsyncGenerator[list[Row], None]:
    """All the client's contacts (or one campaign's), by ID, in batches from a server-side
    cursor: memory stays flat however many there are. One consistent snapshot throughout.

    Use with ``contextlib.aclosing`` so that a client that goes away frees the connection.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if campaign_id is None:
            cursor = await conn.cursor(q("contacts_of_client"), client_id)
        else:
            cursor = await conn.cursor(q("contacts_of_campaign"), campaign_id)
        while rows := await cursor.fetch(batch):
            yield rows


async def _overwrite(conn: PoolConnectionProxy[Row], row: Row, changes: Changes) -> Row:
    """Applies ``changes`` to a contact row locked by contact_for_update."""
    sent = normalize_numbers(changes.numbers, row["campaign_region"])
    slots = merge_numbers(slots_of(row), sent)
    next_number = row["next_number"] if row["next_number"] < len(slots) else 0
    updated = await conn.fetchrow(
        q("contact_update"),
        row["id"],
        row["name"] if changes.name is None else changes.name,
        changes.user_data if changes.sent_user_data else row["user_data"],
        changes.data,
        *columns(slots),
        next_number,
    )
    assert updated is not None  # the row is locked by this transaction
    return updated


async def act(
    conn: PoolConnectionProxy[Row], client_id: int, ids: list[int], action: ContactAction
) -> list[int]:
    """Does ``action`` to the client's contacts ``ids`` in one statement; the ids it did it to
    (a contact of another client, or gone, is left out). Raises ContactConflict (reset)."""
    if action is ContactAction.DELETE:
        rows = await conn.fetch(q("contacts_delete"), ids, client_id)
    elif action is ContactAction.RESET:
        try:
            rows = await conn.fetch(q("contacts_reset"), ids, client_id)
        except asyncpg.UniqueViolationError as exc:
            # Reopening a done call task while the same system + customer has another open
            # one in the campaign (the calltask API's idempotency key).
            raise ContactConflict(
                "Contact cannot be reset: another open call task of the same system and "
                "customer exists in this campaign"
            ) from exc
    else:
        locked = action is ContactAction.LOCK
        rows = await conn.fetch(q("contacts_set_locked"), ids, client_id, locked)
    return [r["id"] for r in rows]


async def import_contact(
    pool: asyncpg.Pool,
    client_id: int,
    campaign: Campaign,
    changes: Changes,
    *,
    overwrite: bool,
    reset: bool,
    unlock: bool,
) -> Row:
    """A new contact; or, with ``overwrite`` and a contact of the same campaign with the same
    UserData, that contact overwritten (then reset and/or unlocked if asked)."""
    async with pool.acquire() as conn, conn.transaction():
        row = None
        if overwrite and changes.user_data is not None:
            await conn.execute(q("contact_lock_import_key"), campaign.id, changes.user_data)
            existing = await conn.fetchval(q("contact_duplicate"), campaign.id, changes.user_data)
            if existing is not None:
                row = await conn.fetchrow(q("contact_for_update"), existing, client_id)
        if row is None:
            numbers = normalize_numbers(changes.numbers, campaign.default_region)
            slots = merge_numbers((), numbers)
            data = {k: v for k, v in changes.data.items() if v is not None}
            created = await conn.fetchrow(
                q("contact_insert"),
                campaign.id,
                changes.name,
                changes.user_data,
                data,
                [s.number for s in slots],
            )
            assert created is not None  # the campaign was just found; campaigns are not deleted
            return created
        row = await _overwrite(conn, row, changes)
        if not (reset or unlock):
            return row
        if reset:
            await act(conn, client_id, [row["id"]], ContactAction.RESET)
        if unlock:
            await act(conn, client_id, [row["id"]], ContactAction.UNLOCK)
        again = await conn.fetchrow(q("contact_by_id"), row["id"], client_id)
        assert again is not None  # locked by this transaction since contact_for_update
        return again


async def update_contact(
    pool: asyncpg.Pool, client_id: int, key: Key, changes: Changes
) -> Row | None:
    """The contact with only the sent fields changed; None if there is no such contact."""
    async with pool.acquire() as conn, conn.transaction():
        contact_id = await _target(conn, client_id, key)
        row = None
        if contact_id is not None:
            row = await conn.fetchrow(q("contact_for_update"), contact_id, client_id)
        return None if row is None else await _overwrite(conn, row, changes)


async def act_on_contact(
    pool: asyncpg.Pool, client_id: int, key: Key, action: ContactAction
) -> int | None:
    """Does ``action`` to the contact ``key`` addresses (lock, unlock, reset as if just
    imported, delete with its history); its ID, or None if there is no such contact."""
    async with pool.acquire() as conn, conn.transaction():
        contact_id = await _target(conn, client_id, key)
        if contact_id is None or not await act(conn, client_id, [contact_id], action):
            return None
        return contact_id


async def contact_history(pool: asyncpg.Pool, client_id: int, key: Key) -> list[Row] | None:
    """The call attempts of the contact (by ID) or of all the client's contacts with that
    UserData; None if there is no such contact."""
    async with pool.acquire() as conn:
        if isinstance(key, int):
            if await conn.fetchrow(q("contact_by_id"), key, client_id) is None:
                return None
            return list(await conn.fetch(q("contact_history"), key))
        if await _target(conn, client_id, key) is None:
            return None
        return list(await conn.fetch(q("contact_history_by_user_data"), key, client_id))
