"""The scheduler: which contacts of a campaign to dial now.

The claim itself is one SQL statement (``claim_contacts``: due contacts, ``FOR UPDATE SKIP
LOCKED``, a lease), so two dialerd processes on one database never get the same contact and a
crashed process's claims come back after the lease. The call window needs each number's time
zone and country (its calling hours), so it is checked here, after the claim: a contact
outside its window is released with ``dt_next_try`` at the window's next opening and is not
looked at again before then. The claim says which numbers are on a do-not-call list: they are
skipped, and a contact with no other number left is not dialled but stopped
(``DialerStore.stop_dnc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from dialerd.dialer.ports import DialerStore
from dialerd.dialer.rules import CallWindow, callee, dnc_stopped_slot, pick_slot
from dialerd.domain import Campaign, ClaimedContact

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DueCall:
    contact_id: int
    number: str
    slot: int  # 0-based


class Scheduler:
    def __init__(self, store: DialerStore) -> None:
        self.store = store

    async def due_calls(self, campaign: Campaign, limit: int, now: datetime) -> list[DueCall]:
        """Claims up to ``limit`` contacts and returns the calls to place now (possibly fewer:
        contacts outside their call window are released)."""
        if limit <= 0:
            return []
        window = CallWindow.of(campaign)
        calls: list[DueCall] = []
        later: list[tuple[int, datetime]] = []
        claimed = await self.store.claim(campaign.id, limit)
        await stop_dnc(self.store, campaign.id, claimed)
        for contact in claimed:
            slot = pick_slot(contact.slots, contact.next_number)
            if slot is None:  # stopped by the do-not-call lists (the claim needs a valid one)
                continue
            number = contact.slots[slot].number
            assert number is not None
            where = callee(number, campaign.timezone)
            if window.is_open(now, *where):
                calls.append(DueCall(contact.id, number, slot))
            else:
                later.append((contact.id, window.next_opening(now, *where)))
        await self.store.release(later)
        return calls


async def stop_dnc(store: DialerStore, campaign_id: int, claimed: list[ClaimedContact]) -> None:
    """Stops the claimed contacts whose every number left is on a do-not-call list."""
    stops = []
    for contact in claimed:
        slot = dnc_stopped_slot(contact.slots, contact.next_number)
        if slot is not None:
            number = contact.slots[slot].number
            assert number is not None
            stops.append((contact.id, number, slot))
    if stops:
        await store.stop_dnc(stops)
        for contact_id, _, slot in stops:
            log.info("contact_dnc", campaign_id=campaign_id, contact_id=contact_id, slot=slot)
