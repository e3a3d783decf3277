"""What each type of result code does to its contact (dialerd/dialer/results.py), and what it
refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from dialerd.dialer.results import ResultRefused, after_result
from dialerd.dialer.rules import after_attempt
from dialerd.domain import (
    Connres,
    Contact,
    ContactState,
    ResultChoice,
    ResultCode,
    ResultCodeType,
    ResultUpdate,
)
from tests.unit.test_rules import NOW, contact

AGENT = 7
LATER = NOW + timedelta(hours=3)


def code(kind: ResultCodeType, retry_minutes: int | None = None) -> ResultCode:
    return ResultCode(
        id=11,
        campaign_id=5,
        name=kind.name.lower(),
        type=kind,
        retry_minutes=retry_minutes,
        position=0,
        active=True,
        created_at=NOW,
        updated_at=NOW,
    )


def connected(c: Contact, slot: int = 0) -> Contact:
    """``c`` as the engine leaves it after an attempt on ``slot`` reached an agent."""
    up = after_attempt(
        c, slot=slot, connres=Connres.CONNECTED, cause=16, machine=False, now=NOW, retry_minutes={}
    )
    return replace(c, slots=up.slots, state=up.state, attempts=up.attempts, next_number=slot)


def result(
    c: Contact,
    kind: ResultCodeType,
    *,
    slot: int | None = 0,
    retry_minutes: int | None = None,
    choice: ResultChoice | None = None,
) -> ResultUpdate:
    return after_result(
        c,
        slot=slot,
        code=code(kind, retry_minutes),
        choice=choice or ResultChoice(),
        user_id=AGENT,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        (ResultCodeType.SUCCESS, ContactState.DONE),
        (ResultCodeType.REFUSED, ContactState.DONE),
        (ResultCodeType.DO_NOT_CALL, ContactState.FINISHED),
    ],
)
def test_the_closing_types_close_the_contact_and_leave_its_numbers(
    kind: ResultCodeType, state: ContactState
) -> None:
    reached = connected(contact())
    up = result(reached, kind)
    assert up == ResultUpdate(reached.slots, 0, state, None, None, None)


def test_retry_reopens_on_the_number_that_answered_after_the_codes_minutes() -> None:
    up = result(connected(contact(), slot=1), ResultCodeType.RETRY, slot=1, retry_minutes=90)
    assert up.state is ContactState.OPEN
    assert up.next_number == 1
    assert up.dt_next_try == NOW + timedelta(minutes=90)
    assert (up.callback_at, up.callback_user_id) == (None, None)


def test_retry_finishes_a_contact_with_no_try_left() -> None:
    spent = connected(contact(attempts=3, max_attempts=3))
    up = result(spent, ResultCodeType.RETRY, retry_minutes=90)
    assert up.state is ContactState.FINISHED and up.dt_next_try is None


def test_a_callback_for_anyone_is_due_at_the_chosen_time_on_the_number_that_answered() -> None:
    up = result(
        connected(contact(), slot=1),
        ResultCodeType.CALLBACK,
        slot=1,
        choice=ResultChoice(callback_at=LATER),
    )
    assert up == ResultUpdate(up.slots, 1, ContactState.OPEN, LATER, LATER, None)


def test_a_callback_for_me_names_the_agent() -> None:
    up = result(
        connected(contact()),
        ResultCodeType.CALLBACK,
        choice=ResultChoice(callback_at=LATER, for_me=True),
    )
    assert (up.callback_at, up.callback_user_id, up.dt_next_try) == (LATER, AGENT, LATER)


def test_a_callback_is_promised_even_when_the_tries_are_used_up() -> None:
    spent = replace(connected(contact(attempts=3, max_attempts=3)), state=ContactState.FINISHED)
    up = result(spent, ResultCodeType.CALLBACK, choice=ResultChoice(callback_at=LATER))
    assert up.state is ContactState.OPEN and up.callback_at == LATER


@pytest.mark.parametrize(
    ("at", "why"),
    [
        (None, "needs the time"),
        (NOW, "in the past"),
        (NOW - timedelta(seconds=1), "in the past"),
        (LATER.replace(tzinfo=None), "time zone"),
    ],
)
def test_a_callback_needs_a_time_to_come(at: datetime | None, why: str) -> None:
    with pytest.raises(ResultRefused, match=why):
        result(connected(contact()), ResultCodeType.CALLBACK, choice=ResultChoice(callback_at=at))


def test_a_callback_needs_a_number_left() -> None:
    dead = contact(invalid=(True, True))
    with pytest.raises(ResultRefused, match="no valid number"):
        result(dead, ResultCodeType.CALLBACK, slot=None, choice=ResultChoice(callback_at=LATER))


def test_wrong_number_marks_it_invalid_and_the_next_number_is_due_now() -> None:
    up = result(connected(contact()), ResultCodeType.WRONG_NUMBER)
    assert [s.invalid for s in up.slots] == [True, False]
    assert (up.state, up.next_number, up.dt_next_try) == (ContactState.OPEN, 1, NOW)


def test_wrong_number_wraps_to_the_first_valid_number() -> None:
    three = contact(("+4930123456", "+4940123456", "+4950123456"), invalid=(False, True, False))
    up = result(connected(three, slot=2), ResultCodeType.WRONG_NUMBER, slot=2)
    assert [s.invalid for s in up.slots] == [False, True, True]
    assert up.next_number == 0


def test_wrong_number_on_the_last_valid_number_finishes_the_contact() -> None:
    one = contact(("+4930123456", "+4940123456"), invalid=(False, True))
    up = result(connected(one), ResultCodeType.WRONG_NUMBER)
    assert up.state is ContactState.FINISHED and [s.invalid for s in up.slots] == [True, True]


def test_wrong_number_with_no_number_is_refused() -> None:
    with pytest.raises(ResultRefused, match="no longer the contact's"):
        result(connected(contact()), ResultCodeType.WRONG_NUMBER, slot=None)


def test_only_a_callback_code_leaves_a_callback() -> None:
    for kind, minutes in ((ResultCodeType.RETRY, 5), (ResultCodeType.WRONG_NUMBER, None)):
        up = result(connected(contact()), kind, retry_minutes=minutes)
        assert (up.callback_at, up.callback_user_id) == (None, None), kind


def test_the_close_of_a_dialled_attempt_spends_the_callback_one_not_dialled_keeps_it() -> None:
    def close(connres: Connres) -> bool:
        return after_attempt(
            contact(), slot=0, connres=connres, cause=None, machine=False, now=NOW,
            retry_minutes={}, retry_at_once=connres is Connres.NOT_DIALLED,
        ).callback_spent  # fmt: skip

    assert close(Connres.NO_ANSWER) and close(Connres.CONNECTED)
    assert not close(Connres.NOT_DIALLED)


def test_every_type_has_its_stable_id() -> None:
    # DiallerResultCodesTypesID: stored in history and in CRMs; never renumber.
    assert {t.name: int(t) for t in ResultCodeType} == {
        "SUCCESS": 1,
        "REFUSED": 2,
        "RETRY": 3,
        "CALLBACK": 4,
        "WRONG_NUMBER": 5,
        "DO_NOT_CALL": 6,
    }
