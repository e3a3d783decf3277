"""The regulators' rules as pure checks (dialerd/compliance.py) and as the dialer's rules apply
them (dialerd/dialer/rules.py): the callee's country's calling hours, the abandon
after-care, the caller ID."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dialerd.compliance import (
    COUNTRY_HOURS,
    after_care_on,
    caller_id_missing,
    country_hours,
)
from dialerd.dialer.rules import CallWindow, after_attempt, callee, number_country
from dialerd.domain import Connres, Contact, ContactState, NumberSlot

# Monday 5 January 2026 (winter time everywhere here).
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
NEW_YORK = "+12125550100"
LONDON = "+442079460000"
PARIS = "+33142685300"
OSLO = "+4722334455"
ALL_DAY = CallWindow(time(0), time(23, 59), frozenset(range(1, 8)), "UTC")


def at(hour: float, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour)


def test_the_country_of_a_number() -> None:
    assert [number_country(n) for n in (NEW_YORK, LONDON, PARIS, OSLO)] == ["US", "GB", "FR", "NO"]
    assert number_country("+80012345678") is None  # international freephone: no country
    assert number_country("not a number") is None


@pytest.mark.parametrize(
    ("number", "utc_hour", "day", "open_"),
    [
        (NEW_YORK, 12.99, 0, False),  # 07:59 in New York
        (NEW_YORK, 13, 0, True),  # 08:00
        (NEW_YORK, 1.99, 1, True),  # Monday 20:59
        (NEW_YORK, 2, 1, False),  # 21:00
        (LONDON, 8, 0, True),
        (LONDON, 7.99, 0, False),
        (LONDON, 8.5, 5, False),  # Saturday 08:30: at weekends from 09:00
        (LONDON, 9, 5, True),
        (PARIS, 9.5, 0, True),  # 10:30 in Paris
        (PARIS, 12.5, 0, False),  # 13:30: the lunch break
        (PARIS, 19.5, 0, False),  # 20:30
        (PARIS, 10, 5, False),  # Saturday: no calls
        (OSLO, 3, 0, True),  # no hours for NO: the campaign's window alone
    ],
)
def test_the_window_is_held_to_the_callee_country_hours(
    number: str, utc_hour: float, day: int, open_: bool
) -> None:
    assert ALL_DAY.is_open(at(utc_hour, day), *callee(number, "UTC")) is open_


def test_an_admin_override_lifts_the_country_hours() -> None:
    override = CallWindow(time(0), time(23, 59), frozenset(range(1, 8)), "UTC", override=True)
    assert not ALL_DAY.is_open(at(3), *callee(NEW_YORK, "UTC"))
    assert override.is_open(at(3), *callee(NEW_YORK, "UTC"))


def test_an_unknown_zone_is_called_in_the_campaign_zone_under_its_region_hours() -> None:
    """+800 tells no zone or country: the campaign's zone and region decide, so a US campaign
    in New York's zone does not call it at 06:00 there though its window is open."""
    window = CallWindow(time(0), time(23, 59), frozenset(range(1, 8)), "America/New_York", "US")
    freephone = callee("+80012345678", "America/New_York")
    assert freephone.zones == ("America/New_York",) and freephone.country is None
    assert not window.is_open(at(11), *freephone)  # 06:00 in New York
    assert window.is_open(at(14), *freephone)  # 09:00


def test_the_next_opening_is_the_country_hours_start() -> None:
    where = callee(PARIS, "UTC")
    assert ALL_DAY.next_opening(at(12.5), *where) == at(13)  # 14:00 Paris after lunch
    friday_night = at(20, 4)  # 21:00 Friday in Paris
    assert ALL_DAY.next_opening(friday_night, *where) == at(9, 7)  # Monday 10:00
    assert ALL_DAY.next_opening(at(3), *callee(NEW_YORK, "UTC")) == at(13)


@pytest.mark.parametrize(
    ("country", "start", "end", "days", "why"),
    [
        ("US", time(8), time(21), [1, 2, 3, 4, 5, 6, 7], None),
        ("US", time(7, 30), time(20), [1], "US allows calls on Monday from 08:00 to 21:00 only"),
        ("GB", time(8), time(20), [6], "GB allows calls on Saturday from 09:00 to 21:00 only"),
        ("FR", time(10), time(20), [1, 2, 3, 4, 5], None),  # the lunch break is kept per call
        ("FR", time(10), time(20), [6], "FR allows no calls on Saturday"),
        ("US", time(22), time(2), [1], "a window over midnight is outside US's calling hours"),
    ],
)
def test_a_window_exceeding_the_country_hours(
    country: str, start: time, end: time, days: list[int], why: str | None
) -> None:
    hours = country_hours(country)
    assert hours is not None
    assert hours.exceeded_by(start, end, days) == why


def test_every_country_has_its_source() -> None:
    assert set(COUNTRY_HOURS) == {"US", "CA", "GB", "FR"}
    assert all(h.source for h in COUNTRY_HOURS.values())
    assert country_hours(None) is None and country_hours("NO") is None


def test_after_care_is_on_by_default_for_gb_only() -> None:
    assert after_care_on(None, "GB") and not after_care_on(None, "US")
    assert not after_care_on(None, None)
    assert after_care_on(True, "US") and not after_care_on(False, "GB")


def test_caller_id_is_needed_by_an_active_campaign_that_dials() -> None:
    assert caller_id_missing(True, "PJSIP/{number}@t", None)
    assert caller_id_missing(True, "PJSIP/{number}@t", "")
    assert not caller_id_missing(True, "PJSIP/{number}@t", '"A" <+4722334455>')
    assert not caller_id_missing(False, "PJSIP/{number}@t", None)  # paused
    assert not caller_id_missing(True, None, None)  # cannot place calls


def _contact() -> Contact:
    slot = NumberSlot(LONDON, last_cause=0, last_connres=0)
    return Contact(1, (slot,), ContactState.OPEN, 0, 3, 2.0)


@pytest.mark.parametrize(
    ("abandoned", "after_care", "held"),
    [(True, True, True), (True, False, False), (False, True, False)],
)
def test_an_abandoned_call_starts_the_after_care(
    abandoned: bool, after_care: bool, held: bool
) -> None:
    up = after_attempt(
        _contact(),
        slot=0,
        connres=Connres.ABORTED if abandoned else Connres.NO_ANSWER,
        cause=16,
        machine=False,
        now=MONDAY,
        retry_minutes={},
        abandoned=abandoned,
        after_care=after_care,
    )
    assert up.after_care_until == (MONDAY + timedelta(hours=72) if held else None)
    # The next try is the campaign's as ever: a preview call may come before the 72 h end.
    assert up.dt_next_try == MONDAY + timedelta(hours=2)
