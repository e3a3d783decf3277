"""The dialer's port to Postgres: claims, attempt start and close, reconciliation, statistics.
Only named queries from ``sql/queries/dialer.sql``; the campaigns come from
``dialerd.store.campaigns``, the one loader of campaign records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from dialerd import metrics
from dialerd.domain import (
    DNC_DETAIL,
    AbandonCounts,
    ClaimedContact,
    ClosedAttempt,
    Contact,
    ContactState,
    Decide,
    DialableCampaign,
    OpenAttempt,
    StartedAttempt,
)
from dialerd.store import campaigns
from dialerd.store.pool import database_unavailable
from dialerd.store.slots import columns, slots_of
from dialerd.store.sqlfiles import q


class PostgresDialerStore:
    """The dialer's store port on Postgres."""

    def __init__(self, pool: asyncpg.Pool, instance_id: str, lease_seconds: float) -> None:
        self.pool = pool
        self.instance_id = instance_id
        self.lease_seconds = float(lease_seconds)

    def unavailable(self, exc: BaseException) -> bool:
        return database_unavailable(exc)

    async def campaigns(self) -> list[DialableCampaign]:
        async with self.pool.acquire() as conn:
            found = await campaigns.find(conn)
        # By id: the order in which campaigns get their share when the global caps bind.
        dialable = [d for c in found if (d := DialableCampaign.of(c)) is not None]
        return sorted(dialable, key=lambda c: c.id)

    async def claim(self, campaign_id: int, limit: int) -> list[ClaimedContact]:
        with metrics.CLAIM_SECONDS.time():
            rows = await self.pool.fetch(
                q("claim_contacts"), campaign_id, self.instance_id, self.lease_seconds, limit
            )
        claimed = [ClaimedContact(r["id"], slots_of(r), r["next_number"]) for r in rows]
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def release(self, due: Sequence[tuple[int, datetime]]) -> None:
        if due:
            ids, times = zip(*due, strict=True)
            await self.pool.execute(q("release_contacts"), list(ids), list(times), self.instance_id)

    async def start_attempts(
        self, starts: Sequence[tuple[int, str, int]], a_number: str | None, pbx: str
    ) -> list[StartedAttempt]:
        """Writes the history rows for (contact id, number, 0-based slot) before dialling
        through ``pbx``. Returns the attempts that may be dialled (contacts still ours, open
        and unlocked)."""
        if not starts:
            return []
        contact_ids, numbers, slots = zip(*starts, strict=True)
        rows = await self.pool.fetch(
            q("start_attempts"),
            list(contact_ids),
            list(numbers),
            [s + 1 for s in slots],
            a_number,
            self.instance_id,
            self.lease_seconds,
            pbx,
        )
        return [StartedAttempt(r["id"], r["contact_id"], r["dt_call_start"]) for r in rows]

    async def stop_dnc(self, stops: Sequence[tuple[int, str, int]]) -> None:
        if stops:
            contact_ids, numbers, slots = zip(*stops, strict=True)
            await self.pool.execute(
                q("stop_dnc_contacts"),
                list(contact_ids),
                list(numbers),
                [s + 1 for s in slots],
                self.instance_id,
                DNC_DETAIL,
            )

    async def mark_dialing(self, attempt_ids: Sequence[int]) -> None:
        if attempt_ids:
            await self.pool.execute(q("mark_dialing"), list(attempt_ids))

    async def close_attempts(self, closed: Sequence[ClosedAttempt], decide: Decide) -> None:
        """Closes attempts and moves their contacts on, in one transaction: history rows
        completed, contacts updated as ``decide`` says, claims released. A contact deleted
        meanwhile (its history went with it) is skipped."""
        if not closed:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(q("contacts_for_close"), [c.contact_id for c in closed])
            contacts = {r["id"]: r for r in rows}
            history = []
            updates = []
            for c in closed:
                o = c.outcome
                history.append(
                    (
                        c.attempt_id,
                        o.dt_alert,
                        o.dt_connect,
                        o.dt_agent_connect,
                        o.dt_end,
                        int(o.connres),
                        o.cause,
                        o.caller_hangup,
                        o.agent,
                        o.abandoned,
                        o.machine,
                        o.detail,
                        c.channel,
                    )
                )
                row = contacts.get(c.contact_id)
                if row is None or row["open_attempt_id"] != c.attempt_id:
                    continue
                up = decide(_contact(row), c, row["retry_minutes"] or {})
                _, tries, causes, end_reasons, invalid = columns(up.slots)
                updates.append(
                    (
                        c.contact_id,
                        tries,
                        causes,
                        end_reasons,
                        invalid,
                        up.next_number,
                        up.state.value,
                        up.attempts,
                        up.dt_next_try,
                        up.last_connres,
                        up.last_cause,
                        c.attempt_id,
                        up.last_result_mailbox,
                        up.callback_spent,
                        up.after_care_until,
                    )
                )
            await conn.executemany(q("close_attempt"), history)
            await conn.executemany(q("update_contact_after_attempt"), updates)
            await conn.execute(q("delete_called_offers"), [c.attempt_id for c in closed])

    async def renew_leases(self) -> None:
        await self.pool.execute(q("renew_leases"), self.instance_id, self.lease_seconds)

    async def hold_campaigns(self, pbx: str, campaign_ids: Sequence[int]) -> set[int]:
        rows = await self.pool.fetch(
            q("hold_campaigns"), self.instance_id, pbx, self.lease_seconds, list(campaign_ids)
        )
        return {r["campaign_id"] for r in rows}

    async def release_campaigns(self) -> None:
        await self.pool.execute(q("release_campaigns"), self.instance_id)

    async def take_over_open_attempts(self, pbx: str) -> list[OpenAttempt]:
        rows = await self.pool.fetch(
            q("take_over_open_attempts"), self.instance_id, self.lease_seconds, pbx
        )
        return [
            OpenAttempt(
                r["id"],
                r["contact_id"],
                r["campaign_id"],
                r["phone_number_offset"] - 1,
                r["status"],
                r["dt_call_start"],
            )
            for r in rows
        ]

    async def abandon_counts(self, since: datetime) -> dict[int, AbandonCounts]:
        return await abandon_counts(self.pool, since)


async def abandon_counts(pool: asyncpg.Pool, since: datetime) -> dict[int, AbandonCounts]:
    """Live answers and abandons per campaign since ``since`` and since its local midnight
    (the engine's start-up, the wallboard's abandon rates)."""
    rows = await pool.fetch(q("abandon_counts"), since)
    return {
        r["campaign_id"]: AbandonCounts(
            r["answered_window"],
            r["abandoned_window"],
            r["answered_today"],
            r["abandoned_today"],
        )
        for r in rows
    }


def _contact(row: asyncpg.Record) -> Contact:
    return Contact(
        id=row["id"],
        slots=slots_of(row),
        state=ContactState(row["state"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        min_call_interval_h=row["min_call_interval_h"],
        never_due=row["never_due"],
    )
