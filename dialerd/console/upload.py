"""Reading a multipart upload of the console (an import's file, a do-not-call file)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

_CHUNK_BYTES = 1 << 18  # of an upload, read and written at a time
_MAX_FIELD = 100  # characters of a form field kept


@dataclass
class Upload:
    """The form's fields (text) and its file's name ("": none was sent) and size."""

    fields: dict[str, str] = field(default_factory=dict)
    name: str = ""
    size: int = 0


async def read_upload(request: web.Request, max_bytes: int, target: Path) -> Upload:
    """The multipart form, its part ``file`` written to ``target`` as it comes, a chunk at a
    time; it is not read past the first chunk over ``max_bytes``."""
    upload = Upload()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.name != "file":
            upload.fields[part.name] = (await part.text()).strip()[:_MAX_FIELD]
            continue
        upload.name = part.filename or "upload"
        file = await asyncio.to_thread(target.open, "wb")
        with file:
            upload.size = 0
            while upload.size <= max_bytes and (chunk := await part.read_chunk(_CHUNK_BYTES)):
                await asyncio.to_thread(file.write, chunk)
                upload.size += len(chunk)
    return upload
