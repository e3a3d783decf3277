"""What a result code does to its contact when an agent records it for an attempt. Pure: no
I/O; time is passed in (docs/result-codes.md).

- done (success), done (refused): the contact is done.
- do not call: the contact is finished; its numbers are left as they are.
- retry: open again, due the code's minutes from now, on the number that reached the callee;
  finished instead when its tries are used up or no valid number is left.
- callback: open again, due at the time the agent picked (in the future), on the number that
  reached the callee, for anyone or for that agent only. A promised callback is made even when
  the contact's tries are used up: the due condition (contact_due) lets a contact with a
  callback through whatever its attempts, ``max_attempts`` is not changed, and the callback's
  attempt counts like any other (unanswered, it finishes a contact with no tries left).
- wrong number: the attempt's number is marked invalid and the next valid number after it is
  due now (nobody the campaign wants was spoken to); finished if none is left, or no try.

Attempts (calls without an answer) are the engine's count: no result changes them. Every
result replaces the contact's callback: only a callback code leaves one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from dialerd.dialer.rules import pick_slot
from dialerd.domain import (
    Contact,
    ContactState,
    ResultChoice,
    ResultCode,
    ResultCodeType,
    ResultUpdate,
)


class ResultRefused(ValueError):
    """The result cannot be recorded as chosen; the message says why."""


def _closed(contact: Contact, state: ContactState) -> ResultUpdate:
    return ResultUpdate(contact.slots, contact.next_number, state, None, None, None)


def _reopened(contact: Contact, slot: int | None) -> tuple[int, bool]:
    """The number to dial next (the one that reached the callee where it is still valid) and
    whether the contact has a try and a valid number left."""
    start = contact.next_number if slot is None else slot
    next_slot = pick_slot(contact.slots, start)
    left = next_slot is not None and contact.attempts < contact.max_attempts
    return (start if next_slot is None else next_slot), left


def after_result(
    contact: Contact,
    *,
    slot: int | None,
    code: ResultCode,
    choice: ResultChoice,
    user_id: int,
    now: datetime,
) -> ResultUpdate:
    """The contact after ``code`` is recorded for its attempt on the number at ``slot``
    (0-based; None when that number is no longer the contact's) by the agent ``user_id`` at
    ``now``. Raises ResultRefused."""
    kind = code.type
    if kind in (ResultCodeType.SUCCESS, ResultCodeType.REFUSED):
        return _closed(contact, ContactState.DONE)
    if kind is ResultCodeType.DO_NOT_CALL:
        return _closed(contact, ContactState.FINISHED)
    if kind is ResultCodeType.RETRY:
        assert code.retry_minutes is not None  # the table's check: a retry code has minutes
        next_number, left = _reopened(contact, slot)
        if not left:
            return _closed(contact, ContactState.FINISHED)
        due = now + timedelta(minutes=code.retry_minutes)
        return ResultUpdate(contact.slots, next_number, ContactState.OPEN, due, None, None)
    if kind is ResultCodeType.CALLBACK:
        at = choice.callback_at
        if at is None:
            raise ResultRefused("a callback needs the time to call back")
        if at.tzinfo is None:
            raise ResultRefused("the callback time needs its time zone")
        if at <= now:
            raise ResultRefused("the callback time is in the past")
        next_number = contact.next_number if slot is None else slot
        if pick_slot(contact.slots, next_number) is None:
            raise ResultRefused("the contact has no valid number left to call back")
        who = user_id if choice.for_me else None
        return ResultUpdate(contact.slots, next_number, ContactState.OPEN, at, at, who)
    # ResultCodeType.WRONG_NUMBER
    if slot is None:
        raise ResultRefused("the attempt's number is no longer the contact's: none to mark wrong")
    slots = list(contact.slots)
    slots[slot] = replace(slots[slot], invalid=True)
    wrong = replace(contact, slots=tuple(slots))
    next_number, left = _reopened(wrong, (slot + 1) % len(slots))
    if not left:
        return ResultUpdate(wrong.slots, next_number, ContactState.FINISHED, None, None, None)
    return ResultUpdate(wrong.slots, next_number, ContactState.OPEN, now, None, None)
