"""The one reader of JSON request bodies. Each API words its refusals its own way; all are 400
in the envelope of the API the path belongs to (errors_middleware)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web


@dataclass(frozen=True, slots=True)
class BodyTexts:
    missing: str
    malformed: str  # followed by ": <the parser's message>"
    not_object: str


class BadBody(Exception):
    """A body that is missing, not JSON, or not a JSON object."""


def parse_object(raw: bytes, texts: BodyTexts) -> dict[str, Any]:
    if not raw.strip():
        raise BadBody(texts.missing)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"{texts.malformed}: {exc}") from None
    if not isinstance(body, dict):
        raise BadBody(texts.not_object)
    return body


async def read_object(request: web.Request, texts: BodyTexts) -> dict[str, Any]:
    """The body's JSON object. Parsed in a thread: a calltask import may be 64 MiB, and the
    event loop (the dialer runs in the same process) keeps going meanwhile. Over the size
    limit, aiohttp's 413 becomes the API's own envelope in errors_middleware."""
    raw = await request.read()
    return await asyncio.to_thread(parse_object, raw, texts)
