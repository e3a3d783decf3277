"""Preview offers on Postgres (named queries of ``sql/queries/preview.sql``): the engine's
preview-store port, and what the workspace does with an offer (Skip, a manual call).

An offered contact is claimed by the engine that offered it (``claimed_by``, with the lease
every claim has); the offer row says for whom. A Skip or a withdrawal gives the claim back in
the same transaction that deletes the offer, so a contact is never offered and free at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import asyncpg

from dialerd.domain import AgentClaim, ClaimedContact, PreviewOffer, ReadyAgent
from dialerd.store.slots import slots_of
from dialerd.store.sqlfiles import q

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]


class OfferError(Exception):
    """What the agent asked of its offer cannot be done; the message says why."""


def _offer(row: asyncpg.Record) -> PreviewOffer:
    return PreviewOffer(
        row["user_id"],
        row["contact_id"],
        row["campaign_id"],
        row["slot"],
        row["number"],
        row["instance_id"],
        row["offered_at"],
        row["attempt_id"],
        row["callback"],
        row["manual"],
    )


async def _withdraw(conn: Conn, offer: PreviewOffer, due: datetime | None, to_anyone: bool) -> None:
    """Deletes the offer and gives its contact back (due at ``due``; None: as it was); a
    manual call's contact, never called, is deleted."""
    await conn.execute(q("delete_offer"), offer.user_id)
    if offer.manual:
        await conn.execute(q("delete_manual_contact"), offer.contact_id)
    else:
        await conn.execute(
            q("release_offered_contact"), offer.contact_id, offer.instance_id, due, to_anyone
        )


class PostgresPreviewStore:
    """The engine's preview-store port on Postgres."""

    def __init__(self, pool: asyncpg.Pool, instance_id: str, lease_seconds: float) -> None:
        self.pool = pool
        self.instance_id = instance_id
        self.lease_seconds = float(lease_seconds)

    async def withdraw_offers(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(q("drop_stale_offers"))
            for r in await conn.fetch(q("unready_offers"), self.instance_id):
                await _withdraw(conn, _offer(r), None, False)

    async def ready_agents(self, campaign_ids: Sequence[int]) -> list[ReadyAgent]:
        rows = await self.pool.fetch(q("ready_agents"), list(campaign_ids))
        return [
            ReadyAgent(
                r["id"],
                r["client_id"],
                r["endpoint"],
                r["started_at"],
                tuple(r["campaign_ids"]),
                r["has_offer"],
                r["callback_due"],
            )
            for r in rows
        ]

    async def claim_for_agent(
        self, user_id: int, callback_campaigns: Sequence[int], preview_campaigns: Sequence[int]
    ) -> AgentClaim | None:
        row = await self.pool.fetchrow(
            q("claim_for_agent"),
            user_id,
            list(callback_campaigns),
            list(preview_campaigns),
            self.instance_id,
            self.lease_seconds,
        )
        if row is None:
            return None
        contact = ClaimedContact(row["id"], slots_of(row), row["next_number"])
        return AgentClaim(contact, row["campaign_id"], row["callback"])

    async def offer(self, agent: ReadyAgent, claim: AgentClaim, slot: int, number: str) -> bool:
        row = await self.pool.fetchrow(
            q("insert_offer"),
            agent.user_id,
            agent.client_id,
            claim.contact.id,
            claim.campaign_id,
            slot,
            number,
            self.instance_id,
            claim.callback,
            False,
        )
        return row is not None

    async def offer_of(self, endpoint: str) -> PreviewOffer | None:
        row = await self.pool.fetchrow(q("offer_of_endpoint"), endpoint)
        return None if row is None else _offer(row)

    async def calling(self, user_id: int, attempt_id: int) -> None:
        await self.pool.execute(q("offer_calling"), user_id, attempt_id)


# -- the workspace's side -------------------------------------------------------------------


async def offer_of_user(pool: asyncpg.Pool, user_id: int) -> PreviewOffer | None:
    row = await pool.fetchrow(q("offer_of_user"), user_id)
    return None if row is None else _offer(row)


async def skip(pool: asyncpg.Pool, user_id: int, contact_id: int) -> PreviewOffer:
    """The agent skips its offer of ``contact_id``: the contact is given back, due again after
    its retry interval; the agent's own callback goes to anyone instead (due as it was); a
    manual call's contact is deleted. Raises :class:`OfferError` when there is no such offer
    or it is being called."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(q("lock_offer_of_user"), user_id)
        offer = None if row is None else _offer(row)
        if offer is None or offer.contact_id != contact_id:
            raise OfferError("That contact is not offered to you (any more)")
        if offer.attempt_id is not None:
            raise OfferError("That contact is being called: hang up instead")
        due = None if offer.callback else await conn.fetchval(q("skip_due"), contact_id)
        await _withdraw(conn, offer, due, offer.callback)
    return offer


async def manual_offer(
    pool: asyncpg.Pool,
    user_id: int,
    client_id: int,
    campaign_id: int,
    name: str,
    number: str,
    instance_id: str,
    lease_seconds: float,
) -> int:
    """A manual call's contact in ``campaign_id`` (claimed by ``instance_id``), offered to the
    agent in place of the offer it held (whose contact is given back, due as it was); returns
    the contact. Raises :class:`OfferError` while the agent's offer is being called."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(q("lock_offer_of_user"), user_id)
        if row is not None:
            held = _offer(row)
            if held.attempt_id is not None:
                raise OfferError("You are on a call")
            await _withdraw(conn, held, None, False)
        contact_id: int = await conn.fetchval(
            q("insert_manual_contact"), campaign_id, name, number, instance_id, lease_seconds
        )
        inserted = await conn.fetchrow(
            q("insert_offer"),
            user_id,
            client_id,
            contact_id,
            campaign_id,
            0,
            number,
            instance_id,
            False,
            True,
        )
        if inserted is None:  # another manual call of the agent's came first
            raise OfferError("You have just placed another call")
    return contact_id
