"""A call task as the import checked it.

Domain-level so that both the import (``dialerd.calltasks``), which makes them, and the store
(``dialerd.store.calltasks``), which writes them, can use them without the store depending on
the import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Task:
    index: int
    name: str
    numbers: list[str]  # E.164
    ext_cust_id: str | None
    system_lookup_code: str | None
    properties: dict[str, str]  # info field id (as text, a JSON key) -> value
