"""What the lab's dialer tests share: a harness over the test database, the REST API and the
lab (campaigns, contacts, the engine run in this process), ``dialerd serve`` as a subprocess,
the far end's own count of the calls it received, and a relay to AMI that can go silent."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from dialerd.config import Settings
from dialerd.service import Dialer, build_dialer, run_dialer
from tests.conftest import Api

if TYPE_CHECKING:  # conftest.py makes the fixtures of this module's classes
    from tests.pbx.conftest import Lab

ALWAYS = {"WindowStart": "00:00", "WindowEnd": "23:59", "WindowDays": [1, 2, 3, 4, 5, 6, 7]}
_numbers = itertools.count(1000)


def number(last_digit: int) -> str:
    """A fresh German number whose last digit picks the far end's behaviour."""
    return f"+49301{next(_numbers):05d}{last_digit}"


@dataclass
class Harness:
    api: Api
    pool: asyncpg.Pool
    lab: Lab
    settings: Settings
    dialer: Dialer | None = None  # the one running (or last run) in run_until

    def dialer_settings(self, **changes: Any) -> Settings:
        return self.settings.model_copy(
            update={
                "ami_host": self.lab.ami_host,
                "ami_port": self.lab.ami_port,
                "ami_username": self.lab.ami_username,
                "ami_secret": self.lab.ami_secret,
                "tick_seconds": 0.1,
                **changes,
            }
        )

    async def campaign(self, **fields: Any) -> int:
        body = {
            "Name": f"e2e-{next(_numbers)}",
            "Queue": "lab-agents",
            "DialString": "PJSIP/{number}@farend",
            "CallerID": '"dialerd" <+4940999999>',
            "RingTimeoutSeconds": 15,
            "MinCallIntervalHours": 1,
            **ALWAYS,
            **fields,
        }
        status, out = await self.api.request("POST", "/dialler/campaigns", json=body)
        assert status == 200, out
        return int(out["records"][0]["ID"])

    async def contact(self, campaign_id: int, *numbers: str) -> int:
        body: dict[str, Any] = {"Name": "e2e", "DiallerCampaignsID": campaign_id}
        body.update({f"PhoneNumber{i + 1}": n for i, n in enumerate(numbers)})
        status, out = await self.api.request("POST", "/dialler/contacts/import", json=body)
        assert status == 200, out
        return int(out["records"][0]["ID"])

    async def record(self, contact_id: int) -> dict[str, Any]:
        status, out = await self.api.request("GET", f"/dialler/contacts/{contact_id}")
        assert status == 200, out
        return dict(out["records"][0])

    async def history(self, contact_id: int) -> list[dict[str, Any]]:
        status, out = await self.api.request(
            "GET", f"/dialler/contacts/contact/{contact_id}/history"
        )
        if status == 404:
            return []
        assert status == 200, out
        return sorted(out["records"], key=lambda r: r["DiallerContactsHistoryID"])

    async def open_attempts(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM contacts WHERE state = 'open'"))

    async def all_closed(self, attempts: int) -> bool:
        """At least ``attempts`` calls placed, and all of them ended (an Originate never
        sent, CONNRES 0, is not a call)."""
        row = await self.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'closed') AS closed, count(*) AS total "
            "FROM contact_history WHERE connres IS DISTINCT FROM 0"
        )
        assert row is not None
        return bool(row["total"] >= attempts and row["closed"] == row["total"])

    async def run_until(
        self,
        done: Callable[[], Awaitable[bool]],
        within: float,
        *,
        during: Callable[[], Awaitable[None]] | None = None,
        **settings: Any,
    ) -> None:
        """Runs the engine in this process until ``done``, then stops it gracefully."""
        self.dialer = build_dialer(self.dialer_settings(**settings), self.pool)
        stop = asyncio.Event()
        task = asyncio.create_task(run_dialer(self.dialer, stop))
        try:
            if during is not None:
                await during()
            await wait_until(done, within)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
        await asyncio.sleep(self.lab.wrapup + 0.5)  # agents ready again for the next test


async def wait_until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not done within {within} s"
        await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Serve:
    """Starts ``dialerd serve`` processes on the test database and the lab, each with a free
    HTTP port, the stable instance id a restarted pod keeps, and ``env`` on top; kills what
    still runs at the end."""

    h: Harness
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        s = self.h.dialer_settings()
        return {
            **os.environ,
            "DIALERD_DATABASE_URL": str(s.database_url),
            "DIALERD_AMI_HOST": str(s.ami_host),
            "DIALERD_AMI_PORT": str(s.ami_port),
            "DIALERD_AMI_USERNAME": s.ami_username,
            "DIALERD_AMI_SECRET": s.ami_secret,
            "DIALERD_INSTANCE_ID": "e2e-node",  # a restarted pod keeps its name
            "DIALERD_TICK_SECONDS": "0.1",
            "DIALERD_CLAIM_LEASE_SECONDS": "10",
            "DIALERD_LOG_FORMAT": "json",
        }

    def __call__(self, log: Path | None = None, **env: str) -> subprocess.Popen[bytes]:
        """A new process; its output appended to ``log`` if given."""
        out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("dialerd")), "serve"],
                env={**self.env(), "DIALERD_HTTP_PORT": str(free_port()), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


_INVITE = re.compile(r"INVITE sip:([^@ \]]+)@")


@dataclass
class FarEndCalls:
    """The INVITEs the lab's far end received since this was made, by number: the far end's
    own record (its ``<log>`` line per call, ``sipp-farend-calls.log``), not dialerd's."""

    path: Path
    offset: int = 0

    @classmethod
    def since_now(cls, lab: Lab) -> FarEndCalls:
        path = lab.lab_dir / "log" / "sipp-farend-calls.log"
        return cls(path, path.stat().st_size if path.exists() else 0)

    def invites(self) -> Counter[str]:
        if not self.path.exists():
            return Counter()
        with self.path.open("rb") as f:
            f.seek(self.offset)
            text = f.read().decode(errors="replace")
        return Counter(m.group(1) for m in _INVITE.finditer(text))


class Blackhole:
    """A TCP relay to AMI that can stop carrying bytes without closing anything: what a
    crashed host or a dropped NAT entry looks like from our side."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.pipes: list[asyncio.Task[None]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        self.pipes += [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
        writer.close()

    def cut(self) -> None:
        """The current connections stop carrying data, both ways; new ones work."""
        for pipe in self.pipes:
            pipe.cancel()
        self.pipes.clear()

    async def close(self) -> None:
        self.cut()
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class FarEnds:
    """The far ends of several labs (several PBXs) counted as one: a number called through
    two of them is called twice."""

    labs: list[FarEndCalls]

    def invites(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for far_end in self.labs:
            found.update(far_end.invites())
        return found
