"""The full contact list streams: a real ``dialerd serve`` sends 40,000 contacts (about
70 MiB of JSON, more than the allowed RSS growth; DIALERD_STREAM_TEST_CONTACTS sets another
number, 1,000,000 was measured: see docs/contacts-api.md) while its peak RSS barely
moves."""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import socket
import sys
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from dialerd.store import contacts as store
from dialerd.store.pool import connect
from dialerd.store.sqlfiles import q
from dialerd.users.tokens import create_token
from tests.conftest import Api

CONTACTS = int(os.environ.get("DIALERD_STREAM_TEST_CONTACTS", 40_000))
MAX_PEAK_GROWTH_MB = 40
HEAD = '{"filter":"","limitStart":0,"limitPageSize":-1,"records":['


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def bulk_contacts(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int, n: int) -> None:
    """``n`` contacts with two numbers and a few free fields, in one statement."""
    await conn.execute(
        "INSERT INTO contacts (campaign_id, name, user_data, data, phone_numbers, number_tries,"
        " number_last_cause, number_end_reason, number_invalid, max_attempts,"
        " min_call_interval_h)"
        " SELECT $1, 'Kunde ' || i, 'U' || i,"
        "  jsonb_build_object('FirstName', 'Kari', 'City', 'Tromsø', 'Amount', i * 1.5),"
        "  ARRAY['+4791' || lpad(i::text, 6, '0'), '+4722' || lpad(i::text, 6, '0')],"
        "  '{0,0}', '{NULL,NULL}', '{NULL,NULL}', '{f,f}', 3, 12"
        " FROM generate_series(1, $2) AS i",
        campaign_id,
        n,
    )


async def read_stream(resp: aiohttp.ClientResponse) -> tuple[list[int], dict[str, Any], int]:
    """Parses the body record by record as it arrives, keeping none of them. Returns the
    records' IDs in order if there are few, else the first and last; the envelope without its
    records; the body's size in bytes."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buf, pos, size, in_records = "", 0, 0, False
    ids: list[int] = []
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        buf = buf[pos:] + utf8.decode(chunk)
        pos = 0
        if not in_records:
            if len(buf) < len(HEAD):
                continue
            assert buf.startswith(HEAD), buf[:100]
            pos, in_records = len(HEAD), True
        while True:
            pos += buf[pos : pos + 1] == ","  # between two records
            if buf[pos : pos + 1] != "{":
                break
            try:
                record, pos = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError:
                break  # the rest of this record is in the next chunk
            ids[1 if len(ids) > 1 else len(ids) :] = [record["ID"]]
    envelope = json.loads('{"records":[' + buf[pos:] + utf8.decode(b"", final=True))
    return ids, envelope, size


async def test_a_huge_list_streams_with_flat_server_memory(db_dsn: str) -> None:
    conn = await connect(db_dsn)
    try:
        await conn.execute("INSERT INTO campaigns (id, name) VALUES (1, 'Big'), (2, 'Small')")
        t0 = time.monotonic()
        await bulk_contacts(conn, 1, CONTACTS)
        await bulk_contacts(conn, 2, 2000)
        inserted = time.monotonic() - t0
        token = await create_token(conn, 1)
    finally:
        await conn.close()

    port = free_port()
    env = os.environ | {
        "DIALERD_DATABASE_URL": db_dsn,
        "DIALERD_HTTP_PORT": str(port),
        "DIALERD_LOG_FORMAT": "json",
    }
    env.pop("DIALERD_AMI_HOST", None)
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialerd.cli",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_read=120)
        ) as http:
            for _ in range(300):
                assert server.returncode is None, "dialerd serve exited on start"
                try:
                    async with http.get(base + "/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            # Warm up every code path once, then take the baseline.
            small = base + "/dialler/contacts?diallerCampaignsID=2"
            async with http.get(small, headers=headers) as resp:
                assert (await read_stream(resp))[1]["count"] == 2000
            baseline = peak_rss_mb(server.pid)

            t0 = time.monotonic()
            async with http.get(base + "/dialler/contacts", headers=headers) as resp:
                assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
                ids, envelope, size = await read_stream(resp)
            streamed = time.monotonic() - t0
            peak = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)

    assert ids == [1, CONTACTS + 2000]
    assert envelope == {
        "records": [], "count": CONTACTS + 2000, "orderBy": "ID", "ascending": True,
        "status": 200,
    }  # fmt: skip
    print(
        f"\n{envelope['count']} contacts, {size / 2**20:.0f} MiB of JSON streamed in"
        f" {streamed:.1f} s (inserted in {inserted:.1f} s);"
        f" server peak RSS {baseline:.1f} -> {peak:.1f} MiB"
    )
    assert peak - baseline < MAX_PEAK_GROWTH_MB


async def test_a_stream_cut_short_frees_its_connection(
    api: Api, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the 200 is out cuts the body off (never a short but valid list)."""
    await pool.execute("INSERT INTO campaigns (id, name) VALUES (1, 'Big')")
    await bulk_contacts(pool, 1, 3000)
    real = store.stream_contacts

    async def failing(*args: Any) -> AsyncGenerator[list[asyncpg.Record], None]:
        async for rows in real(*args):
            yield rows
            raise asyncpg.ConnectionDoesNotExistError("connection lost")

    monkeypatch.setattr(store, "stream_contacts", failing)
    headers = {"Authorization": f"Bearer {api.token}"}
    async with api.client.get("/dialler/contacts", headers=headers) as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    # The app still answers, and the stream's connection went back to the pool.
    monkeypatch.setattr(store, "stream_contacts", real)
    status, body = await api.request("GET", "/dialler/contacts")
    assert (status, body["count"]) == (200, 3000)
    await every_connection_idle(pool)

    # A client that hangs up mid-stream frees the connection too.
    async with api.client.get("/dialler/contacts", headers=headers) as resp:
        await resp.content.readexactly(1000)
        resp.close()
    await every_connection_idle(pool)


async def every_connection_idle(pool: asyncpg.Pool) -> None:
    """Waits (5 s at most) until every connection is back in the pool: the handler gives its
    connection back after the last byte is sent, so a client may have the answer first."""
    for _ in range(50):
        if pool.get_idle_size() == pool.get_size():
            return
        await asyncio.sleep(0.1)
    assert pool.get_idle_size() == pool.get_size()


def plan_nodes(plan: dict[str, Any]) -> list[str]:
    """Every node of an EXPLAIN (FORMAT JSON) plan as "<type> <index>"."""
    here = f"{plan['Node Type']} {plan.get('Index Name', '')}".strip()
    return [here] + [n for child in plan.get("Plans", []) for n in plan_nodes(child)]


async def test_lookups_by_user_data_use_their_index(pool: asyncpg.Pool) -> None:
    # The full list's plan is not asserted: Postgres rightly sorts a small table in memory, and
    # walks contacts_pkey without a sort at a million rows (see docs/contacts-api.md).
    await pool.execute("INSERT INTO campaigns (id, name) VALUES (1, 'A'), (2, 'B')")
    await bulk_contacts(pool, 1, 20_000)
    await bulk_contacts(pool, 2, 20_000)
    await pool.execute("ANALYZE contacts")
    cases: list[tuple[str, list[Any]]] = [
        ("contact_id_by_user_data", ["U5", 1]),
        ("contacts_by_user_data", ["U5", 1]),
        ("contact_history_by_user_data", ["U5", 1]),
        ("contact_duplicate", [2, "U5"]),
    ]
    for name, args in cases:
        explained = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {q(name)}", *args)
        nodes = plan_nodes(explained[0]["Plan"])  # the pool decodes json
        assert any(n.endswith("contacts_user_data") for n in nodes), (name, nodes)
