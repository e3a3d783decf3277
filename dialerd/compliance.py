"""The regulators' rules a campaign is held to, as data and pure checks (docs/compliance.md):
the callee's country's calling hours, the abandon after-care, the caller ID. No I/O; time is
passed in. The dialer's rules (dialer/rules.py) and the campaigns' validation both read it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

AFTER_CARE = timedelta(hours=72)
"""Ofcom: a person whose call was abandoned is not called again within 72 hours unless an
agent is guaranteed to be on the line."""

AFTER_CARE_REGIONS = frozenset({"GB"})
"""Where the after-care is on unless a campaign says otherwise."""

Periods = tuple[tuple[time, time], ...]
"""[start, end) local times of one weekday."""


@dataclass(frozen=True)
class CountryHours:
    """When a country lets a campaign call, in the callee's local time, by ISO weekday (a day
    missing: no calls)."""

    country: str
    days: Mapping[int, Periods]
    source: str  # the rule it comes from (docs/compliance.md)

    def is_open(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        return any(start <= t < end for start, end in self.days.get(local.isoweekday(), ()))

    def starts(self, weekday: int) -> tuple[time, ...]:
        return tuple(start for start, _ in self.days.get(weekday, ()))

    def exceeded_by(self, start: time, end: time, weekdays: Sequence[int]) -> str | None:
        """Why a campaign window ``start``-``end`` on ``weekdays`` reaches outside these hours,
        or None. A day's hours are taken from its first start to its last end (a lunch break
        is kept by the dialer at each call, not asked of the window)."""
        if start > end:
            return f"a window over midnight is outside {self.country}'s calling hours"
        for day in weekdays:
            periods = self.days.get(day, ())
            if not periods:
                return f"{self.country} allows no calls on {_WEEKDAYS[day - 1]}"
            first, last = periods[0][0], periods[-1][1]
            if start < first or end > last:
                return (
                    f"{self.country} allows calls on {_WEEKDAYS[day - 1]} from"
                    f" {first:%H:%M} to {last:%H:%M} only"
                )
        return None


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _every(days: range, *periods: tuple[time, time]) -> dict[int, Periods]:
    return dict.fromkeys(days, periods)


_WEEK, _WORKDAYS, _WEEKEND = range(1, 8), range(1, 6), range(6, 8)

COUNTRY_HOURS: Mapping[str, CountryHours] = {
    h.country: h
    for h in (
        CountryHours(
            "US",
            _every(_WEEK, (time(8), time(21))),
            "16 CFR 310.4(c); 47 CFR 64.1200(c)(1): not before 8 a.m. or after 9 p.m. local time",
        ),
        CountryHours(
            "CA",
            _every(_WORKDAYS, (time(9), time(21, 30))) | _every(_WEEKEND, (time(10), time(18))),
            "CRTC Unsolicited Telecommunications Rules, Part III (Telemarketing Rules)",
        ),
        CountryHours(
            "GB",
            _every(_WORKDAYS, (time(8), time(21))) | _every(_WEEKEND, (time(9), time(21))),
            "no statute; the DMA Code's calling hours (not 21:00-08:00, 09:00 at weekends)",
        ),
        CountryHours(
            "FR",
            _every(_WORKDAYS, (time(10), time(13)), (time(14), time(20))),
            "Code de la consommation art. D. 223-9 (décret n° 2022-1313): Monday to Friday,"
            " 10:00-13:00 and 14:00-20:00, not on public holidays",
        ),
    )
}


def country_hours(country: str | None) -> CountryHours | None:
    return COUNTRY_HOURS.get(country) if country else None


def after_care_on(setting: bool | None, region: str | None) -> bool:
    """A campaign's after-care: its own setting, else on where its region asks for it."""
    return setting if setting is not None else region in AFTER_CARE_REGIONS


def caller_id_missing(active: bool, dial_string: str | None, caller_id: str | None) -> bool:
    """An active campaign that can place calls must send a caller ID (47 CFR 64.1601(e),
    16 CFR 310.4(a)(8), PECR reg. 21(A1) and Ofcom)."""
    return active and dial_string is not None and not caller_id
