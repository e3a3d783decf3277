"""Loads ``sql/queries/*.sql`` into a dict of named queries, once.

A file holds blocks that start with a line ``-- name: <query_name>``; the comment lines right
below it say what the query does. Parameters are always positional ($1, $2, …).
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def sql_dir() -> Path:
    override = os.environ.get("DIALERD_SQL_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "sql"


def parse_named_queries(text: str) -> dict[str, str]:
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


@cache
def queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((sql_dir() / "queries").glob("*.sql")):
        for name, body in parse_named_queries(path.read_text()).items():
            if name in found:
                raise ValueError(f"query {name!r} is defined twice ({path.name})")
            found[name] = body
    return found


def q(name: str) -> str:
    """The text of the named query ``name``."""
    return queries()[name]
