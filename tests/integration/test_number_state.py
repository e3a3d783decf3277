"""A never-called number's state is defined twice, once per language: SQL's
fresh_number_state (migration 0006) for the statements that write it, NumberSlot's defaults
for the rows Python writes (the call-task COPY, the contacts API). They must agree."""

from __future__ import annotations

import asyncpg

from dialerd.domain import NumberSlot
from dialerd.store.slots import columns


async def test_sql_and_python_fresh_number_state_agree(pool: asyncpg.Pool) -> None:
    numbers = ["+4930100000", "+4930100001", "+4930100002"]
    row = await pool.fetchrow("SELECT * FROM fresh_number_state($1::text[])", numbers)
    assert row is not None
    sql = (row["tries"], row["last_cause"], row["end_reason"], row["invalid"])
    python = columns([NumberSlot(n) for n in numbers])[1:]
    assert sql == python
