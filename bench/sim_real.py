"""Benchmark: does the simulator predict the real dialer?

One campaign in the PBX lab (the real Asterisk; a sipp far end whose answering callees ring for
a drawn time; sipp agent phones that talk for a drawn time; ``dialerd serve`` dialling it for
the length of the scenario's day) and the simulator on the same scenario with several seeds,
side by side: occupancy, abandon rate, answer rate and handle time as the pacer learns them,
calls placed, and the time from the callee's answer to the agent's connection. Not a test:
it prints figures.

    .venv/bin/python bench/sim_real.py [--scenario bench/scenarios/sim_real.toml]
        [--minutes M] [--mode predictive|progressive] [--seeds 20]

Both sides read the scenario file: the simulator as ``dialerd simulate`` does, the lab through
``lab_plan`` (agents, the queue's wrap-up, the far end's ring and the agents' talk as sipp
pauses, the share of answering numbers, the campaign's pacing settings), which refuses what
the lab cannot play. ``--minutes`` shortens both, for development runs. The lab gets its own
LAB_DIR (.lab-simreal) and ports and is taken down at the end. DIALERD_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres) names the server; a database
``dialerd_bench_<random>`` is created there and dropped afterwards.

The lab's figures are worked out from what ``dialerd serve`` wrote to contact_history and
checked against Asterisk's queue_log, except the handle and wrap-up times the pacer learnt,
which are the engine's own (its ``campaign_pacing`` log line as it stops dialling); the
simulator's are read from its CallStats and result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from import_calltasks import free_port, wait_healthy  # bench/ is this script's folder
from yarl import URL

from dialerd import logs
from dialerd.simulator import scenario
from dialerd.simulator.pacers import parse_pacer
from dialerd.simulator.scenario import Dist, Scenario
from dialerd.simulator.sim import Simulation
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect
from dialerd.store.sqlfiles import q
from dialerd.users.tokens import create_token

ADMIN_DSN = os.environ.get(
    "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]
# Its own lab: LAB_DIR, RTP ports away from the other labs' default 20000-29999, and AMI/SIP
# ports found free (see lab_ports).
LAB = {
    "LAB_DIR": str(ROOT / ".lab-simreal"),
    "LAB_RTP_START": "31000",
    "LAB_RTP_END": "31999",
    "LAB_PROFILE": "simreal",
}
# The agents' phones ring this long before they answer: a lab setting, not the scenario's,
# and part of the answer-to-agent time that agents.connect_delay stands for in the simulator.
AGENT_RING_MS = 500
ANSWERS, RINGS_OUT = "0", "6"  # last digits for farend-simreal.xml.in
SYSTEM = "SIMREAL"
DRAIN_S = 120  # after the run the calls in progress end (talk times have long tails)


@dataclass(frozen=True)
class LabPlan:
    """What the lab and the campaign get from a scenario."""

    env: dict[str, str]  # scripts/lab.sh knobs
    campaign: dict[str, Any]  # POST /dialler/campaigns
    tick_s: float
    contacts: int


def sipp_pause(d: Dist) -> str:
    """A duration as the attributes of a sipp ``<pause>`` (milliseconds)."""
    ms = d.mean * 1000.0
    if d.kind == "fixed":
        return f'distribution="fixed" value="{ms:.0f}"'
    if d.kind == "exponential":
        return f'distribution="exponential" mean="{ms:.1f}"'
    if d.kind == "lognormal":  # sipp wants the mean and deviation of the log
        sigma2 = math.log(1.0 + d.cv * d.cv)
        mu = math.log(ms) - sigma2 / 2.0
        return f'distribution="lognormal" mean="{mu:.6f}" stdev="{math.sqrt(sigma2):.6f}"'
    if d.kind == "gamma":
        k = 1.0 / (d.cv * d.cv)
        return f'distribution="gamma" k="{k:.6f}" theta="{ms / k:.3f}"'
    half = ms * d.cv * math.sqrt(3.0)
    return f'distribution="uniform" min="{ms - half:.1f}" max="{ms + half:.1f}"'


def queue_wrapup(d: Dist) -> int | None:
    """The queue wrapuptime W giving this wrap-up, or None. app_queue counts it in whole
    seconds (its lastcall is a time_t), so an agent is ready W-1 to W s after the call: a
    uniform wrap-up of mean W - 0.5 and half-width 0.5."""
    w = d.mean + 0.5
    half = d.mean * d.cv * math.sqrt(3.0)
    if d.kind == "uniform" and w >= 1 and w == round(w) and abs(half - 0.5) < 1e-6:
        return round(w)
    return None


def lab_plan(sc: Scenario, mode: str) -> LabPlan:
    """The lab's settings from the scenario; SystemExit naming what the lab cannot play."""
    wrapup = queue_wrapup(sc.wrapup_time)
    uncut = [d for d in (sc.ring_time, sc.talk_time) if d.low > 0.0 or d.high != math.inf]
    checks = [
        (len(sc.answer_rate) == 1, "one answer rate for the whole day"),
        (
            sc.machine_share == sc.busy_share == sc.congestion_share == 0.0,
            "the far end only answers or rings out: no machines, busy or congestion",
        ),
        (
            not sc.agents.breaks and sc.agents.login_spread_s == sc.agents.logout_spread_s == 0,
            "agents are static queue members: no breaks, log-ins or log-outs",
        ),
        (sc.contacts is None, "no contact list size: the bench gives enough"),
        (not uncut, "sipp cannot cut a pause: ring_time and talk_time need low 0, high inf"),
        (
            sc.patience.kind == "fixed" and sc.patience.mean >= sc.agent_timeout_s,
            "the lab's callees wait for the agent timeout: patience fixed, >= agent_timeout_s",
        ),
        (
            sc.no_answer_timeout_s == round(sc.no_answer_timeout_s) >= 15,
            "no_answer_timeout_s is the campaign's RingTimeoutSeconds: whole seconds, >= 15",
        ),
        (
            sc.agent_timeout_s == round(sc.agent_timeout_s) and 1 <= sc.agent_timeout_s <= 10,
            "agent_timeout_s is the campaign's AgentTimeoutSeconds: whole seconds, 1..10",
        ),
        (wrapup is not None, "wrapup_time is the queue's wrapuptime W: uniform, W-1..W s"),
    ]
    problems = [text for ok, text in checks if not ok]
    if problems:
        raise SystemExit("the lab cannot play this scenario:\n  " + "\n  ".join(problems))
    answer_rate = sc.answer_rate[0][1]
    # Enough numbers for every line busy all the time, answered or ringing out, and a half more.
    line_s = answer_rate * sc.ring_time.mean + (1 - answer_rate) * sc.no_answer_timeout_s
    lines = sc.agents.count * sc.max_lines_per_agent
    env = {
        "LAB_AGENTS": str(sc.agents.count),
        "LAB_WRAPUP": str(wrapup),
        "LAB_RING_PAUSE": sipp_pause(sc.ring_time),
        "LAB_TALK_PAUSE": sipp_pause(sc.talk_time),
        "LAB_AGENT_RING_MS": str(AGENT_RING_MS),
    }
    campaign = {
        "Name": "sim-real",
        "Queue": "lab-agents",
        "DialString": "PJSIP/{number}@farend",
        "CallerID": '"sim-real" <+4940999999>',
        "DialMode": mode,
        "DialRatio": sc.ratio,
        "MaxLinesPerAgent": sc.max_lines_per_agent,
        "AbandonLimit": sc.abandon_limit,
        "Aggressiveness": sc.aggressiveness,
        "MaxCallsInFlight": sc.max_in_flight,
        "MaxOriginateRate": sc.max_rate_per_s,
        "RingTimeoutSeconds": round(sc.no_answer_timeout_s),
        "AgentTimeoutSeconds": round(sc.agent_timeout_s),
        "MaxAttempts": 1,  # one call per contact: no retries within the run
        "MinCallIntervalHours": 1,
        "WindowStart": "00:00",
        "WindowEnd": "23:59",
        "WindowDays": [1, 2, 3, 4, 5, 6, 7],
        "bActive": False,  # until its contacts are in
    }
    contacts = math.ceil(1.5 * sc.duration_s * lines / line_s)
    return LabPlan(env, campaign, sc.tick_s, contacts)


def lab_numbers(n: int, answer_rate: float, seed: int) -> list[str]:
    """n numbers whose last digit tells the far end to answer with the scenario's rate."""
    rng = random.Random(f"{seed}:lab-callees")
    digits = (ANSWERS if rng.random() < answer_rate else RINGS_OUT for _ in range(n))
    return [f"+49301{i:06d}{d}" for i, d in enumerate(digits)]


# -- the lab -------------------------------------------------------------------------------


def bindable(kind: socket.SocketKind, address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def lab_ports(agents: int) -> dict[str, str]:
    """AMI and SIP ports no other lab uses now (engineers run labs of their own, on ports of
    their choosing): above the test labs' (15038+100k) and below the RTP ranges, the SIP port
    and sipp's RTP socket (SIP + 2) free on Asterisk's, the far end's and every agent's
    address."""
    addresses = ["127.0.0.1", "127.0.0.2", *(f"127.0.1.{i}" for i in range(1, agents + 1))]
    for k in range(29):
        ami, sip = 17038 + 100 * k, 17060 + 100 * k
        if bindable(socket.SOCK_STREAM, "127.0.0.1", ami) and all(
            bindable(socket.SOCK_DGRAM, a, p) for a in addresses for p in (sip, sip + 2)
        ):
            return {"LAB_AMI_PORT": str(ami), "LAB_SIP_PORT": str(sip)}
    raise SystemExit("no free AMI/SIP port pair for the lab between 17038 and 19960")


def lab_sh(action: str, env: dict[str, str]) -> dict[str, str]:
    """scripts/lab.sh up/down; up's KEY=value lines."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lab.sh"), action],
        env=os.environ | LAB | env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,  # a cold Asterisk build, or waiting for another one
    )
    if done.returncode != 0:
        raise SystemExit(f"lab.sh {action} failed:\n{done.stderr[-3000:]}")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


@dataclass(frozen=True)
class Attempt:
    """One row of contact_history, times in epoch seconds."""

    number: str
    start: float
    alert: float | None
    answer: float | None
    agent: float | None
    end: float | None
    machine: bool


@dataclass(frozen=True)
class LabRun:
    t0: float  # the first call placed
    t1: float  # dialling stopped
    attempts: list[Attempt]
    contacts_left: int
    queue_log: list[list[str]]
    load: tuple[float, float, float]  # the machine's load averages when dialling stopped
    pacing: dict[str, Any]  # the engine's campaign_pacing line when dialling stopped


def epoch(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base = http, base
        self.headers = {"Authorization": f"Bearer {token}"}

    async def send(self, method: str, path: str, body: Any) -> Any:
        async with self.http.request(
            method, self.base + path, json=body, headers=self.headers
        ) as resp:
            out = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"{method} {path}: {resp.status} {out}")
            return out


async def run_lab(sc: Scenario, plan: LabPlan, lab: dict[str, str]) -> LabRun:
    """The campaign through dialerd serve, from the first call for the scenario's day."""
    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    serve_log = Path(lab["LAB_DIR"]) / "log" / "dialerd-serve.jsonl"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    server: asyncio.subprocess.Process | None = None
    conn = await connect(dsn)
    try:
        await migrate(conn)
        await conn.execute(q("insert_calling_system"), SYSTEM)
        token = await create_token(conn, 1)
        port = free_port()
        env = os.environ | {
            "DIALERD_DATABASE_URL": dsn,
            "DIALERD_HTTP_PORT": str(port),
            "DIALERD_LOG_LEVEL": "info",  # the engine's campaign_pacing lines
            "DIALERD_LOG_FORMAT": "json",
            "DIALERD_INSTANCE_ID": "sim-real",
            "DIALERD_TICK_SECONDS": str(plan.tick_s),
            "DIALERD_DRAIN_TIMEOUT_S": str(DRAIN_S),
            **{k: v for k, v in lab.items() if k.startswith("DIALERD_AMI_")},
        }
        with serve_log.open("wb") as serve_stderr:  # the server keeps its own descriptor
            server = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "dialerd.cli",
                "serve",
                env=env,
                cwd=ROOT,
                stderr=serve_stderr,
            )
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            await wait_healthy(http, base, server)
            campaign = await start_campaign(Api(http, base, token), sc, plan)
        t0 = await first_call(conn, campaign)
        t1 = t0 + sc.duration_s
        await follow(conn, campaign, t1)
        load = os.getloadavg()
        server.send_signal(signal.SIGTERM)  # no new calls; those in progress end
        if await asyncio.wait_for(server.wait(), DRAIN_S + 60) != 0:
            raise SystemExit(f"dialerd serve exited with {server.returncode}")
        rows = await conn.fetch(
            """SELECT phone_number, dt_call_start, dt_call_alert, dt_call_connect,
                      dt_agent_connect, dt_call_end, machine
               FROM contact_history WHERE campaign_id = $1 AND connres IS DISTINCT FROM 0
               ORDER BY id""",
            campaign,
        )
        left = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE campaign_id = $1 AND state = 'open'", campaign
        )
    finally:
        await conn.close()
        if server is not None and server.returncode is None:
            server.kill()
            await server.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    attempts = [
        Attempt(
            r["phone_number"],
            r["dt_call_start"].timestamp(),
            epoch(r["dt_call_alert"]),
            epoch(r["dt_call_connect"]),
            epoch(r["dt_agent_connect"]),
            epoch(r["dt_call_end"]),
            r["machine"],
        )
        for r in rows
    ]
    log = Path(lab["LAB_DIR"]) / "log" / "queue_log"
    queue_log = [line.split("|") for line in log.read_text().splitlines()]
    return LabRun(t0, t1, attempts, int(left), queue_log, load, last_pacing(serve_log, campaign))


def last_pacing(serve_log: Path, campaign: int) -> dict[str, Any]:
    """The last campaign_pacing line of the campaign: the one the engine logs as it stops
    dialling, with what its pacer had learnt."""
    lines = [
        json.loads(line) for line in serve_log.read_text().splitlines() if line.startswith("{")
    ]
    found = [
        e for e in lines if e.get("event") == "campaign_pacing" and e["campaign_id"] == campaign
    ]
    if not found:
        raise SystemExit(f"no campaign_pacing line in {serve_log}")
    last: dict[str, Any] = found[-1]
    return last


async def start_campaign(api: Api, sc: Scenario, plan: LabPlan) -> int:
    """The campaign and its contacts over the REST APIs, then switched on."""
    out = await api.send("POST", "/dialler/campaigns", plan.campaign)
    campaign = int(out["records"][0]["ID"])
    numbers = lab_numbers(plan.contacts, sc.answer_rate[0][1], sc.seed)
    request = {
        "systemCode": SYSTEM,
        "callCode": campaign,
        "maxCallAttempts": 1,
        "minCallIntervalHours": 1,
        "callTasks": [
            {"callReceiverName": f"Callee {i}", "extCustId": f"C{i}", "callNumberList": [n]}
            for i, n in enumerate(numbers)
        ],
    }
    out = await api.send("POST", "/itxdialer/calltaskimport", request)
    if out["callTaskErrors"]:
        raise SystemExit(f"call tasks refused: {out['callTaskErrors'][:3]}")
    await api.send("PATCH", f"/dialler/campaigns/{campaign}", {"bActive": True})
    return campaign


async def first_call(conn: asyncpg.Connection, campaign: int) -> float:
    """When the engine placed the campaign's first call (it sees the campaign within 2 s)."""
    for _ in range(300):
        first = await conn.fetchval(
            "SELECT min(dt_call_start) FROM contact_history WHERE campaign_id = $1", campaign
        )
        if first is not None:
            return float(first.timestamp())
        await asyncio.sleep(0.1)
    raise SystemExit("dialerd placed no call within 30 s")


async def follow(conn: asyncpg.Connection, campaign: int, until: float) -> None:
    """Waits for the end of the run, with a line a minute."""
    while (left := until - time.time()) > 0:
        await asyncio.sleep(min(60.0, left))
        row = await conn.fetchrow(
            """SELECT count(*) AS placed, count(dt_agent_connect) AS connected,
                      count(*) FILTER (WHERE abandoned) AS abandoned
               FROM contact_history WHERE campaign_id = $1""",
            campaign,
        )
        assert row is not None
        print(
            f"  lab: {max(0.0, until - time.time()):4.0f} s left, {row['placed']} placed, "
            f"{row['connected']} connected, {row['abandoned']} abandoned",
            file=sys.stderr,
            flush=True,
        )


# -- figures ---------------------------------------------------------------------------------

Figures = dict[str, float]


def quantile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def common(waits: list[float]) -> Figures:
    return {"wait_p50": quantile(waits, 50), "wait_p99": quantile(waits, 99)}


def placed_in(run: LabRun) -> list[Attempt]:
    return [a for a in run.attempts if run.t0 <= a.start < run.t1]


def connected(attempts: list[Attempt]) -> list[tuple[float, float, float]]:
    """(answer, agent, end) of the calls an agent took."""
    return [
        (answer, agent, end)
        for a in attempts
        if (answer := a.answer) is not None
        and (agent := a.agent) is not None
        and (end := a.end) is not None
    ]


def lab_figures(run: LabRun, agents: int) -> Figures:
    """The lab's figures from history (calls placed within the run; answers and abandons:
    answered within it), but the handle and wrap-up times, which are the engine's own: what
    its pacer had learnt when dialling stopped."""
    placed = placed_in(run)
    answered = [a for a in placed if a.answer is not None and not a.machine]
    live = [a for a in answered if a.answer is not None and a.answer < run.t1]
    calls = connected(live)
    talk = sum(max(0.0, min(end, run.t1) - max(agent, run.t0)) for _, agent, end in calls)
    return {
        "occupancy": talk / (agents * (run.t1 - run.t0)),
        "abandon_rate": (len(live) - len(calls)) / len(live) if live else 0.0,
        "answer_rate": len(answered) / len(placed) if placed else 0.0,
        "handle_s": float(run.pacing["handle_mean_s"]),
        "wrapup_s": float(run.pacing["wrapup_mean_s"]),
        "placed": len(placed),
        "answered": len(live),
        "abandoned": len(live) - len(calls),
        **common([agent - answer for answer, agent, _ in calls]),
    }


def sim_figures(sc: Scenario, mode: str) -> Figures:
    sim = Simulation(sc, parse_pacer(mode))
    r = sim.run()
    stats = sim.stats
    wrapup = stats.wrapup_times.mean(0.0)
    return {
        "occupancy": r.occupancy,
        "abandon_rate": r.abandon_rate,
        "answer_rate": stats.live_answers / stats.outcomes if stats.outcomes else 0.0,
        "handle_s": stats.talk_times.mean(0.0) + wrapup,
        "wrapup_s": wrapup,
        "placed": r.placed,
        "answered": r.answered,
        "abandoned": r.abandoned,
        **common(r.answer_waits),
    }


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def sec(v: float) -> str:
    return f"{v:.2f}"


def num(v: float) -> str:
    return f"{v:.0f}"


ROWS: list[tuple[str, str, str, str, Callable[[float], str]]] = [
    # key, label, the lab's source, the simulator's source, format
    ("occupancy", "occupancy (talk / logged in)", "db", "result", pct),
    ("abandon_rate", "abandon rate (abandoned / live answers)", "db", "result", pct),
    ("answer_rate", "answer rate (live answers / calls ended)", "db", "CallStats", pct),
    ("handle_s", "handle time the pacer learns, s", "engine", "CallStats", sec),
    ("wrapup_s", "  of which wrap-up, s", "engine", "CallStats", sec),
    ("placed", "calls placed", "db", "result", num),
    ("answered", "live answers", "db", "result", num),
    ("abandoned", "abandoned", "db", "result", num),
    ("wait_p50", "answer -> agent p50, s", "db", "result", sec),
    ("wait_p99", "answer -> agent p99, s", "db", "result", sec),
]


def table(lab: Figures, sims: list[Figures]) -> str:
    lines = [
        f"| | lab | simulator, mean of {len(sims)} seeds | sd | min - max | source (lab / sim) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, label, lab_source, sim_source, fmt in ROWS:
        values = [s[key] for s in sims]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(
            f"| {label} | {fmt(lab[key])} | {fmt(statistics.fmean(values))} | {fmt(sd)} | "
            f"{fmt(min(values))} - {fmt(max(values))} | {lab_source} / {sim_source} |"
        )
    return "\n".join(lines)


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"n {len(values)}"
    mean = statistics.fmean(values)
    return f"mean {mean:.2f} s, cv {statistics.stdev(values) / mean:.2f}, n {len(values)}"


def lab_check(run: LabRun, sc: Scenario) -> str:
    """What the lab played, against what the scenario says: sipp's draws, the share of
    answering numbers, the answer-to-agent time, and history against the queue_log."""
    placed = placed_in(run)
    answered = [a for a in placed if a.answer is not None]
    calls = connected(answered)
    rings = [
        answer - alert
        for a in answered
        if (answer := a.answer) is not None and (alert := a.alert) is not None
    ]
    talks = [end - agent for _, agent, end in calls]
    waits = sorted(agent - answer for answer, agent, _ in calls)
    waited = [f"{w:.2f}" for w in waits if w > sc.agents.connect_delay.mean + 0.05]
    abandons = [
        f"{answer - run.t0:.0f}"
        for a in sorted(answered, key=lambda a: a.start)
        if (answer := a.answer) is not None and a.agent is None
    ]
    share = sum(a.number.endswith(ANSWERS) for a in placed) / len(placed) if placed else 0.0
    events = Counter(f[4] for f in run.queue_log if len(f) > 4)
    completed = ("COMPLETEAGENT", "COMPLETECALLER")  # data: holdtime|calltime|origposition
    calltime = sum(int(f[6]) for f in run.queue_log if len(f) > 6 and f[4] in completed)

    def described(d: Dist) -> str:
        return f"{d.kind} mean {d.mean:g} s, cv {d.cv:.3g}"

    qs = ", ".join(f"p{p} {quantile(waits, p):.3f}" for p in (10, 50, 90, 99))
    return "\n".join(
        [
            f"- ring, 180 -> 200 OK (dtCallAlert -> dtCallConnect): {spread(rings)}; "
            f"scenario {described(sc.ring_time)}",
            f"- talk (dtAgentConnect -> dtCallEnd): {spread(talks)}; "
            f"scenario {described(sc.talk_time)}",
            f"- answering numbers among the calls placed: {share:.1%}; "
            f"scenario {sc.answer_rate[0][1]:.0%}",
            f"- answer -> agent (dtCallConnect -> dtAgentConnect), {len(waits)} connected: "
            f"{qs}, max {waits[-1] if waits else 0.0:.3f}, mean "
            f"{statistics.fmean(waits) if waits else 0.0:.3f} s; the simulator's "
            f"agents.connect_delay: {described(sc.agents.connect_delay)}",
            f"- of those, {len(waited)} waited for an agent (over the connect delay + 50 ms), "
            f"answer -> agent s: {', '.join(waited) or 'none'}",
            f"- abandoned answers, s after the first call: {', '.join(abandons) or 'none'}",
            f"- queue_log: {events['CONNECT']} CONNECT (history: {len(calls)}), "
            f"{events['EXITWITHTIMEOUT']} EXITWITHTIMEOUT and {events['ABANDON']} ABANDON "
            f"(history: {len(answered) - len(calls)} abandoned), {events['RINGNOANSWER']} "
            f"RINGNOANSWER; talk {calltime} s in whole seconds (history {sum(talks):.0f} s)",
            f"- contacts left open at the end: {run.contacts_left}"
            + (" (the list ran out: the run was cut short)" if not run.contacts_left else ""),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=Path("bench/scenarios/sim_real.toml"))
    parser.add_argument("--minutes", type=float, help="the day's length (default: the file's)")
    parser.add_argument("--mode", default="predictive", choices=["predictive", "progressive"])
    parser.add_argument("--seeds", type=int, default=20, help="simulator seeds, from 1")
    args = parser.parse_args()
    logs.configure("console", "warning")
    sc = scenario.load(args.scenario)
    if args.minutes:
        sc = replace(sc, hours=args.minutes / 60.0)
    plan = lab_plan(sc, args.mode)

    started = datetime.now(UTC)
    print(f"sim_real: lab up ({LAB['LAB_DIR']})", file=sys.stderr, flush=True)
    lab_sh("down", plan.env)  # leftovers of an interrupted run
    try:
        lab = lab_sh("up", plan.env | lab_ports(sc.agents.count))
        print(f"sim_real: dialling for {sc.duration_s / 60:.1f} min", file=sys.stderr, flush=True)
        run = asyncio.run(run_lab(sc, plan, lab))
    finally:
        lab_sh("down", plan.env)
    sims = [sim_figures(replace(sc, seed=seed), args.mode) for seed in range(1, args.seeds + 1)]

    print(
        f"{args.scenario}, {args.mode}, {sc.agents.count} agents, "
        f"{sc.duration_s / 60:.1f} min; lab run {started:%Y-%m-%d %H:%M} UTC, "
        f"load averages at its end {'/'.join(f'{x:.1f}' for x in run.load)} (1/5/15 min) on "
        f"{os.cpu_count()} cores; "
        f"lab settings {plan.env}"
    )
    print()
    print(table(lab_figures(run, sc.agents.count), sims))
    print()
    print(lab_check(run, sc))


if __name__ == "__main__":
    main()
