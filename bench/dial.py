"""Benchmark: the dialer's sustained originate rate against the lab, next to bare originates.

1,000 call tasks whose far end answers (last digit 0) go to a campaign on the lab's ``bench``
queue, whose members are auto-answer Local channels, so agents are no limit (ratio mode,
DialRatio 100). The same run also sends the same number of bare async Originates through
panoramisk into the same dialplan and queue. Both rates are calls / (last answer - first
Originate): the far end's ring time is in both. The lab's own rate varies a lot from run to run
(the far end is one sipp with RTP audio), so the two alternate for ``--rounds`` rounds; it
prints each round with the dialer's outcomes, the medians, their ratio and whether every
attempt was closed in history.

    scripts/lab.sh up      # prints DIALERD_AMI_* lines: export them
    .venv/bin/python bench/dial.py [--calls 1000] [--rounds 3]

DIALERD_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the
server; a database ``dialerd_bench_<random>`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from panoramisk import Manager
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.pbx.bare

from dialerd import logs
from dialerd.config import Settings
from dialerd.service import build_dialer, run_dialer
from dialerd.store.migrate import migrate
from dialerd.store.pool import connect, create_pool
from tests.pbx.bare import bare_manager

ADMIN_DSN = os.environ.get(
    "DIALERD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
QUEUE = "bench"
ACTIVE_CHANNELS = re.compile(r"(\d+) active channels?$")


def numbers(n: int, series: int) -> list[str]:
    return [f"+4930{series}{i:06d}0" for i in range(n)]


async def channel_count(manager: Manager) -> int:
    """Active channels in the lab, from the Output lines of ``core show channels count``."""
    reply = await asyncio.wait_for(
        manager.send_action({"Action": "Command", "Command": "core show channels count"}), 10
    )
    for message in reply if isinstance(reply, list) else [reply]:
        output = message.get("Output") or []
        for line in [output] if isinstance(output, str) else output:
            found = ACTIVE_CHANNELS.match(str(line).strip())
            if found:
                return int(found.group(1))
    raise RuntimeError(f"no channel count in the reply to core show channels count: {reply!r}")


async def wait_idle(manager: Manager) -> None:
    """Waits until the lab has no channels left from the previous run."""
    for _ in range(240):
        count = await channel_count(manager)
        if not count:
            return
        await asyncio.sleep(0.5)
    raise SystemExit(f"the lab still has {count} channels after 120 s")


async def raw_rate(manager: Manager, n: int, round_no: int) -> tuple[float, int]:
    """Bare async Originates, all at once; calls/s until the last OriginateResponse."""

    async def one(i: int, number: str) -> bool:
        action = {
            "Action": "Originate",
            "Channel": f"PJSIP/{number}@farend",
            "Context": "dialerd-outbound",
            "Exten": "s",
            "Priority": "1",
            "Async": "true",  # panoramisk 1.4 never resolves an Originate without it
            "Timeout": "15000",
            "ChannelId": f"bench-raw-{round_no}-{i}",
            "Variable": [f"DIALERD_QUEUE={QUEUE}", "DIALERD_AGENT_TIMEOUT=10"],
        }
        reply = await asyncio.wait_for(manager.send_action(action), 60)
        last = reply[-1] if isinstance(reply, list) else reply
        return bool(last.get("Response") == "Success")

    started = time.monotonic()
    ok = await asyncio.gather(*(one(i, num) for i, num in enumerate(numbers(n, 1))))
    return n / (time.monotonic() - started), sum(ok)


async def dialer_rate(
    settings: Settings, pool: asyncpg.Pool, n: int, round_no: int
) -> tuple[float, int, dict[str, int]]:
    """The engine dials n tasks; (calls/s to the last answer, attempts closed, count per
    CONNRES/detail)."""
    campaign = await pool.fetchval(
        """INSERT INTO campaigns (name, queue, dial_string, caller_id, dial_mode, dial_ratio,
               ring_timeout_s, agent_timeout_s, window_start, window_end, window_days,
               min_call_interval_h)
           VALUES ($2, $1, 'PJSIP/{number}@farend', '"bench" <4940999999>', 'ratio', 100,
                   15, 10, '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 1)
           RETURNING id""",
        QUEUE,
        f"bench {round_no}",
    )
    # Bulk load of the tasks: the import API has its own benchmark.
    await pool.execute(
        """INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries,
               number_last_cause, number_end_reason, number_invalid, max_attempts,
               min_call_interval_h)
           SELECT $1, 'bench', ARRAY[num], '{0}', '{0}', '{0}', '{f}', 3, 1
           FROM unnest($2::text[]) AS num""",
        campaign,
        numbers(n, 2),
    )
    engine = build_dialer(settings, pool)
    stop = asyncio.Event()
    task = asyncio.create_task(run_dialer(engine, stop))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        closed = await pool.fetchval(
            "SELECT count(*) FROM contact_history WHERE status = 'closed' AND campaign_id = $1",
            campaign,
        )
        if closed >= n:
            break
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 120)
    row = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'closed') AS closed,
                  extract(epoch FROM max(dt_call_connect) - min(dt_call_start)) AS answered_s
           FROM contact_history WHERE campaign_id = $1""",
        campaign,
    )
    assert row is not None
    outcomes = await pool.fetch(
        "SELECT connres, cause_code, detail, count(*) AS n FROM contact_history"
        " WHERE campaign_id = $1 GROUP BY 1, 2, 3",
        campaign,
    )
    return (
        n / float(row["answered_s"] or 1e-9),
        int(row["closed"]),
        {f"{r['connres']}/{r['cause_code']}/{r['detail'] or '-'}": r["n"] for r in outcomes},
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="bare then dialer, this many times (the lab is noisy)"
    )
    args = parser.parse_args()
    logs.configure("console", "warning")
    base = Settings()
    if not base.ami_host:
        raise SystemExit(
            "set DIALERD_AMI_HOST/PORT/USERNAME/SECRET (scripts/lab.sh up prints them)"
        )

    manager = await bare_manager(base.ami_host, base.ami_port, base.ami_username, base.ami_secret)

    name = f"dialerd_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = str(URL(ADMIN_DSN).with_path("/" + name))
    try:
        conn = await connect(dsn)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(dsn, min_size=2, max_size=10)
        settings = base.model_copy(
            update={
                "database_url": dsn,
                "instance_id": "bench",
                "max_calls_in_flight": 5000,
                "max_originate_rate": 10_000.0,
                "tick_seconds": 0.05,
            }
        )
        rounds = []
        for round_no in range(1, args.rounds + 1):
            await wait_idle(manager)
            await manager.send_action({"Action": "Events", "EventMask": "on"})
            raw, raw_ok = await raw_rate(manager, args.calls, round_no)
            # While the dialer runs this session only counts channels: the dialer's events
            # must not also be sent to it and parsed in this same process.
            await manager.send_action({"Action": "Events", "EventMask": "off"})
            await wait_idle(manager)
            dialer, closed, outcomes = await dialer_rate(settings, pool, args.calls, round_no)
            rounds.append((raw, raw_ok, dialer, closed, outcomes))
            print(
                f"round {round_no}: bare {raw:6.1f} calls/s ({raw_ok} answered), "
                f"dialer {dialer:6.1f} calls/s ({closed} closed), ratio {dialer / raw:6.1%}",
                flush=True,
            )
            print(f"         dialer outcomes, CONNRES/cause/detail: {outcomes}", flush=True)
        await pool.close()
    finally:
        manager.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    raw_median = statistics.median(r[0] for r in rounds)
    dialer_median = statistics.median(r[2] for r in rounds)
    print(f"bare originates : median {raw_median:7.1f} calls/s over {args.rounds} rounds")
    print(f"dialer          : median {dialer_median:7.1f} calls/s")
    print(f"ratio of medians: {dialer_median / raw_median:7.1%} (target >= 80%)")
    closed_all = all(r[3] == args.calls for r in rounds)
    print(f"history         : every attempt closed in every round: {closed_all}")


if __name__ == "__main__":
    asyncio.run(main())
