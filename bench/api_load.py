"""Benchmark: the APIs under load while a campaign dials.

The lab up (its own LAB_DIR, ``.lab-apiload``, and free ports; taken down at the end), one
``dialerd serve`` (its own process, the production tick and pool settings) dialling a
predictive campaign on the lab's agents with enough contacts for the whole run, and, in a
process of their own (so that their CPU is not dialerd's), ``--clients`` HTTP clients with real
tokens, each in a loop: a request, then a pause drawn around ``--think`` seconds. The requests
follow one deck of kinds dealt in turn to whoever asks next:

- ``calltask import``: 20 new call tasks, ``POST /itxdialer/calltaskimport``;
- ``calltask import async``: the same with ``?importAsync=true``, then its ``statusUrl`` polled
  every 0.2 s (``calltask import status``: 202 while queued is the expected answer) until it is
  done (``calltask import async, done``: from the POST to the finished answer);
- ``contact import``: one contact, ``POST /dialler/contacts/import``; ``contact import,
  refused``: one with an impossible number, whose expected answer is 400 in the envelope;
- ``contact read`` (by id), ``contact by userData``, ``contact history``: contacts of the
  dialling campaign, whose attempts are being written meanwhile;
- ``contacts list``: the dialling campaign's whole list, streamed.

Imports go to a campaign of their own that does not dial. An error is any answer other than
the expected one (status and envelope), a timeout (30 s) or a lost connection. The report:
requests per kind with p50/p99/max latency, the errors, the engine's tick
(``dialerd_tick_seconds``) and the event loop's lag (``dialerd_event_loop_lag_seconds``) over
the load and over ``--baseline`` seconds of dialling before it (p99 and max as the bounds of
their histogram buckets), calls placed and closed during the load, the CPU seconds of dialerd
and of the clients, and the machine's load average.

    .venv/bin/python bench/api_load.py [--seconds 120] [--clients 100] [--think 1.0]
        [--baseline 20] [--agents 10] [--contacts 2000]

DIALERD_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the
server; a database ``dialerd_bench_<random>`` is created there and dropped afterwards.
``tests/pbx/test_api_load_lab.py`` runs ``measure`` for a few seconds with a few clients on the
test lab.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from dial import Lag, load, scrape  # bench/ is this script's folder
from import_calltasks import ADMIN_DSN, ROOT, cpu_seconds, free_port, wait_healthy
from sim_real import lab_ports, lab_sh
from yarl import URL

sys.path.insert(0, str(ROOT))  # the repository: the faults test's count of the far end's calls

from dialerd import logs
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect
from dialerd.store.sqlfiles import q
from dialerd.users.tokens import create_token
from tests.pbx.harness import FarEndCalls
from tests.pbx.test_faults_lab import Tally as Calls
from tests.pbx.test_faults_lab import claims_left
from tests.pbx.test_faults_lab import tally as count_calls

SYSTEM = "APILOAD"
TASKS_PER_IMPORT = 20
TIMEOUT_S = 30.0
POLL_S = 0.2
OK = (200,)
ASYNC_DONE_S = 60.0  # an async import not finished by then is an error
TICK = "dialerd_tick_seconds"
# Its own lab: LAB_DIR and RTP ports apart from the other labs' (and bench/sim_real.py's).
LAB = {
    "LAB_DIR": str(ROOT / ".lab-apiload"),
    "LAB_RTP_START": "32000",
    "LAB_RTP_END": "32999",
    "LAB_PROFILE": "default",
}
# The far end by the number's last digit: 0-3 answer, 5 busy, 6 rings out, 7 congestion
# (asterisk_conf/lab/README.md): 70% answered.
DIGITS = (0, 1, 2, 3, 5, 0, 1, 6, 7, 2)

# How often each kind comes up in the deck (out of 50).
DECK = {
    "calltask import": 4,
    "calltask import async": 2,
    "contact import": 10,
    "contact import, refused": 2,
    "contact read": 14,
    "contact by userData": 5,
    "contact history": 12,
    "contacts list": 1,
}
# Requests that are not dealt but follow from one that was.
FOLLOWERS = ("calltask import status", "calltask import async, done")


@dataclass(frozen=True)
class Plan:
    """What the clients' process needs: where, who, what to read, for how long."""

    base: str
    token: str
    dialling: int  # the campaign that dials (read)
    imports: int  # the campaign imports go to (not dialling)
    contacts: list[int]  # the dialling campaign's contact ids
    user_data: list[str]  # their UserData
    seconds: float
    clients: int
    think_s: float
    seed: int = 1


@dataclass
class Answers:
    """Per kind: latencies of the requests answered as expected, and the errors."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # the first errors, for the report

    def ok(self, kind: str, seconds: float) -> None:
        self.seconds.setdefault(kind, []).append(seconds)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {what}")


class Unexpected(Exception):
    """An answer other than the one the request expects."""


def phone(rng: random.Random) -> str:
    return f"+4930{rng.randrange(10**7):07d}{rng.choice(DIGITS)}"


class Dealer:
    """Hands out the deck's kinds in turn (shuffled once) until time is up, and at least once
    round the deck whatever the time: a short run asks for every kind."""

    def __init__(self, seconds: float, rng: random.Random) -> None:
        deck = [kind for kind, n in DECK.items() for _ in range(n)]
        rng.shuffle(deck)
        self.size = len(deck)
        self.cards: Iterator[str] = itertools.cycle(deck)
        self.dealt = 0
        self.until = time.monotonic() + seconds

    def next(self) -> str | None:
        if time.monotonic() >= self.until and self.dealt >= self.size:
            return None
        self.dealt += 1
        return next(self.cards)


class Client:
    """One API client: its own connections, its own names for what it imports."""

    def __init__(self, no: int, plan: Plan, answers: Answers, http: aiohttp.ClientSession) -> None:
        self.no, self.plan, self.answers, self.http = no, plan, answers, http
        self.rng = random.Random(f"{plan.seed}:{no}")
        self.made = itertools.count()
        self.headers = {"Authorization": f"Bearer {plan.token}"}

    async def call(
        self, method: str, path: str, want: tuple[int, ...], body: Any = None
    ) -> tuple[int, Any, float]:
        """The answer's status, JSON body and seconds; Unexpected unless its status is one of
        ``want`` and its body is JSON."""
        started = time.perf_counter()
        async with self.http.request(
            method, self.plan.base + path, json=body, headers=self.headers
        ) as resp:
            try:
                out = await resp.json(content_type=None)
            except ValueError as exc:
                raise Unexpected(f"{method} {path}: {resp.status}, not JSON") from exc
            seconds = time.perf_counter() - started
        if resp.status not in want:
            raise Unexpected(f"{method} {path}: {resp.status} {str(out)[:200]}")
        return resp.status, out, seconds

    def tasks(self) -> list[dict[str, Any]]:
        return [
            {
                "callReceiverName": f"Load {self.no}-{n}",
                "extCustId": f"load-{self.no}-{n}",
                "callNumberList": [phone(self.rng)],
            }
            for n in itertools.islice(self.made, TASKS_PER_IMPORT)
        ]

    def calltasks(self) -> dict[str, Any]:
        return {
            "systemCode": SYSTEM,
            "callCode": self.plan.imports,
            "maxCallAttempts": 3,
            "minCallIntervalHours": 1,
            "callTasks": self.tasks(),
        }

    async def request(self, kind: str) -> None:
        plan, rng = self.plan, self.rng
        if kind == "calltask import":
            _, out, s = await self.call("POST", "/itxdialer/calltaskimport", OK, self.calltasks())
            if out.get("callTaskErrors") != []:
                raise Unexpected(f"callTaskErrors {out.get('callTaskErrors')}")
        elif kind == "calltask import async":
            await self.import_async()
            return
        elif kind == "contact import":
            n = next(self.made)
            body = {
                "Name": f"Load {self.no}-{n}",
                "DiallerCampaignsID": plan.imports,
                "PhoneNumber1": phone(rng),
                "UserData": f"load-{self.no}-{n}",
            }
            _, out, s = await self.call("POST", "/dialler/contacts/import", OK, body)
        elif kind == "contact import, refused":
            body = {"Name": "Load", "DiallerCampaignsID": plan.imports, "PhoneNumber1": "12"}
            _, out, s = await self.call("POST", "/dialler/contacts/import", (400,), body)
            if out.get("status") != 400 or not out.get("error"):
                raise Unexpected(f"refused without the envelope: {out}")
        elif kind == "contact read":
            path = f"/dialler/contacts/{rng.choice(plan.contacts)}"
            _, out, s = await self.call("GET", path, OK)
        elif kind == "contact by userData":
            path = f"/dialler/contacts/contact?userData={rng.choice(plan.user_data)}"
            _, out, s = await self.call("GET", path, OK)
        elif kind == "contact history":
            path = f"/dialler/contacts/contact/{rng.choice(plan.contacts)}/history"
            _, out, s = await self.call("GET", path, OK)
        elif kind == "contacts list":
            path = f"/dialler/contacts?diallerCampaignsID={plan.dialling}"
            _, out, s = await self.call("GET", path, OK)
            if out.get("count") != len(plan.contacts):
                raise Unexpected(f"listed {out.get('count')} of {len(plan.contacts)}")
        else:
            raise AssertionError(kind)
        self.answers.ok(kind, s)

    async def import_async(self) -> None:
        started = time.perf_counter()
        path = "/itxdialer/calltaskimport?importAsync=true"
        _, out, s = await self.call("POST", path, OK, self.calltasks())
        self.answers.ok("calltask import async", s)
        status_url = out.get("statusUrl")
        if not isinstance(status_url, str):
            raise Unexpected(f"no statusUrl: {out}")
        while True:
            await asyncio.sleep(POLL_S)
            status, out, s = await self.call("GET", status_url, (200, 202))
            self.answers.ok("calltask import status", s)
            if status == 200:
                if out.get("status") != "done" or out.get("callTaskErrors") != []:
                    raise Unexpected(f"async import ended {str(out)[:200]}")
                self.answers.ok("calltask import async, done", time.perf_counter() - started)
                return
            if time.perf_counter() - started > ASYNC_DONE_S:
                raise Unexpected(f"async import not done after {ASYNC_DONE_S:.0f} s")

    async def run(self, dealer: Dealer) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.plan.think_s))  # not all at once
        while (kind := dealer.next()) is not None:
            try:
                await self.request(kind)
            except Unexpected as exc:
                self.answers.error(kind, str(exc))
            except TimeoutError:
                self.answers.error(kind, f"no answer within {TIMEOUT_S:.0f} s")
            except aiohttp.ClientError as exc:
                self.answers.error(kind, repr(exc))
            await asyncio.sleep(self.rng.expovariate(1 / self.plan.think_s))


async def run_clients(plan: Plan) -> Answers:
    """The clients, each with its own connections, until the dealer stops them."""
    answers = Answers()
    dealer = Dealer(plan.seconds, random.Random(plan.seed))
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    sessions = [aiohttp.ClientSession(timeout=timeout) for _ in range(plan.clients)]
    try:
        clients = [Client(no, plan, answers, http) for no, http in enumerate(sessions)]
        await asyncio.gather(*(c.run(dealer) for c in clients))
    finally:
        for http in sessions:
            await http.close()
    return answers


# -- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    requests: int
    p50_s: float
    p99_s: float
    max_s: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else []
        p50, p99 = (cuts[49], cuts[98]) if cuts else (seconds[0], seconds[0])
        return cls(len(seconds), p50, p99, max(seconds))


@dataclass
class Report:
    latency: dict[str, Latency]
    errors: dict[str, int]
    error_samples: list[str]
    seconds: float  # of the clients' run
    tick: Lag
    lag: Lag
    tick_before: Lag | None  # over the baseline
    lag_before: Lag | None
    placed: int  # Originates during the load
    closed: int  # attempts closed during the load
    cpu_dialerd: float
    cpu_clients: float
    load_before: str
    load_after: str
    logged_errors: list[str]  # dialerd's log lines at level error
    calls: Calls  # the far end's INVITEs against the dialling campaign's history, drained
    left_claimed: int

    def lines(self) -> list[str]:
        def ms(s: float) -> str:
            return f"{s * 1000:.0f}"

        out = [
            f"{'kind':30} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        ]
        for kind in [*DECK, *FOLLOWERS]:
            lat, errors = self.latency.get(kind), self.errors.get(kind, 0)
            if lat is None:
                out.append(f"{kind:30} {0:8d} {errors:6d}")
                continue
            out.append(
                f"{kind:30} {lat.requests:8d} {errors:6d} {ms(lat.p50_s):>7} {ms(lat.p99_s):>7}"
                f" {ms(lat.max_s):>7}"
            )
        answered = sum(lat.requests for k, lat in self.latency.items() if k in DECK)
        out += [
            f"requests dealt and answered as expected: {answered} in {self.seconds:.1f} s"
            f" ({answered / self.seconds:.1f}/s); errors: {sum(self.errors.values())}",
            *(f"  {s}" for s in self.error_samples),
            f"the engine's tick under load : {self.tick}",
            f"the event loop's lag under load: {self.lag}",
        ]
        if self.tick_before is not None and self.lag_before is not None:
            out += [
                f"the tick before the load     : {self.tick_before}",
                f"the lag before the load      : {self.lag_before}",
            ]
        out += [
            f"calls during the load: {self.placed} placed, {self.closed} closed",
            f"CPU seconds during the load: dialerd {self.cpu_dialerd:.1f},"
            f" clients {self.cpu_clients:.1f}",
            f"load average: {self.load_before} before, {self.load_after} after",
            self.calls.line("the dialling campaign, drained"),
            f"contacts left claimed: {self.left_claimed}",
            f"dialerd's log: {len(self.logged_errors)} errors",
            *(f"  {line[:300]}" for line in self.logged_errors[:5]),
        ]
        return out


def counter(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k.startswith(name + "{"))


# -- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    clients: int
    think_s: float
    baseline_s: float
    contacts: int
    agents_queue: str = "lab-agents"


@asynccontextmanager
async def serving(
    dsn: str, ami: dict[str, str], log: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str, str]]:
    """``dialerd serve`` with the dialer on the lab: (process, API base, /metrics URL) once its
    AMI connection is up; SIGTERM at the end (calls in progress end and are recorded)."""
    port, metrics_port = free_port(), free_port()
    env = os.environ | {
        "DIALERD_DATABASE_URL": dsn,
        "DIALERD_HTTP_PORT": str(port),
        "DIALERD_METRICS_PORT": str(metrics_port),
        "DIALERD_LOG_LEVEL": "warning",
        "DIALERD_LOG_FORMAT": "json",
        "DIALERD_INSTANCE_ID": f"apiload-{uuid.uuid4().hex[:6]}",
        "DIALERD_DRAIN_TIMEOUT_S": "120",
        **ami,
    }
    with log.open("wb") as out:  # the server keeps its own descriptor
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialerd.cli", "serve", env=env, cwd=ROOT, stderr=out
        )
    base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, base, server, 90)
            for _ in range(300):
                if (await scrape(http, url)).get("dialerd_ami_connected") == 1:
                    break
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("dialerd serve's AMI connection was not up in 30 s")
        yield server, base, url
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), 180)


async def send(
    http: aiohttp.ClientSession, base: str, token: str, method: str, path: str, body: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.request(method, base + path, json=body, headers=headers) as resp:
        out = await resp.json()
        if resp.status != 200:
            raise SystemExit(f"{method} {path}: {resp.status} {out}")
        return out


async def set_up(http: aiohttp.ClientSession, base: str, token: str, run: Run) -> tuple[int, int]:
    """The dialling campaign (predictive, on the lab's agents) with its contacts, switched on;
    and the campaign the imports go to, which does not dial."""
    campaign = {
        "Queue": run.agents_queue,
        "DialString": "PJSIP/{number}@farend",
        "CallerID": '"apiload" <+4940999999>',
        "DialMode": "predictive",
        "RingTimeoutSeconds": 15,
        "MaxAttempts": 1,  # one call per contact: the run never runs out of fresh ones
        "MinCallIntervalHours": 1,
        "WindowStart": "00:00",
        "WindowEnd": "23:59",
        "WindowDays": [1, 2, 3, 4, 5, 6, 7],
        "bActive": False,  # until its contacts are in
    }
    out = await send(http, base, token, "POST", "/dialler/campaigns", campaign | {"Name": "dial"})
    dialling = int(out["records"][0]["ID"])
    out = await send(http, base, token, "POST", "/dialler/campaigns", campaign | {"Name": "in"})
    imports = int(out["records"][0]["ID"])
    for start in range(0, run.contacts, 1000):
        tasks = [
            {
                "callReceiverName": f"Callee {i}",
                "extCustId": f"dial-{i}",
                "callNumberList": [f"+4930{i:07d}{DIGITS[i % len(DIGITS)]}"],  # one each
            }
            for i in range(start, min(start + 1000, run.contacts))
        ]
        request = {
            "systemCode": SYSTEM,
            "callCode": dialling,
            "maxCallAttempts": 1,
            "minCallIntervalHours": 1,
            "callTasks": tasks,
        }
        out = await send(http, base, token, "POST", "/itxdialer/calltaskimport", request)
        if out["callTaskErrors"]:
            raise SystemExit(f"call tasks refused: {out['callTaskErrors'][:3]}")
    await send(http, base, token, "PATCH", f"/dialler/campaigns/{dialling}", {"bActive": True})
    return dialling, imports


async def first_call(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(600):
        if counter(await scrape(http, url), "dialerd_calls_placed_total"):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("dialerd placed no call within 60 s")


async def clients_process(plan: Plan) -> tuple[Answers, float, float, int]:
    """The clients in a process of their own: (their answers, the seconds they ran, their CPU
    seconds, their pid)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__)),
        "--clients-of-plan",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await child.communicate(json.dumps(asdict(plan)).encode())
    if child.returncode != 0:
        raise SystemExit(f"the clients' process exited with {child.returncode}")
    got = json.loads(out)
    answers = Answers(got["seconds"], Counter(got["errors"]), got["samples"])
    return answers, float(got["wall"]), float(got["cpu"]), child.pid


def logged_errors(log: Path) -> list[str]:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("{")]
    return [line for line in lines if json.loads(line).get("level") in ("error", "critical")]


def since_now(far_end: Path) -> FarEndCalls:
    return FarEndCalls(far_end, far_end.stat().st_size if far_end.exists() else 0)


async def measure(dsn: str, ami: dict[str, str], far_end: Path, run: Run) -> Report:
    """The run on a migrated database and a lab (``DIALERD_AMI_*``, its far end's log of
    calls); dialerd serve is stopped (its calls drained) before it returns."""
    invites = since_now(far_end)
    conn = await connect(dsn)
    try:
        await conn.execute(q("insert_calling_system"), SYSTEM)
        # Attempt ids of one length, as bench/dial.py has them: Asterisk refuses a ChannelId
        # that is the start of a live channel's (dialerd-1 in a burst with dialerd-10).
        await conn.execute("SELECT setval('contact_history_id_seq', 1000000)")
        token = await create_token(conn, 1)
    finally:
        await conn.close()
    with tempfile.TemporaryDirectory(prefix="apiload-") as tmp:
        log = Path(tmp) / "dialerd-serve.jsonl"
        async with (
            serving(dsn, ami, log) as (server, base, url),
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        ):
            dialling, imports = await set_up(http, base, token, run)
            conn = await connect(dsn)
            try:
                rows = await conn.fetch(
                    "SELECT id, user_data FROM contacts WHERE campaign_id = $1", dialling
                )
            finally:
                await conn.close()
            await first_call(http, url)
            tick_before = lag_before = None
            if run.baseline_s > 0:
                a = await scrape(http, url)
                await asyncio.sleep(run.baseline_s)
                b = await scrape(http, url)
                tick_before, lag_before = Lag.between(a, b, TICK), Lag.between(a, b)
            plan = Plan(
                base,
                token,
                dialling,
                imports,
                [r["id"] for r in rows],
                [r["user_data"] for r in rows],
                run.seconds,
                run.clients,
                run.think_s,
            )
            load_before = load()
            before = await scrape(http, url)
            cpu = cpu_seconds([server.pid])
            answers, wall, cpu_clients, _ = await clients_process(plan)
            cpu = cpu_seconds([server.pid]) - cpu
            after = await scrape(http, url)
            load_after = load()
        errors = logged_errors(log)
    conn = await connect(dsn)
    try:
        calls, left = await count_calls(conn, dialling, invites), await claims_left(conn, dialling)
    finally:
        await conn.close()

    def delta(name: str) -> int:
        return int(counter(after, name) - counter(before, name))

    return Report(
        {kind: Latency.of(s) for kind, s in answers.seconds.items()},
        dict(answers.errors),
        answers.samples,
        wall,
        Lag.between(before, after, TICK),
        Lag.between(before, after),
        tick_before,
        lag_before,
        delta("dialerd_calls_placed_total"),
        delta("dialerd_attempts_total"),
        cpu,
        cpu_clients,
        load_before,
        load_after,
        errors,
        calls,
        left,
    )


def clients_main() -> None:
    """The clients' process: the plan on stdin, the answers as JSON on stdout."""
    plan = Plan(**json.loads(sys.stdin.read()))
    started, cpu = time.monotonic(), time.process_time()
    answers = asyncio.run(run_clients(plan))
    print(
        json.dumps(
            {
                "seconds": answers.seconds,
                "errors": answers.errors,
                "samples": answers.samples,
                "wall": time.monotonic() - started,
                "cpu": time.process_time() - cpu,
            }
        )
    )


async def main(args: argparse.Namespace) -> None:
    logs.configure("console", "warning")
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores, load average {load()}")
    env = LAB | lab_ports(args.agents) | {"LAB_AGENTS": str(args.agents)}
    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    try:
        up = lab_sh("up", env)
        conn = await connect(dsn)
        await migrate(conn)
        await conn.close()
        ami = {k: v for k, v in up.items() if k.startswith("DIALERD_AMI_")}
        run = Run(args.seconds, args.clients, args.think, args.baseline, args.contacts)
        print(
            f"lab: {args.agents} agents; {run.clients} clients for {run.seconds:g} s, pauses of"
            f" {run.think_s:g} s on average; {run.contacts} contacts to dial",
            flush=True,
        )
        far_end = Path(LAB["LAB_DIR"]) / "log" / "sipp-farend-calls.log"
        report = await measure(dsn, ami, far_end, run)
        print(*report.lines(), sep="\n")
    finally:
        lab_sh("down", env)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="of load (120)")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between requests")
    parser.add_argument("--baseline", type=float, default=20.0, help="dialling before the load")
    parser.add_argument("--agents", type=int, default=10, help="the lab's agent phones")
    parser.add_argument("--contacts", type=int, default=2000, help="to dial")
    parser.add_argument("--clients-of-plan", action="store_true", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.clients_of_plan:
        clients_main()
    else:
        asyncio.run(main(parsed))
