"""Contact rules: which number to dial, when a number may be called, and how a contact moves on
after an attempt. Pure: no I/O; time is passed in.

Call window: a campaign calls between ``window_start`` and ``window_end`` on ``window_days``
(ISO weekdays) in the *callee's* local time. The zone comes from the number
(``phonenumbers.timezone``); where the number does not tell (unknown or not parseable), the
campaign's ``timezone`` is used. A number whose region spans several zones (e.g. a whole
country) is callable only when the window is open in *all* of them, so nobody is called
outside the window. ``window_start > window_end`` is a window over midnight; the weekday is
the one on which the window opened.

Calling hours: the window is also held to the calling hours of the callee's country (the
number's; where it tells none, the campaign's ``default_region``) in the same local time,
unless an admin set the campaign's ``call_hours_override`` (dialerd/compliance.py). A callee
whose zone the number does not tell is called in the campaign's zone, so not when the
campaign's zone is outside either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from dialerd.compliance import AFTER_CARE, CountryHours, country_hours
from dialerd.domain import (
    INVALID_NUMBER_CAUSES,
    Campaign,
    ClosedAttempt,
    Connres,
    Contact,
    ContactState,
    ContactUpdate,
    Decide,
    NumberSlot,
)

# -- call window -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallWindow:
    start: time
    end: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday
    timezone: str  # where a number does not tell
    region: str | None = None  # the country whose hours hold where a number tells none
    override: bool = False  # an admin let the window reach outside the country's hours

    @classmethod
    def of(cls, campaign: Campaign) -> CallWindow:
        return cls(
            campaign.window_start,
            campaign.window_end,
            frozenset(campaign.window_days),
            campaign.timezone,
            campaign.default_region,
            campaign.call_hours_override,
        )

    def hours(self, country: str | None) -> CountryHours | None:
        """The calling hours a callee of ``country`` is held to, if any."""
        return None if self.override else country_hours(country or self.region)

    def _open_local(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end and local.isoweekday() in self.days
        if t >= self.start:
            return local.isoweekday() in self.days
        if t < self.end:
            return (local - timedelta(days=1)).isoweekday() in self.days
        return False

    def is_open(self, now: datetime, zones: Sequence[str], country: str | None = None) -> bool:
        """Open for a number in ``zones`` of ``country`` at ``now`` (aware)."""
        hours = self.hours(country)
        return all(
            self._open_local(local) and (hours is None or hours.is_open(local))
            for local in (now.astimezone(_zone(z)) for z in zones)
        )

    def next_opening(
        self, now: datetime, zones: Sequence[str], country: str | None = None
    ) -> datetime:
        """The first moment from ``now`` on at which the window (and the country's hours) is
        open in all ``zones`` (``now`` itself if it is open). Searched over the next 8 days; a
        window that never opens for all zones together gives a retry in one day."""
        if self.is_open(now, zones, country):
            return now
        hours = self.hours(country)
        candidates: list[datetime] = []
        for name in zones:
            tz = _zone(name)
            today = now.astimezone(tz).date()
            for offset in range(-1, 9):
                day: date = today + timedelta(days=offset)
                starts = {self.start, *(hours.starts(day.isoweekday()) if hours else ())}
                for start in starts:
                    opening = datetime.combine(day, start, tzinfo=tz)
                    if opening > now:
                        candidates.append(opening)
        for candidate in sorted(candidates):
            if self.is_open(candidate, zones, country):
                return candidate
        return now + timedelta(days=1)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def number_zones(number: str, default: str) -> tuple[str, ...]:
    """The IANA zones of an E.164 number; ``(default,)`` where the number does not tell."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return (default,)
    zones = []
    for name in pn_timezone.time_zones_for_number(parsed):
        try:
            _zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        zones.append(name)
    return tuple(zones) or (default,)


@lru_cache(maxsize=65536)
def number_country(number: str) -> str | None:
    """The ISO country of an E.164 number, None where it tells none (e.g. +800)."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "001" else None


class Callee(NamedTuple):
    """Where a number is called: its zones and its country (the window's arguments)."""

    zones: tuple[str, ...]
    country: str | None


def callee(number: str, default_zone: str) -> Callee:
    return Callee(number_zones(number, default_zone), number_country(number))


# -- numbers -------------------------------------------------------------------------------------


def pick_slot(slots: Sequence[NumberSlot], start: int) -> int | None:
    """The first dialable slot at or after ``start`` (0-based), wrapping around; None if
    none is left."""
    dialable = [i for i, s in enumerate(slots) if s.dialable]
    if not dialable:
        return None
    return next((i for i in dialable if i >= start), dialable[0])


def dnc_stopped_slot(slots: Sequence[NumberSlot], start: int) -> int | None:
    """The slot a contact would be dialled on next were it not for the do-not-call lists, when
    every number it has left is on one (so it is not dialled at all); else None."""
    if pick_slot(slots, start) is not None:
        return None
    return pick_slot([replace(s, dnc=False) for s in slots], start)


# -- after an attempt ----------------------------------------------------------------------------


def after_attempt(
    contact: Contact,
    *,
    slot: int,
    connres: Connres,
    cause: int | None,
    machine: bool,
    now: datetime,
    retry_minutes: Mapping[str, float],
    retry_at_once: bool = False,
    abandoned: bool = False,
    after_care: bool = False,
) -> ContactUpdate:
    """How a contact moves on after an attempt on its number at ``slot`` (0-based).

    - The number's tries, last cause and end reason (CONNRES) are recorded; a number the
      network says does not exist (cause 1 or 28) is marked invalid.
    - Connected to an agent → done. Otherwise the attempt counts (unless it was never dialled)
      and the contact is finished when attempts reach ``max_attempts`` or no valid number is
      left; else the next try goes to the next valid number after ``slot``. A contact that is
      never due by itself (an agent's manual call) is finished by its one attempt, even one
      never dialled: the dialer must not call on its own a number an agent typed.
    - ``dt_next_try`` = now + ``retry_minutes[str(connres)]`` minutes if the campaign sets a
      delay for this outcome, else now + ``min_call_interval_h`` hours; now with
      ``retry_at_once`` (nobody was called: an Originate never sent, or no channel made).
    - A callback the contact had is made by an attempt that called somebody; one that called
      nobody leaves it for the next try.
    - ``abandoned`` with the campaign's ``after_care`` on: no call without an agent on the
      line for :data:`~dialerd.compliance.AFTER_CARE` from now (``after_care_until``).
    """
    dialled = connres != Connres.NOT_DIALLED
    old = contact.slots[slot]
    slots = list(contact.slots)
    slots[slot] = replace(
        old,
        tries=old.tries + (1 if dialled else 0),
        last_cause=cause or 0,
        last_connres=int(connres),
        invalid=old.invalid or cause in INVALID_NUMBER_CAUSES,
    )

    attempts = contact.attempts
    if connres == Connres.CONNECTED:
        state = ContactState.DONE
    else:
        attempts += 1 if dialled else 0
        exhausted = (
            contact.never_due or attempts >= contact.max_attempts or pick_slot(slots, 0) is None
        )
        state = ContactState.FINISHED if exhausted else contact.state
    start = slot + 1 if dialled else slot
    next_slot = pick_slot(slots, start % len(slots))

    minutes = retry_minutes.get(str(int(connres)))
    if retry_at_once:
        delay = timedelta(0)
    elif minutes is not None:
        delay = timedelta(minutes=float(minutes))
    else:
        delay = timedelta(hours=contact.min_call_interval_h)
    return ContactUpdate(
        slots=tuple(slots),
        next_number=slot if next_slot is None else next_slot,
        state=state,
        attempts=attempts,
        dt_next_try=now + delay,
        last_connres=int(connres),
        last_cause=cause,
        last_result_mailbox=machine,
        callback_spent=dialled,
        after_care_until=now + AFTER_CARE if abandoned and after_care else None,
    )


def decider(now: datetime) -> Decide:
    """:func:`after_attempt` of each closed attempt at ``now``, for the store's close."""

    def decide(
        contact: Contact, closed: ClosedAttempt, retry_minutes: Mapping[str, float]
    ) -> ContactUpdate:
        o = closed.outcome
        return after_attempt(
            contact,
            slot=closed.slot,
            connres=o.connres,
            cause=o.cause,
            machine=o.machine,
            now=now,
            retry_minutes=retry_minutes,
            retry_at_once=closed.retry_at_once,
            abandoned=o.abandoned,
            after_care=closed.after_care,
        )

    return decide
