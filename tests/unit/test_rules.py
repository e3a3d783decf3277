"""Contact rules: number choice, call windows in the callee's zone, the update after a call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from dialerd.dialer.rules import (
    CallWindow,
    after_attempt,
    dnc_stopped_slot,
    number_zones,
    pick_slot,
)
from dialerd.domain import Connres, Contact, ContactState, ContactUpdate, NumberSlot

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday


def contact(
    numbers: tuple[str | None, ...] = ("+4930123456", "+4940123456"),
    *,
    attempts: int = 0,
    max_attempts: int = 3,
    invalid: tuple[bool, ...] | None = None,
) -> Contact:
    flags = invalid or (False,) * len(numbers)
    return Contact(
        id=1,
        slots=slots(numbers, flags),
        state=ContactState.OPEN,
        attempts=attempts,
        max_attempts=max_attempts,
        min_call_interval_h=2.0,
    )


def slots(numbers: tuple[str | None, ...], invalid: tuple[bool, ...]) -> tuple[NumberSlot, ...]:
    return tuple(
        NumberSlot(n, last_cause=0, last_connres=0, invalid=flag)
        for n, flag in zip(numbers, invalid, strict=True)
    )


def column(up: ContactUpdate, name: str) -> tuple[object, ...]:
    """One field of every slot, as the contacts table's per-number arrays hold it."""
    return tuple(getattr(slot, name) for slot in up.slots)


def test_pick_slot_skips_empty_and_invalid_and_wraps() -> None:
    numbers = (None, "+1", None, "+2")
    assert pick_slot(slots(numbers, (False,) * 4), 0) == 1
    assert pick_slot(slots(numbers, (False,) * 4), 2) == 3
    assert pick_slot(slots(numbers, (False, False, False, True)), 2) == 1
    assert pick_slot(slots(numbers, (False, True, False, True)), 0) is None


def test_numbers_on_a_dnc_list_are_skipped_and_stop_a_contact_with_no_other() -> None:
    numbers = ("+1", "+2", None, "+3")
    listed = [replace(s, dnc=s.number in ("+1", "+3")) for s in slots(numbers, (False,) * 4)]
    assert (pick_slot(listed, 3), dnc_stopped_slot(listed, 3)) == (1, None)
    listed[1] = replace(listed[1], invalid=True)  # the one left is dead: every other is listed
    assert (pick_slot(listed, 3), dnc_stopped_slot(listed, 3)) == (None, 3)
    dead = slots(numbers, (True, True, False, True))  # dead numbers stop nobody as DNC
    assert dnc_stopped_slot(dead, 0) is None


def test_busy_moves_to_the_next_number_after_the_interval() -> None:
    up = after_attempt(
        contact(), slot=0, connres=Connres.BUSY, cause=17, machine=False, now=NOW, retry_minutes={}
    )
    assert up.next_number == 1
    assert column(up, "tries") == (1, 0)
    assert column(up, "last_cause") == (17, 0)
    assert column(up, "last_connres") == (3, 0)
    assert up.attempts == 1
    assert up.state == ContactState.OPEN
    assert up.dt_next_try == NOW + timedelta(hours=2)


def test_per_outcome_retry_delay() -> None:
    up = after_attempt(
        contact(),
        slot=1,
        connres=Connres.NO_ANSWER,
        cause=19,
        machine=False,
        now=NOW,
        retry_minutes={"2": 15},
    )
    assert up.dt_next_try == NOW + timedelta(minutes=15)
    assert up.next_number == 0


def test_connected_is_done() -> None:
    up = after_attempt(
        contact(),
        slot=0,
        connres=Connres.CONNECTED,
        cause=16,
        machine=False,
        now=NOW,
        retry_minutes={},
    )
    assert up.state == ContactState.DONE
    assert up.attempts == 0


def test_max_attempts_finishes() -> None:
    up = after_attempt(
        contact(attempts=2),
        slot=0,
        connres=Connres.NO_ANSWER,
        cause=19,
        machine=False,
        now=NOW,
        retry_minutes={},
    )
    assert up.attempts == 3
    assert up.state == ContactState.FINISHED


@pytest.mark.parametrize("cause", [1, 28])
def test_unknown_number_is_invalid_and_skipped(cause: int) -> None:
    up = after_attempt(
        contact(),
        slot=0,
        connres=Connres.NETWORK,
        cause=cause,
        machine=False,
        now=NOW,
        retry_minutes={},
    )
    assert column(up, "invalid") == (True, False)
    assert up.next_number == 1
    assert up.state == ContactState.OPEN


def test_last_valid_number_invalid_finishes() -> None:
    up = after_attempt(
        contact(("+4930123456",)),
        slot=0,
        connres=Connres.NETWORK,
        cause=1,
        machine=False,
        now=NOW,
        retry_minutes={},
    )
    assert up.state == ContactState.FINISHED


def test_machine_sets_mailbox_flag() -> None:
    up = after_attempt(
        contact(),
        slot=0,
        connres=Connres.ABORTED,
        cause=16,
        machine=True,
        now=NOW,
        retry_minutes={},
    )
    assert up.last_result_mailbox is True
    assert up.attempts == 1


@pytest.mark.parametrize(
    ("retry_at_once", "next_try"),
    [(False, NOW + timedelta(minutes=1)), (True, NOW)],  # refused; never sent
)
def test_not_dialled_does_not_count(retry_at_once: bool, next_try: datetime) -> None:
    up = after_attempt(
        contact(),
        slot=1,
        connres=Connres.NOT_DIALLED,
        cause=None,
        machine=False,
        now=NOW,
        retry_minutes={"0": 1},
        retry_at_once=retry_at_once,
    )
    assert up.attempts == 0
    assert column(up, "tries") == (0, 0)
    assert up.next_number == 1
    assert up.dt_next_try == next_try


@pytest.mark.parametrize("connres", [Connres.NOT_DIALLED, Connres.BUSY, Connres.CONNECTED])
def test_a_manual_calls_contact_is_over_after_its_one_attempt(connres: Connres) -> None:
    """Even an Originate never sent ends it: the dialer does not call a typed number itself."""
    up = after_attempt(
        replace(contact(), never_due=True),
        slot=0,
        connres=connres,
        cause=None,
        machine=False,
        now=NOW,
        retry_minutes={},
        retry_at_once=connres is Connres.NOT_DIALLED,
    )
    over = ContactState.DONE if connres is Connres.CONNECTED else ContactState.FINISHED
    assert up.state is over  # a contact() would stay open after a busy or unsent try


WINDOW = CallWindow(time(8), time(20), frozenset({1, 2, 3, 4, 5}), "Europe/Berlin")


def test_number_zones() -> None:
    assert number_zones("+4930123456", "UTC") == ("Europe/Berlin",)
    assert number_zones("+999", "Europe/Paris") == ("Europe/Paris",)
    assert len(number_zones("+7", "UTC")) >= 1


def test_window_in_the_callee_zone() -> None:
    # 12:00 UTC is 13:00 in Berlin and 07:00 in New York.
    assert WINDOW.is_open(NOW, ("Europe/Berlin",))
    assert not WINDOW.is_open(NOW, ("America/New_York",))
    opening = WINDOW.next_opening(NOW, ("America/New_York",))
    assert opening == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def test_several_zones_must_all_be_open() -> None:
    zones = ("Europe/Berlin", "America/New_York")
    assert not WINDOW.is_open(NOW, zones)
    assert WINDOW.next_opening(NOW, zones) == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)


def test_weekend_and_overnight() -> None:
    saturday = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert not WINDOW.is_open(saturday, ("UTC",))
    assert WINDOW.next_opening(saturday, ("UTC",)) == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    night = CallWindow(time(22), time(2), frozenset({1}), "UTC")
    assert night.is_open(datetime(2026, 1, 5, 23, 0, tzinfo=UTC), ("UTC",))
    assert night.is_open(datetime(2026, 1, 6, 1, 0, tzinfo=UTC), ("UTC",))  # Monday's window
    assert not night.is_open(datetime(2026, 1, 7, 1, 0, tzinfo=UTC), ("UTC",))
