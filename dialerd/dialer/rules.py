"""Contact rules: which number to dial, when a number may be called, and how a contact moves on
after an attempt. Pure: no I/O; time is passed in.

Call window: a campaign calls between ``window_start`` and ``window_end`` on ``window_days``
(ISO weekdays) in the *callee's* local time. The zone comes from the number
(``phonenumbers.timezone``); where the number does not tell (unknown or not parseable), the
campaign's ``timezone`` is used. A number whose region spans several zones (e.g. a whole
country) is callable only when the window is open in *all* of them, so nobody is called
outside the window. ``window_start > window_end`` is a window over midnight; the weekday is
the one on which the window opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from dialerd.dialer.outcome import INVALID_NUMBER_CAUSES
from dialerd.domain import Connres, ContactState

# -- call window -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallWindow:
    start: time
    end: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday
    timezone: str  # where a number does not tell

    def _open_local(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end and local.isoweekday() in self.days
        if t >= self.start:
            return local.isoweekday() in self.days
        if t < self.end:
            return (local - timedelta(days=1)).isoweekday() in self.days
        return False

    def is_open(self, now: datetime, zones: Sequence[str]) -> bool:
        """Open for a number in ``zones`` at ``now`` (aware)."""
        return all(self._open_local(now.astimezone(_zone(z))) for z in zones)

    def next_opening(self, now: datetime, zones: Sequence[str]) -> datetime:
        """The first moment from ``now`` on at which the window is open in all ``zones``
        (``now`` itself if it is open). Searched over the next 8 days; a window that never
        opens for all zones together gives a retry in one day."""
        if self.is_open(now, zones):
            return now
        candidates: list[datetime] = []
        for name in zones:
            tz = _zone(name)
            today = now.astimezone(tz).date()
            for offset in range(-1, 9):
                day: date = today + timedelta(days=offset)
                opening = datetime.combine(day, self.start, tzinfo=tz)
                if opening > now:
                    candidates.append(opening)
        for candidate in sorted(candidates):
            if self.is_open(candidate, zones):
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


# -- numbers -------------------------------------------------------------------------------------


def dialable(numbers: Sequence[str | None], invalid: Sequence[bool]) -> list[int]:
    """0-based slots that hold a number not marked invalid."""
    return [i for i, n in enumerate(numbers) if n is not None and not invalid[i]]


def pick_slot(numbers: Sequence[str | None], invalid: Sequence[bool], start: int) -> int | None:
    """The first dialable slot at or after ``start``, wrapping around; None if none is left."""
    slots = dialable(numbers, invalid)
    if not slots:
        return None
    return next((i for i in slots if i >= start), slots[0])


# -- after an attempt ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactDialState:
    """The dialer's columns of a contact, as read at the close of an attempt."""

    phone_numbers: tuple[str | None, ...]
    number_tries: tuple[int, ...]
    number_last_cause: tuple[int, ...]
    number_end_reason: tuple[int, ...]
    number_invalid: tuple[bool, ...]
    state: ContactState
    attempts: int
    max_attempts: int
    min_call_interval_h: float


@dataclass(frozen=True)
class ContactUpdate:
    number_tries: tuple[int, ...]
    number_last_cause: tuple[int, ...]
    number_end_reason: tuple[int, ...]
    number_invalid: tuple[bool, ...]
    next_number: int
    state: ContactState
    attempts: int
    dt_next_try: datetime
    last_connres: int
    last_cause: int | None
    last_result_mailbox: bool


def after_attempt(
    contact: ContactDialState,
    *,
    slot: int,
    connres: Connres,
    cause: int | None,
    machine: bool,
    now: datetime,
    retry_minutes: Mapping[str, float],
    retry_at_once: bool = False,
) -> ContactUpdate:
    """How a contact moves on after an attempt on its number at ``slot`` (0-based).

    - The number's tries, last cause and end reason (CONNRES) are recorded; a number the
      network says does not exist (cause 1 or 28) is marked invalid.
    - Connected to an agent → done. Otherwise the attempt counts (unless it was never dialled)
      and the contact is finished when attempts reach ``max_attempts`` or no valid number is
      left; else the next try goes to the next valid number after ``slot``.
    - ``dt_next_try`` = now + ``retry_minutes[str(connres)]`` minutes if the campaign sets a
      delay for this outcome, else now + ``min_call_interval_h`` hours; now with
      ``retry_at_once`` (an Originate that was never sent: nobody was called).
    """
    tries = list(contact.number_tries)
    causes = list(contact.number_last_cause)
    reasons = list(contact.number_end_reason)
    invalid = list(contact.number_invalid)
    dialled = connres != Connres.NOT_DIALLED
    if dialled:
        tries[slot] += 1
    causes[slot] = cause or 0
    reasons[slot] = int(connres)
    if cause in INVALID_NUMBER_CAUSES:
        invalid[slot] = True

    attempts = contact.attempts
    if connres == Connres.CONNECTED:
        state = ContactState.DONE
    else:
        attempts += 1 if dialled else 0
        left = pick_slot(contact.phone_numbers, invalid, 0)
        exhausted = attempts >= contact.max_attempts or left is None
        state = ContactState.FINISHED if exhausted else contact.state
    start = slot + 1 if dialled else slot
    next_slot = pick_slot(contact.phone_numbers, invalid, start % len(contact.phone_numbers))

    minutes = retry_minutes.get(str(int(connres)))
    if retry_at_once:
        delay = timedelta(0)
    elif minutes is not None:
        delay = timedelta(minutes=float(minutes))
    else:
        delay = timedelta(hours=contact.min_call_interval_h)
    return ContactUpdate(
        number_tries=tuple(tries),
        number_last_cause=tuple(causes),
        number_end_reason=tuple(reasons),
        number_invalid=tuple(invalid),
        next_number=slot if next_slot is None else next_slot,
        state=state,
        attempts=attempts,
        dt_next_try=now + delay,
        last_connres=int(connres),
        last_cause=cause,
        last_result_mailbox=machine,
    )
