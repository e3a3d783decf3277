"""A contact's number slots (``dialerd.domain.NumberSlot``) and the per-number arrays of the
contacts table that hold them: ``phone_numbers``, ``number_tries``, ``number_last_cause``,
``number_end_reason`` and ``number_invalid``, index i = PhoneNumber<i+1>."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dialerd.domain import NumberSlot

Columns = tuple[list[str | None], list[int], list[int | None], list[int | None], list[bool]]


def slots_of(row: asyncpg.Record) -> tuple[NumberSlot, ...]:
    """The slots of a contact row; a row with only the numbers, their invalid flags and
    their do-not-call flags (``dnc``: the claim's) gets the other fields' defaults."""
    numbers = row["phone_numbers"]
    unknown = [None] * len(numbers)
    return tuple(
        NumberSlot(n, tries or 0, cause, connres, bool(invalid), bool(dnc))
        for n, tries, cause, connres, invalid, dnc in zip(
            numbers,
            row.get("number_tries") or unknown,
            row.get("number_last_cause") or unknown,
            row.get("number_end_reason") or unknown,
            row["number_invalid"],
            row.get("dnc") or unknown,
            strict=True,
        )
    )


def columns(slots: Sequence[NumberSlot]) -> Columns:
    """The five arrays, in the table's column order."""
    return (
        [s.number for s in slots],
        [s.tries for s in slots],
        [s.last_cause for s in slots],
        [s.last_connres for s in slots],
        [s.invalid for s in slots],
    )
