"""schemathesis against a really started ``dialerd serve`` (real Postgres, a token made by
``dialerd token create``), over every operation of /openapi.json: no server error and no
answer the document does not describe (status code, content type, headers, schema).

The database has a campaign, a calling system, an info field and contacts with history, so
that generated requests reach records and not only 404s. Each operation gets a bounded number
of examples (about a minute and a half on the 2-core machine); the generated requests are
printed (``-s``) and counted by the test.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from dialerd.api import examples
from dialerd.api.contacts import MAX_TEXT

BIN = Path(sys.executable).parent
MAX_EXAMPLES = 50
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _dialerd(env: dict[str, str], *args: str) -> str:
    """The ``dialerd`` command's output; it must succeed."""
    run = await asyncio.create_subprocess_exec(
        str(BIN / "dialerd"), *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await run.communicate()
    assert run.returncode == 0, (args, out)
    return out.decode().strip()


@pytest.fixture
async def served(db_dsn: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(base URL, token) of a ``dialerd serve`` on a free port over a database with data."""
    port = _free_port()
    env = os.environ | {
        "DIALERD_DATABASE_URL": db_dsn,
        "DIALERD_HTTP_PORT": str(port),
        "DIALERD_LOG_FORMAT": "json",
        "DIALERD_LOG_LEVEL": "warning",
    }
    env.pop("DIALERD_AMI_HOST", None)
    token = await _dialerd(env, "token", "create", "--client", "1")
    await _dialerd(env, "system", "add", "MY_SYSTEM")
    await _dialerd(env, "infofield", "add", "216", "City")
    campaign = ("--id", "123", "--name", "Spring", "--queue", "sales")
    dials = ("--dial-string", "PJSIP/{number}@trunk", "--caller-id", '"Spring" <+4722334455>')
    await _dialerd(env, "campaign", "create", *campaign, *dials)
    log = (tmp_path / "serve.log").open("wb")
    server = await asyncio.create_subprocess_exec(
        str(BIN / "dialerd"), "serve", env=env, stderr=log, stdout=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(
            base, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            # A loaded machine took 26 s to start it: the deadline is for a serve that hangs.
            deadline = time.monotonic() + 90
            while True:
                try:
                    async with http.get("/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    if server.returncode is not None or time.monotonic() > deadline:
                        pytest.fail("dialerd serve did not answer /health (serve.log)")
                    await asyncio.sleep(0.1)
            body = examples.CALLTASK_REQUEST
            async with http.post("/itxdialer/calltaskimport", json=body) as resp:
                assert resp.status == 200, await resp.text()
            # The longest UserData, every character 12 bytes in the URL, fits the request
            # line (aiohttp's default of 8190 bytes answered in plain text).
            user_data = {"userData": "\U0001f600" * MAX_TEXT}
            async with http.get("/dialler/contacts/contact", params=user_data) as resp:
                assert (resp.status, resp.content_type) == (404, "application/json")
        conn = await asyncpg.connect(db_dsn)
        try:  # an attempt in history, so that the history answers have a record to show
            await conn.execute(
                "INSERT INTO contact_history (contact_id, campaign_id, client_id, phone_number,"
                " phone_number_offset, status, connres, cause_code, dt_call_start, dt_call_end)"
                " SELECT id, campaign_id, 1, phone_numbers[1], 1, 'closed', 1, 16, now(), now()"
                " FROM contacts"
            )
        finally:
            await conn.close()
        yield base, token
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)
        log.close()


async def test_schemathesis_finds_nothing(served: tuple[str, str], tmp_path: Path) -> None:
    base, token = served
    run = await asyncio.create_subprocess_exec(
        str(BIN / "schemathesis"),
        "run",
        f"{base}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        # One worker: hypothesis reads its filters' source with ast.parse, which on CPython
        # 3.11 before 3.11.8 can raise a spurious "AST constructor recursion depth mismatch"
        # in a threaded program (CPython gh-106905); with two worker threads a fresh clone's
        # run did, in the coverage phase.
        "--workers",
        "1",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,  # its cache (.schemathesis/) stays out of the checkout
        env=os.environ | {"NO_COLOR": "1"},
    )
    out, _ = await run.communicate()
    text = out.decode()
    print(text)
    assert run.returncode == 0, text[-6000:]
    generated = re.search(r"Test cases:\s+(\d+) generated", text)
    assert generated and int(generated.group(1)) > 500, text[-2000:]
    # Every operation of the document was tested.
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", text)
    assert operations and len(set(operations.groups())) == 1, text[-2000:]
