"""The dialer's port to Postgres: claims, attempt start and close, reconciliation, statistics.
Only named queries from ``sql/queries/dialer.sql``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import asyncpg

from dialerd.dialer.outcome import Outcome
from dialerd.dialer.rules import ContactDialState, after_attempt
from dialerd.domain import ContactState, DialMode, MachineAction
from dialerd.store.sqlfiles import q


@dataclass(frozen=True)
class DialCampaign:
    id: int
    queue: str
    dial_string: str
    caller_id: str | None
    dial_mode: DialMode
    dial_ratio: float
    max_lines_per_agent: float
    abandon_limit: float
    aggressiveness: float
    max_calls_in_flight: int | None
    max_originate_rate: float | None
    ring_timeout_s: int
    agent_timeout_s: int
    amd_enabled: bool
    machine_action: MachineAction
    window_start: time
    window_end: time
    window_days: tuple[int, ...]
    timezone: str
    retry_minutes: dict[str, float]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> DialCampaign:
        values: dict[str, Any] = dict(row)
        values["dial_mode"] = DialMode(values["dial_mode"])
        values["machine_action"] = MachineAction(values["machine_action"])
        values["window_days"] = tuple(values["window_days"])
        values["retry_minutes"] = dict(values["retry_minutes"] or {})
        return cls(**values)


@dataclass(frozen=True)
class ClaimedContact:
    id: int
    phone_numbers: tuple[str | None, ...]
    number_invalid: tuple[bool, ...]
    next_number: int


@dataclass(frozen=True)
class StartedAttempt:
    id: int
    contact_id: int
    started: datetime


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt found open at start-up or after a reconnect, to reconcile."""

    id: int
    contact_id: int
    campaign_id: int
    slot: int  # 0-based
    status: str
    started: datetime


@dataclass(frozen=True)
class ClosedAttempt:
    attempt_id: int
    contact_id: int
    slot: int  # 0-based
    outcome: Outcome
    channel: str | None
    retry_at_once: bool = False  # see after_attempt


@dataclass(frozen=True)
class AbandonCounts:
    answered_window: int
    abandoned_window: int
    answered_today: int
    abandoned_today: int


class DialerStore:
    def __init__(self, pool: asyncpg.Pool, instance_id: str, lease_seconds: float) -> None:
        self.pool = pool
        self.instance_id = instance_id
        self.lease_seconds = float(lease_seconds)

    async def campaigns(self) -> list[DialCampaign]:
        rows = await self.pool.fetch(q("dialer_campaigns"))
        return [DialCampaign.from_row(r) for r in rows]

    async def claim(self, campaign_id: int, limit: int) -> list[ClaimedContact]:
        rows = await self.pool.fetch(
            q("claim_contacts"), campaign_id, self.instance_id, self.lease_seconds, limit
        )
        claimed = [
            ClaimedContact(
                r["id"], tuple(r["phone_numbers"]), tuple(r["number_invalid"]), r["next_number"]
            )
            for r in rows
        ]
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def release(self, due: Sequence[tuple[int, datetime]]) -> None:
        if due:
            ids, times = zip(*due, strict=True)
            await self.pool.execute(q("release_contacts"), list(ids), list(times), self.instance_id)

    async def start_attempts(
        self, starts: Sequence[tuple[int, str, int]], a_number: str | None
    ) -> list[StartedAttempt]:
        """Writes the history rows for (contact id, number, 0-based slot) before dialling.
        Returns the attempts that may be dialled (contacts still ours, open and unlocked)."""
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
        )
        return [StartedAttempt(r["id"], r["contact_id"], r["dt_call_start"]) for r in rows]

    async def mark_dialing(self, attempt_ids: Sequence[int]) -> None:
        if attempt_ids:
            await self.pool.execute(q("mark_dialing"), list(attempt_ids))

    async def close_attempts(self, closed: Sequence[ClosedAttempt], now: datetime) -> None:
        """Closes attempts and moves their contacts on, in one transaction: history rows
        completed, contacts updated by :func:`after_attempt`, claims released. A contact
        deleted meanwhile (its history went with it) is skipped."""
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
                up = after_attempt(
                    _dial_state(row),
                    slot=c.slot,
                    connres=o.connres,
                    cause=o.cause,
                    machine=o.machine,
                    now=now,
                    retry_minutes=row["retry_minutes"] or {},
                    retry_at_once=c.retry_at_once,
                )
                updates.append(
                    (
                        c.contact_id,
                        list(up.number_tries),
                        list(up.number_last_cause),
                        list(up.number_end_reason),
                        list(up.number_invalid),
                        up.next_number,
                        up.state.value,
                        up.attempts,
                        up.dt_next_try,
                        up.last_connres,
                        up.last_cause,
                        c.attempt_id,
                        up.last_result_mailbox,
                    )
                )
            await conn.executemany(q("close_attempt"), history)
            await conn.executemany(q("update_contact_after_attempt"), updates)

    async def renew_leases(self) -> None:
        await self.pool.execute(q("renew_leases"), self.instance_id, self.lease_seconds)

    async def take_over_open_attempts(self) -> list[OpenAttempt]:
        rows = await self.pool.fetch(
            q("take_over_open_attempts"), self.instance_id, self.lease_seconds
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
        rows = await self.pool.fetch(q("abandon_counts"), since)
        return {
            r["campaign_id"]: AbandonCounts(
                r["answered_window"],
                r["abandoned_window"],
                r["answered_today"],
                r["abandoned_today"],
            )
            for r in rows
        }


def _dial_state(row: asyncpg.Record) -> ContactDialState:
    return ContactDialState(
        phone_numbers=tuple(row["phone_numbers"]),
        number_tries=tuple(row["number_tries"]),
        number_last_cause=tuple(row["number_last_cause"]),
        number_end_reason=tuple(row["number_end_reason"]),
        number_invalid=tuple(row["number_invalid"]),
        state=ContactState(row["state"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        min_call_interval_h=row["min_call_interval_h"],
    )
