"""What the console and the contacts API do to call tasks, in one place: the per-contact
actions (one contact, by ID or UserData), the search of a campaign's contacts, the same
actions on everything a search matches, and a contact's page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import structlog

from dialerd.contacts.search import PAGE_SIZE, Page, Search, make_page
from dialerd.domain import Campaign, ContactAction, ContactFilter, ContactSort, NumberSlot
from dialerd.store import contact_search, contacts
from dialerd.store.slots import slots_of

log = structlog.get_logger(__name__)

Row = asyncpg.Record

EVENTS = {
    ContactAction.LOCK: "contact_locked",
    ContactAction.UNLOCK: "contact_unlocked",
    ContactAction.RESET: "contact_reset",
    ContactAction.DELETE: "contact_deleted",
}


async def act_on_contact(
    pool: asyncpg.Pool, client_id: int, key: contacts.Key, action: ContactAction
) -> int | None:
    """Locks, unlocks, resets (as if just imported) or deletes one contact; its ID, or None
    if the client has no such contact. Raises ContactConflict (reset). A call in progress is
    not cut (docs/contacts-api.md)."""
    contact_id = await contacts.act_on_contact(pool, client_id, key, action)
    if contact_id is not None:
        log.info(EVENTS[action], client_id=client_id, contact_id=contact_id)
    return contact_id


async def act_on_matching(
    pool: asyncpg.Pool, client_id: int, f: ContactFilter, action: ContactAction
) -> int:
    """The same action on every contact ``f`` matches, in one transaction; how many."""
    done = await contact_search.act_on_matching(pool, client_id, f, action)
    log.info(EVENTS[action], client_id=client_id, campaign_id=f.campaign_id, contacts=done)
    return done


@dataclass(frozen=True)
class Matches:
    total: int
    calling: int  # being called right now


async def count_matching(pool: asyncpg.Pool, client_id: int, f: ContactFilter) -> Matches:
    return Matches(*await contact_search.count(pool, client_id, f))


async def campaign(pool: asyncpg.Pool, client_id: int, campaign_id: int) -> Campaign | None:
    """The client's campaign (None for another client's: it does not exist for them)."""
    return await contacts.find_campaign(pool, client_id, campaign_id, None)


def _position(sort: ContactSort) -> Callable[[Row], tuple[str | None, int]]:
    if sort is ContactSort.ID:
        return lambda row: (None, row["id"])
    return lambda row: (row["sort_key"], row["id"])


async def search(pool: asyncpg.Pool, client_id: int, s: Search) -> Page[Row]:
    """One page of the search, in its order."""
    cursor = s.cursor
    start = None if cursor is None else (cursor.key, cursor.id)
    rows = await contact_search.page(
        pool, client_id, s.filter, s.sort, s.ascending_walk, start, PAGE_SIZE + 1
    )
    return make_page(s, rows, _position(s.sort))


@dataclass(frozen=True)
class ContactView:
    """A contact's page: its row, campaign, numbers with their state, and every attempt."""

    contact: Row
    campaign: Campaign
    slots: tuple[NumberSlot, ...]
    attempts: list[Row]


async def contact_view(pool: asyncpg.Pool, client_id: int, contact_id: int) -> ContactView | None:
    found = await contacts.find_contacts(pool, client_id, contact_id)
    if not found:
        return None
    row = found[0]
    owner = await campaign(pool, client_id, row["campaign_id"])
    attempts = await contacts.contact_history(pool, client_id, contact_id)
    if owner is None or attempts is None:  # deleted meanwhile
        return None
    return ContactView(row, owner, slots_of(row), attempts)
