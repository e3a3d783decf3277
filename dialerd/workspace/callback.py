"""The result form's callback time: the time zone it is meant in, and the time from the form's
date and time fields. Pure.

The agent agrees the time with the callee ("tomorrow at ten"), so the form's time is the
callee's local time: the zone of the number the call reached, as the call window reads it
(``dialerd.dialer.rules.number_zones``). The campaign's time zone where it is one of the
number's (a Norwegian mobile is Oslo's and Longyearbyen's: Oslo for an Oslo campaign), else
the number's first zone where all of its zones keep one clock; else (a number that does not
tell, or of a country whose zones differ) the campaign's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialerd.dialer.rules import number_zones

HALF_YEAR = timedelta(days=182)


def callback_zone(number: str, campaign_zone: str, now: datetime) -> str:
    """The IANA zone a callback's time for a call to ``number`` is meant in, at ``now``."""
    zones = number_zones(number, campaign_zone)
    if campaign_zone in zones:
        return campaign_zone
    # One clock: the same UTC offset now and half a year on (summer time both ways).
    clocks = {
        tuple(t.astimezone(ZoneInfo(z)).utcoffset() for t in (now, now + HALF_YEAR)) for z in zones
    }
    return zones[0] if len(clocks) == 1 else campaign_zone


def callback_time(day: str, at: str, zone: str) -> datetime | None:
    """The aware time of the form's ``day`` (YYYY-MM-DD) and ``at`` (HH:MM) in ``zone``; None
    when neither is given (the result's rule then says that a callback needs its time).
    Raises ValueError with the reason."""
    day, at = day.strip(), at.strip()
    if not day and not at:
        return None
    if not day or not at:
        raise ValueError("a callback needs its date and its time")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"the callback's date {day!r} is not a date like 2026-12-24") from None
    try:
        clock = time.fromisoformat(at)
    except ValueError:
        raise ValueError(f"the callback's time {at!r} is not a time like 10:00") from None
    return datetime.combine(on, clock.replace(tzinfo=None), ZoneInfo(zone))


def zone_label(zone: str, now: datetime) -> str:
    """How the form names ``zone``: its name and its offset from UTC at ``now`` (aware)."""
    offset = now.astimezone(ZoneInfo(zone)).strftime("%z")
    return f"{zone}, UTC{offset[:3]}:{offset[3:]}"
