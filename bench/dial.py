"""Benchmark: what the dialer spends per call against the lab, next to what Asterisk spends on
the same calls and to bare Originates; and how many calls in flight one dialerd drives before
its event loop lags.

**Cost** (the default). Each round has two sides, one after the other, each on a lab with no
channels left:

- bare: ``--calls`` async Originates at once through a bare panoramisk client
  (bench/bare_originates.py, a process of its own) into the dialplan's ``dialerd-outbound``
  and the lab's ``bench`` queue (auto-answer Local members: agents are no limit);
- dialer: a fresh ``dialerd serve`` (its own process, with the dialer) dials as many call tasks
  of a campaign on that queue (ratio mode, DialRatio 100), whose far end answers (last digit 0).

For each side the CPU seconds (utime + stime from /proc) of every process taking part, from
just before the first Originate until the lab has no channels left: the client (dialerd serve
or the bare one), the Postgres backends of the bench database (dialerd's pool; the bench's own
connection is left out), Asterisk and the sipp far end; per 1,000 calls. The CPU seconds of
the processes' start (imports, login, migrations) are not in them. Then dialerd / Asterisk
(of the dialer's calls) and dialerd / the bare client. Rates as before: calls / (last answer
- first Originate), the far end's 1 s of ringing in both; the lab's rate swings a lot from
round to round, its CPU seconds per call much less. It prints each round with the load
average, the dialer's outcomes and the worst lag of dialerd's event loop
(``dialerd_event_loop_lag_seconds``), then the medians with their ranges and whether every
attempt was closed in history.

**Ramp** (``--ramp``). One ``dialerd serve`` with the default tick and Originate rate dials call
tasks whose far end rings and never answers (last digit 6) with a ring timeout of an hour, so
every call placed stays in flight; ``--step`` more call tasks each step. Each step waits until
dialerd has them all in flight, holds ``--hold`` seconds, and prints the calls in flight,
Asterisk's channels, the event loop's lag over the step (samples, mean, worst, how many over
100 ms) and the CPU share of dialerd and Asterisk. It stops at the first step whose worst lag is
over 100 ms, when the lab cannot take the step's calls (not all in flight within 120 s, or
calls failing), or at ``--max-calls``; then hangs up every channel and waits for the attempts to
be closed.

    scripts/lab.sh up      # prints DIALERD_AMI_* and LAB_DIR lines: export them
    .venv/bin/python bench/dial.py [--calls 1000] [--rounds 3]
    .venv/bin/python bench/dial.py --ramp [--step 250] [--max-calls 4000] [--hold 10]
    .venv/bin/python bench/dial.py --profile /tmp/dial.prof   # dialerd serve under cProfile
    scripts/lab.sh down

The lab's processes are found by LAB_DIR's pid files (default ``<repo>/.lab``).
DIALERD_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the
server; a database ``dialerd_bench_<random>`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from import_calltasks import ADMIN_DSN, ROOT, cpu_seconds, free_port  # bench/ is this folder
from prometheus_client.parser import text_string_to_metric_families
from yarl import URL

from dialerd import logs
from dialerd.config import Settings
from dialerd.pbx.ami import AmiConnection
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect

QUEUE = "bench"
ACTIVE_CHANNELS = re.compile(r"(\d+) active channels?$")
LAG = "dialerd_event_loop_lag_seconds"
LAG_LIMIT_S = 0.1


def numbers(n: int, series: str, digit: int = 0) -> list[str]:
    return [f"+4930{series}{i:06d}{digit}" for i in range(n)]


@dataclass(frozen=True)
class Lab:
    """The lab's processes, by the pid files of ``scripts/lab.sh up``."""

    asterisk: int
    farend: int

    @classmethod
    def find(cls) -> Lab:
        run = Path(os.environ.get("LAB_DIR", ROOT / ".lab")) / "run"
        try:
            return cls(
                int((run / "lab-asterisk.pid").read_text()),
                int((run / "sipp-farend.pid").read_text()),
            )
        except OSError as exc:
            raise SystemExit(f"no lab in {run.parent} (scripts/lab.sh up; LAB_DIR): {exc}") from exc


async def channel_count(ami: AmiConnection) -> int:
    """Active channels in the lab, from the output of ``core show channels count``."""
    reply = await ami.send({"Action": "Command", "Command": "core show channels count"}, timeout=10)
    for line in (reply[0].get("Output") or "").splitlines():
        found = ACTIVE_CHANNELS.match(line.strip())
        if found:
            return int(found.group(1))
    raise RuntimeError(f"no channel count in the reply to core show channels count: {reply!r}")


async def until(done: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    """Polls ``done`` every 0.25 s; False if it is still not done after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.25)
    return True


async def wait_idle(ami: AmiConnection, seconds: float = 120) -> None:
    """Until the lab has no channels left."""
    deadline = time.monotonic() + seconds
    while count := await channel_count(ami):
        if time.monotonic() > deadline:
            raise SystemExit(f"the lab still has {count} channels after {seconds:.0f} s")
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def control(settings: Settings) -> AsyncIterator[AmiConnection]:
    """An AMI session of the bench's own that gets no events: it only counts channels."""
    assert settings.ami_host is not None
    ami = AmiConnection(
        settings.ami_host, settings.ami_port, settings.ami_username, settings.ami_secret
    )
    await ami.start()
    try:
        await ami.wait_ready(10)
        await ami.send({"Action": "Events", "EventMask": "off"})
        yield ami
    finally:
        await ami.stop()


@dataclass
class Meter:
    """CPU seconds of groups of processes since the meter was made; Postgres's group is the
    bench database's backends but the bench's own, those that start later included."""

    conn: asyncpg.Connection
    database: str
    pids: dict[str, list[int]]
    before: dict[str, float] = field(default_factory=dict)
    backends: dict[int, float] = field(default_factory=dict)
    started: float = 0.0

    async def _backends(self) -> list[int]:
        rows = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.database,
        )
        return [r["pid"] for r in rows]

    async def start(self) -> None:
        self.before = {name: cpu_seconds(pids) for name, pids in self.pids.items()}
        self.backends = {pid: cpu_seconds([pid]) for pid in await self._backends()}
        self.started = time.monotonic()

    async def read(self) -> dict[str, float]:
        spent = {name: cpu_seconds(pids) - self.before[name] for name, pids in self.pids.items()}
        pids = await self._backends()
        spent["postgres"] = sum(cpu_seconds([p]) - self.backends.get(p, 0.0) for p in pids)
        spent["wall"] = time.monotonic() - self.started
        return spent


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Side:
    """One side of a round: calls/s, calls answered (bare) or closed (dialer), CPU seconds."""

    rate: float
    done: int
    cpu: dict[str, float]
    lost: str | None = None

    def per_1000(self, name: str, calls: int) -> float:
        return self.cpu[name] * 1000 / calls


async def bare_side(
    ami: AmiConnection, conn: asyncpg.Connection, database: str, lab: Lab, calls: int, no: int
) -> Side:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "bare_originates.py"),
        f"--calls={calls}",
        "--series=1",
        f"--prefix=bench-raw-{no}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        if (await asyncio.wait_for(child.stdout.readline(), 30)).strip() != b"ready":
            raise SystemExit("bench/bare_originates.py did not log in")
        meter = Meter(
            conn,
            database,
            {"client": [child.pid], "asterisk": [lab.asterisk], "farend": [lab.farend]},
        )
        await meter.start()
        child.stdin.write(b"go\n")
        result = json.loads(await child.stdout.readline())
        await wait_idle(ami)
        cpu = await meter.read()
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 30)
    return Side(calls / result["seconds"], result["answered"], cpu, result["lost"])


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """The samples of /metrics by name and labels: ``name{a="1"}``."""
    async with session.get(url) as resp:
        text = await resp.text()
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True) * bool(sample.labels): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def in_flight(samples: dict[str, float]) -> int:
    return int(sum(v for k, v in samples.items() if k.startswith("dialerd_calls_in_flight{")))


@dataclass(frozen=True)
class Lag:
    """A histogram of seconds between two scrapes: the event loop's lag, or another's (the
    engine's tick)."""

    samples: int
    mean_s: float
    worst_s: float  # the upper bound of the highest bucket with a sample (inf: over the last)
    over_limit: int
    p99_s: float  # the upper bound of the bucket that holds the 99th percentile

    @classmethod
    def between(cls, a: dict[str, float], b: dict[str, float], name: str = LAG) -> Lag:
        buckets = sorted(
            (float(json.loads(k[len(name) + 7 :])["le"]), b[k] - a.get(k, 0.0))
            for k in b
            if k.startswith(f"{name}_bucket")
        )
        samples = int(b[f"{name}_count"] - a.get(f"{name}_count", 0.0))
        worst = next((le for le, n in buckets if n >= samples), float("inf"))
        p99 = next((le for le, n in buckets if n >= 0.99 * samples), float("inf"))
        at_limit = next(n for le, n in buckets if le == LAG_LIMIT_S)
        mean = (b[f"{name}_sum"] - a.get(f"{name}_sum", 0.0)) / max(samples, 1)
        return cls(samples, mean, worst, int(samples - at_limit), p99)

    def __str__(self) -> str:
        def bound(s: float) -> str:
            return f"<= {s * 1000:g} ms" if s < float("inf") else "over the highest bucket"

        return (
            f"{self.samples} samples, mean {self.mean_s * 1000:.1f} ms, p99 {bound(self.p99_s)},"
            f" worst {bound(self.worst_s)}, {self.over_limit} over {LAG_LIMIT_S * 1000:.0f} ms"
        )


@contextlib.asynccontextmanager
async def serving(
    base: Settings,
    dsn: str,
    session: aiohttp.ClientSession,
    env: dict[str, str],
    profile: Path | None = None,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``dialerd serve`` with the dialer: (the process, its /metrics URL) once its AMI
    connection is ready; SIGTERM (drain) at the end. With ``profile``, under cProfile timing
    CPU seconds, which writes its statistics there when the process ends."""
    port = free_port()
    settings = {
        "DIALERD_DATABASE_URL": dsn,
        "DIALERD_HTTP_PORT": str(free_port()),
        "DIALERD_METRICS_PORT": str(port),
        "DIALERD_LOG_LEVEL": "warning",
        "DIALERD_INSTANCE_ID": f"bench-{uuid.uuid4().hex[:6]}",
        "DIALERD_AMI_HOST": str(base.ami_host),
        "DIALERD_AMI_PORT": str(base.ami_port),
        "DIALERD_AMI_USERNAME": base.ami_username,
        "DIALERD_AMI_SECRET": base.ami_secret,
    }
    # CPU time, not wall time: on a loaded machine a process waiting for a core would charge
    # the wait to whatever it was running.
    profiled = (
        "-c",
        "import cProfile, runpy, sys, time\n"
        "p = cProfile.Profile(time.process_time)\n"
        "sys.argv = ['dialerd', 'serve']\n"
        "p.enable()\n"
        "try:\n"
        "    runpy.run_module('dialerd.cli', run_name='__main__')\n"
        "finally:\n"
        f"    p.disable(); p.dump_stats({str(profile)!r})\n",
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        *(profiled if profile else ("-m", "dialerd.cli", "serve")),
        env=os.environ | settings | env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        for _ in range(600):
            if server.returncode is not None:
                raise SystemExit("dialerd serve exited")
            with contextlib.suppress(aiohttp.ClientConnectionError):
                if (await scrape(session, url)).get("dialerd_ami_connected") == 1:
                    break
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("dialerd serve's AMI connection was not ready in 30 s")
        yield server, url
    finally:
        if server.returncode is None:
            server.terminate()
        await asyncio.wait_for(server.wait(), 120)


async def add_campaign(
    conn: asyncpg.Connection, name: str, ratio: float, ring_timeout_s: int
) -> int:
    campaign: int = await conn.fetchval(
        """INSERT INTO campaigns (name, queue, dial_string, caller_id, dial_mode, dial_ratio,
               ring_timeout_s, agent_timeout_s, window_start, window_end, window_days,
               min_call_interval_h)
           VALUES ($2, $1, 'PJSIP/{number}@farend', '"bench" <4940999999>', 'ratio', $3,
                   $4, 10, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 1)
           RETURNING id""",
        QUEUE,
        name,
        ratio,
        ring_timeout_s,
    )
    return campaign


async def add_contacts(conn: asyncpg.Connection, campaign: int, phones: list[str]) -> None:
    # Bulk load of the tasks: the import API has its own benchmark.
    await conn.execute(
        """INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries,
               number_last_cause, number_end_reason, number_invalid, max_attempts,
               min_call_interval_h)
           SELECT $1, 'bench', ARRAY[num], '{0}', '{0}', '{0}', '{f}', 3, 1
           FROM unnest($2::text[]) AS num""",
        campaign,
        phones,
    )


async def closed_count(conn: asyncpg.Connection, campaign: int) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM contact_history WHERE status = 'closed' AND campaign_id = $1",
        campaign,
    )
    return count


# The engine as before: a short tick and no rate cap, so that dialerd is no slower than the lab.
FAST = {
    "DIALERD_MAX_CALLS_IN_FLIGHT": "5000",
    "DIALERD_MAX_ORIGINATE_RATE": "10000",
    "DIALERD_TICK_SECONDS": "0.05",
}


async def dialer_side(
    ami: AmiConnection,
    conn: asyncpg.Connection,
    database: str,
    dsn: str,
    lab: Lab,
    base: Settings,
    calls: int,
    no: int,
    profile: Path | None,
) -> tuple[Side, dict[str, int], Lag]:
    """The dialer's side; with its outcomes (per CONNRES/cause/detail) and its loop's lag."""
    async with (
        aiohttp.ClientSession() as session,
        serving(base, dsn, session, FAST, profile) as (server, url),
    ):
        meter = Meter(
            conn,
            database,
            {"client": [server.pid], "asterisk": [lab.asterisk], "farend": [lab.farend]},
        )
        lag_before = await scrape(session, url)
        await meter.start()
        campaign = await add_campaign(conn, f"bench {no}", 100, 15)
        await add_contacts(conn, campaign, numbers(calls, "2"))

        async def all_closed() -> bool:
            return await closed_count(conn, campaign) >= calls

        await until(all_closed, 300)
        await wait_idle(ami)
        cpu = await meter.read()
        lag = Lag.between(lag_before, await scrape(session, url))
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'closed') AS closed,
                  extract(epoch FROM max(dt_call_connect) - min(dt_call_start)) AS answered_s
           FROM contact_history WHERE campaign_id = $1""",
        campaign,
    )
    assert row is not None
    outcomes = await conn.fetch(
        "SELECT connres, cause_code, detail, count(*) AS n FROM contact_history"
        " WHERE campaign_id = $1 GROUP BY 1, 2, 3",
        campaign,
    )
    side = Side(calls / float(row["answered_s"] or 1e-9), int(row["closed"]), cpu)
    found = {f"{r['connres']}/{r['cause_code']}/{r['detail'] or '-'}": r["n"] for r in outcomes}
    return side, found, lag


def spread(values: list[float], digits: int = 2) -> str:
    """The median and the range."""
    return (
        f"median {statistics.median(values):.{digits}f}"
        f" ({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def round_lines(calls: int, bare: Side, dialer: Side, lag: Lag) -> list[str]:
    def per(side: Side, name: str) -> str:
        return f"{side.per_1000(name, calls):.2f}"

    lost = f", LOST ITS CONNECTION: {bare.lost}" if bare.lost else ""
    cpu = dialer.cpu
    return [
        f"  bare   {bare.rate:6.1f} calls/s ({bare.done} answered{lost}); CPU s per 1,000 calls:"
        f" client {per(bare, 'client')}, Asterisk {per(bare, 'asterisk')},"
        f" far end {per(bare, 'farend')}",
        f"  dialer {dialer.rate:6.1f} calls/s ({dialer.done} closed); CPU s per 1,000 calls:"
        f" dialerd {per(dialer, 'client')} + Postgres {per(dialer, 'postgres')},"
        f" Asterisk {per(dialer, 'asterisk')}, far end {per(dialer, 'farend')}",
        f"  dialerd / Asterisk {cpu['client'] / cpu['asterisk']:.1%} (with Postgres"
        f" {(cpu['client'] + cpu['postgres']) / cpu['asterisk']:.1%}), dialerd / bare client"
        f" {cpu['client'] / bare.cpu['client']:.2f}x; dialerd's loop lag: {lag}",
    ]


async def cost(
    ami: AmiConnection,
    conn: asyncpg.Connection,
    database: str,
    dsn: str,
    base: Settings,
    calls: int,
    rounds: int,
    profile: Path | None,
) -> None:
    lab = Lab.find()
    bares: list[Side] = []
    dialers: list[Side] = []
    closed_all = True
    for no in range(1, rounds + 1):
        await wait_idle(ami)
        bare = await bare_side(ami, conn, database, lab, calls, no)
        print(f"round {no}: bare {bare.rate:.1f} calls/s, {bare.done} answered", flush=True)
        await wait_idle(ami)
        where = profile and profile.with_name(f"{profile.stem}-{no}{profile.suffix}")
        dialer, outcomes, lag = await dialer_side(
            ami, conn, database, dsn, lab, base, calls, no, where
        )
        closed_all &= dialer.done == calls
        lines = round_lines(calls, bare, dialer, lag)
        print(f"round {no} (load average {load()}):", *lines, sep="\n")
        print(f"  dialer outcomes, CONNRES/cause/detail: {outcomes}", flush=True)
        if bare.lost is None:
            bares.append(bare)
        dialers.append(dialer)
    if not bares:
        raise SystemExit("the bare client lost its connection in every round")

    def of(sides: list[Side], name: str) -> list[float]:
        return [s.per_1000(name, calls) for s in sides]

    dialerd = statistics.median(of(dialers, "client"))
    asterisk = statistics.median(of(dialers, "asterisk"))
    client = statistics.median(of(bares, "client"))
    print(
        f"\n{len(dialers)} rounds ({len(bares)} of the bare client's), load average now {load()}\n"
        f"rates, calls/s: bare {spread([s.rate for s in bares], 1)},"
        f" dialer {spread([s.rate for s in dialers], 1)}\n"
        f"CPU s per 1,000 calls, bare  : client {spread(of(bares, 'client'))},"
        f" Asterisk {spread(of(bares, 'asterisk'))}, far end {spread(of(bares, 'farend'))}\n"
        f"CPU s per 1,000 calls, dialer: dialerd {spread(of(dialers, 'client'))},"
        f" Postgres {spread(of(dialers, 'postgres'))}, Asterisk {spread(of(dialers, 'asterisk'))},"
        f" far end {spread(of(dialers, 'farend'))}\n"
        f"dialerd / Asterisk (medians)   : {dialerd / asterisk:6.1%} (target <= 10%)\n"
        f"dialerd / bare client (medians): {dialerd / client:6.2f}x (target <= 3x)\n"
        f"history: every attempt closed in every round: {closed_all}"
    )


async def ramp(
    ami: AmiConnection,
    conn: asyncpg.Connection,
    dsn: str,
    base: Settings,
    step: int,
    max_calls: int,
    hold: float,
) -> None:
    lab = Lab.find()
    env = {"DIALERD_MAX_CALLS_IN_FLIGHT": str(max_calls)}
    async with (
        aiohttp.ClientSession() as session,
        serving(base, dsn, session, env) as (server, url),
    ):
        settings = Settings()
        print(
            f"dialerd serve: tick {settings.tick_seconds} s, at most"
            f" {settings.max_originate_rate:g} Originates/s; far end rings, never answers"
        )
        # Every free agent may have any number of lines: only the steps limit the calls.
        campaign = await add_campaign(conn, "ramp", 10_000, 3600)
        target = 0
        verdict = f"--max-calls {max_calls} reached"
        while target < max_calls:
            target = min(target + step, max_calls)
            before = await scrape(session, url)
            cpu = {"dialerd": [server.pid], "asterisk": [lab.asterisk]}
            spent_before = {k: cpu_seconds(v) for k, v in cpu.items()}
            started = time.monotonic()
            await add_contacts(conn, campaign, numbers(step, f"3{target // step:02d}", 6))
            deadline = started + 120
            while (flying := in_flight(await scrape(session, url))) < target:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
            await asyncio.sleep(hold)
            after = await scrape(session, url)
            wall = time.monotonic() - started
            share = {k: (cpu_seconds(v) - spent_before[k]) / wall for k, v in cpu.items()}
            channels = await channel_count(ami)
            failed = await closed_count(conn, campaign)
            lag = Lag.between(before, after)
            print(
                f"{in_flight(after):5d} calls in flight ({channels} channels, {failed} closed),"
                f" {wall:5.1f} s: loop lag {lag}; CPU dialerd {share['dialerd']:.0%},"
                f" Asterisk {share['asterisk']:.0%}; load average {load()}",
                flush=True,
            )
            if lag.worst_s > LAG_LIMIT_S:
                verdict = f"dialerd's loop lagged over 100 ms with {target} calls in flight"
                break
            if flying < target or failed:
                verdict = (
                    f"the lab did not take {target} calls in flight ({flying}, {failed} closed)"
                )
                break
        print(verdict)
        await ami.send({"Action": "Command", "Command": "channel request hangup all"})
        await wait_idle(ami)

        async def none_in_flight() -> bool:
            return not in_flight(await scrape(session, url))

        await until(none_in_flight, 120)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="bare then dialer, this many times (the lab is noisy)"
    )
    parser.add_argument("--ramp", action="store_true", help="calls in flight against loop lag")
    parser.add_argument("--step", type=int, default=250)
    parser.add_argument("--max-calls", type=int, default=4000)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument(
        "--profile",
        type=Path,
        help="run dialerd serve under cProfile, its statistics a file per round (NAME-1.prof…);"
        " its CPU seconds are then cProfile's too",
    )
    args = parser.parse_args()
    logs.configure("console", "warning")
    base = Settings()
    if not base.ami_host:
        raise SystemExit(
            "set DIALERD_AMI_HOST/PORT/USERNAME/SECRET (scripts/lab.sh up prints them)"
        )
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores, load average {load()}")
    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    try:
        conn = await connect(dsn)
        await migrate(conn)
        # Attempt ids of one length: Asterisk refuses a ChannelId that is the start of a live
        # channel's (dialerd-1 while dialerd-10 is up), as a burst's Originates can overtake.
        await conn.execute("SELECT setval('contact_history_id_seq', 1000000)")
        async with control(base) as ami:
            if args.ramp:
                await ramp(ami, conn, dsn, base, args.step, args.max_calls, args.hold)
            else:
                await cost(ami, conn, name, dsn, base, args.calls, args.rounds, args.profile)
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
