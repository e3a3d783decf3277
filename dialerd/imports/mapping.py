"""Which column of a sheet feeds which call task field; the guess from the header row; a row
as the calltask import's task. Pure.

A mapping has one field per column ("" = not imported): ``name`` (several columns are joined
with spaces, e.g. first and last name), ``phone1`` … ``phone6`` (the numbers in that order;
empty cells are skipped), ``extCustId``, ``systemLookupCode`` and ``info:<emprId>`` (an info
field). The other call task fields (calling system, maxCallAttempts, minCallIntervalHours) are
the same for every row and chosen for the whole import.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from dialerd.domain import MAX_PHONE_NUMBERS
from dialerd.imports import cells
from dialerd.imports.reader import Cell

IGNORE = ""
NAME = "name"
EXT_CUST_ID = "extCustId"
LOOKUP = "systemLookupCode"
PHONES = tuple(f"phone{n}" for n in range(1, MAX_PHONE_NUMBERS + 1))
_INFO = "info:"

# Usual header names, compared after header_key(): exact names of the two keys, and words a
# name or a phone number header contains, in the languages of the lists people upload.
_EXT_NAMES = frozenset((
    "extcustid", "externalid", "extid", "customerid", "custid", "customerno", "customernumber",
    "clientid", "clientnumber", "accountnumber", "accountno", "kundennummer", "kundennr", "kdnr",
    "kundenid", "kundenr", "kundenummer", "kundnummer", "numeroclient", "idclient", "idcliente",
    "numerocliente", "codicecliente", "id",
))  # fmt: skip
_LOOKUP_NAMES = frozenset((
    "systemlookupcode", "lookupcode", "lookup", "reference", "ref", "referenz", "referanse",
    "referens", "referencia",
))  # fmt: skip
_PHONE_WORDS = (
    "phone", "telefon", "telephone", "telefono", "telefone", "mobil", "handy", "cell",
    "gsm", "rufnummer", "nummer", "number", "numero", "portable", "movil", "celular",
)  # fmt: skip
_PHONE_PREFIXES = ("tel", "tlf", "fon", "mob")
_NAME_WORDS = (
    "name", "navn", "namn", "naam", "nom", "nombre", "nome", "kunde", "customer", "receiver",
    "contact", "kontakt", "surname", "prenom", "apellido", "cognome",
)  # fmt: skip


class MappingError(ValueError):
    """A mapping that cannot be imported; the message says what to change."""


def info_field(field_id: int) -> str:
    return f"{_INFO}{field_id}"


def info_id(field: str) -> int | None:
    """The emprId of an info field's mapping name, None for another field."""
    if field.startswith(_INFO) and field[len(_INFO) :].isdigit():
        return int(field[len(_INFO) :])
    return None


def choices(info_fields: Mapping[int, str]) -> list[tuple[str, str]]:
    """Every field a column can be mapped to, (value, label), in the order a form lists them."""
    out = [(IGNORE, "not imported"), (NAME, "receiver name")]
    out += [(p, f"phone number {n}") for n, p in enumerate(PHONES, start=1)]
    out += [(EXT_CUST_ID, "extCustId (customer number)"), (LOOKUP, "systemLookupCode")]
    out += [(info_field(i), f"info field {i}: {name}") for i, name in sorted(info_fields.items())]
    return out


def header_key(header: Cell) -> str:
    """A header cell compared without case, accents, spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", cells.text(header).casefold())
    return "".join(c for c in folded if c.isalnum())


def _guess_one(key: str, info_by_name: Mapping[str, str]) -> str:
    """The field a header suggests: "phone" for any phone number column, "" for none."""
    if not key:
        return IGNORE
    if key in _EXT_NAMES:
        return EXT_CUST_ID
    if key in _LOOKUP_NAMES:
        return LOOKUP
    if key in info_by_name:
        return info_by_name[key]
    if any(w in key for w in _PHONE_WORDS) or key.startswith(_PHONE_PREFIXES):
        return "phone"
    if any(w in key for w in _NAME_WORDS):
        return NAME
    return IGNORE


def guess(
    headers: Sequence[Cell],
    info_fields: Mapping[int, str],
    remembered: Mapping[str, str] | None = None,
) -> list[str]:
    """A mapping for a header row: what this campaign's last import mapped a header to
    (``remembered``, by header_key), else a guess from the usual names; phone columns take
    the free phone slots in column order, and each other field goes to its first column."""
    remembered = remembered or {}
    known = {*PHONES, NAME, EXT_CUST_ID, LOOKUP, *(info_field(i) for i in info_fields)}
    keys = [header_key(h) for h in headers]
    mapping = [remembered.get(k, IGNORE) if remembered.get(k) in known else IGNORE for k in keys]
    taken = {f for f in mapping if f not in (IGNORE, NAME)}
    info_by_name = {header_key(name): info_field(i) for i, name in info_fields.items()}
    free_phones = [p for p in PHONES if p not in taken]
    for column, key in enumerate(keys):
        if mapping[column] != IGNORE or key in remembered:  # remembered as not imported
            continue
        field = _guess_one(key, info_by_name)
        if field == "phone":
            field = free_phones.pop(0) if free_phones else IGNORE
        elif field in taken:
            field = IGNORE
        if field not in (IGNORE, NAME):
            taken.add(field)
        mapping[column] = field
    return mapping


def remember(headers: Sequence[Cell], mapping: Sequence[str]) -> dict[str, str]:
    """What to remember of a mapping for the campaign's next import: field by header_key."""
    return {header_key(h): f for h, f in zip(headers, mapping, strict=True) if header_key(h)}


def check(mapping: Sequence[str], info_fields: Mapping[int, str]) -> None:
    """Raises MappingError for a mapping that cannot make call tasks."""
    known = {IGNORE, *PHONES, NAME, EXT_CUST_ID, LOOKUP, *(info_field(i) for i in info_fields)}
    unknown = [f for f in mapping if f not in known]
    if unknown:
        raise MappingError(f"unknown field {unknown[0]!r} (is the info field still defined?)")
    twice = sorted({f for f in mapping if f not in (IGNORE, NAME) and mapping.count(f) > 1})
    if twice:
        raise MappingError(f"{twice[0]} is mapped to more than one column")
    if NAME not in mapping:
        raise MappingError("map a column to the receiver name")
    if not any(p in mapping for p in PHONES):
        raise MappingError("map a column to phone number 1 (at least one number)")


class RowReader:
    """Turns rows into the calltask import's tasks (the API's JSON shape) by a checked mapping."""

    def __init__(self, mapping: Sequence[str], default_region: str | None) -> None:
        self.mapping = list(mapping)
        self.region = default_region
        self.name_columns = [c for c, f in enumerate(mapping) if f == NAME]
        self.phone_columns = [mapping.index(p) for p in PHONES if p in mapping]
        self.ext_column = mapping.index(EXT_CUST_ID) if EXT_CUST_ID in mapping else None
        self.lookup_column = mapping.index(LOOKUP) if LOOKUP in mapping else None
        self.info_columns = [
            (c, field_id) for c, f in enumerate(mapping) if (field_id := info_id(f)) is not None
        ]

    def task(self, row: Sequence[Cell]) -> dict[str, Any]:
        width = len(row)
        text = cells.text
        phone = cells.phone
        region = self.region
        name = " ".join(filter(None, (text(row[c]) for c in self.name_columns if c < width)))
        numbers = [n for c in self.phone_columns if c < width and (n := phone(row[c], region)[0])]
        task: dict[str, Any] = {"callReceiverName": name or None, "callNumberList": numbers}
        ext, lookup = self.ext_column, self.lookup_column
        if ext is not None and ext < width and (value := text(row[ext])):
            task["extCustId"] = value
        if lookup is not None and lookup < width and (value := text(row[lookup])):
            task["systemLookupCode"] = value
        properties = [
            {"emprId": field_id, "value": value}
            for c, field_id in self.info_columns
            if c < width and (value := text(row[c]))
        ]
        if properties:
            task["properties"] = properties
        return task


def header_and_rows(
    rows: Iterator[tuple[int, list[Cell]]], sheet: str
) -> tuple[list[Cell], Iterator[tuple[int, list[Cell]]]]:
    """The header row (the first filled one) and the rows below it; a sheet without rows
    below its header cannot be imported."""
    try:
        _, header = next(rows)
    except StopIteration:
        raise MappingError(f"the sheet {sheet!r} is empty") from None
    try:
        first = next(rows)
    except StopIteration:
        raise MappingError(f"the sheet {sheet!r} has no rows below its header") from None
    return header, itertools.chain([first], rows)


def read_tasks(
    rows: Iterable[tuple[int, list[Cell]]], reader: RowReader
) -> tuple[list[dict[str, Any]], list[int]]:
    """Every row as a task, and each task's row number (the import answers by task index)."""
    tasks = []
    numbers = []
    task = reader.task
    for number, row in rows:
        tasks.append(task(row))
        numbers.append(number)
    return tasks, numbers
