"""The simulator's wrap-up from a real Postgres: the after-call work of a campaign (or of all)
over a time range, with the result codes recorded for its calls, and `dialerd simulate
--wrapup-from-db` running on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from dialerd.cli import build_parser
from dialerd.config import Settings
from dialerd.domain import ResultCodeType
from dialerd.results.service import record_result
from dialerd.simulator import scenario
from dialerd.simulator.wrapup import observed
from dialerd.store import agents
from tests.integration.test_results import add_code, called
from tests.integration.test_scheduler import add_campaign, add_contact
from tests.integration.test_workspace import add_agent

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def after_call(
    pool: asyncpg.Pool,
    user_id: int,
    campaign_id: int,
    attempt_id: int | None,
    start_s: float,
    seconds: float | None,
) -> None:
    """A period of after-call work begun ``start_s`` after T0, ``seconds`` long (None: open)."""
    started = T0 + timedelta(seconds=start_s)
    ended = None if seconds is None else started + timedelta(seconds=seconds)
    await pool.execute(
        "INSERT INTO agent_states (user_id, client_id, state, reason, campaign_id, attempt_id,"
        " started_at, ended_at) VALUES ($1, 1, 'after_call', 'after-call work', $2, $3, $4, $5)",
        user_id,
        campaign_id,
        attempt_id,
        started,
        ended,
    )


async def a_day(pool: asyncpg.Pool) -> tuple[int, int]:
    """Campaign a (limit 60 s) with six periods in its morning, one of them open and one cut by
    the limit, two of its calls given result codes; campaign b with one; and what must not be
    read: a period after the range, other states."""
    a = await add_campaign(pool, "a", wrapup_limit_s=60)
    b = await add_campaign(pool, "b", wrapup_limit_s=30)
    ada = await add_agent(pool, "ada", "PJSIP/agent1", [a, b])
    bob = await add_agent(pool, "bob", "PJSIP/agent2", [a])
    sale = await add_code(pool, a, ResultCodeType.SUCCESS, name="Sale")
    later = await add_code(pool, a, ResultCodeType.RETRY, name="Later")
    calls = [await called(pool, await add_contact(pool, a)) for _ in range(3)]
    await record_result(pool, 1, calls[0], sale, ada.id)
    await record_result(pool, 1, calls[1], later, bob.id)
    await after_call(pool, ada.id, a, calls[0], 0, 42.5)
    await after_call(pool, bob.id, a, calls[1], 10, 12.0)
    await after_call(pool, ada.id, a, calls[2], 100, 60.2)  # the limit ended it
    await after_call(pool, bob.id, a, None, 200, 8.0)
    await after_call(pool, ada.id, a, None, 300, 20.0)
    await after_call(pool, bob.id, a, None, 400, None)  # still open
    await after_call(pool, ada.id, b, None, 50, 30.0)  # b's limit
    await after_call(pool, ada.id, a, None, 7200, 99.0)  # after the range
    await pool.execute(
        "INSERT INTO agent_states (user_id, client_id, state, started_at, ended_at)"
        " VALUES ($1, 1, 'ready', $2, $3)",
        bob.id,
        T0,
        T0 + timedelta(seconds=500),
    )
    return a, b


async def test_the_after_call_work_of_a_range_with_its_result_codes(pool: asyncpg.Pool) -> None:
    a, b = await a_day(pool)
    until = T0 + timedelta(hours=1)
    async with pool.acquire() as conn:
        periods = await agents.after_call_periods(conn, a, T0, until)
        every = await agents.after_call_periods(conn, None, T0, until)
        none = await agents.after_call_periods(conn, a, T0 - timedelta(hours=1), T0)
    assert [(p.campaign_id, p.seconds, p.wrapup_limit_s) for p in periods] == [
        (a, 42.5, 60),
        (a, 12.0, 60),
        (a, pytest.approx(60.2), 60),
        (a, 8.0, 60),
        (a, 20.0, 60),
        (a, None, 60),
    ]
    assert [p.result_code for p in periods] == ["Sale", "Later", None, None, None, None]
    assert [(p.campaign_id, p.seconds) for p in every] == [
        (a, 42.5),
        (a, 12.0),
        (b, 30.0),
        (a, pytest.approx(60.2)),
        (a, 8.0),
        (a, 20.0),
        (a, None),
    ]
    assert none == []

    seen = observed(periods, a, T0, until)
    assert seen.values == pytest.approx((42.5, 12.0, 60.2, 8.0, 20.0))
    assert (seen.cut, seen.still_open) == (1, 1)
    assert [(c.code.split(" (")[0], c.n) for c in seen.by_code] == [
        ("no result code", 3),
        ("Later", 1),
        ("Sale", 1),
    ]
    assert observed(every, None, T0, until).cut == 2  # b's 30 s is its limit


async def test_simulate_wrapup_from_db(
    settings: Settings,
    pool: asyncpg.Pool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, _ = await a_day(pool)
    capsys.readouterr()  # its log
    saved = tmp_path / "wrapup.json"
    history = ["--wrapup-from-db", "--campaign", str(a), "--since", "2026-11-02"]
    day = ["--hours", "0.2", "--agents", "3", "--pacer", "predictive"]

    async def simulate(*argv: str) -> int:
        args = build_parser().parse_args(["simulate", *argv])
        result: int = await args.run(args, settings)
        return result

    assert await simulate(*history, "--until", "2026-11-02T10:00", *day, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    wrapup = out["wrapup"]
    assert (wrapup["kind"], wrapup["n"], wrapup["cut_by_limit"]) == ("empirical", 5, 1)
    assert (wrapup["median_s"], wrapup["p90_s"]) == (20.0, pytest.approx(60.2))
    assert wrapup["still_open_left_out"] == 1
    assert [c["n"] for c in wrapup["by_result_code"]] == [3, 1, 1]
    assert out["results"][0]["placed"] > 0

    argv = [*history, "--until", "2026-11-02T10:00+00:00", *day, "--save-wrapup", str(saved)]
    assert await simulate(*argv) == 0
    table = capsys.readouterr().out
    assert table.startswith(
        f"wrap-up: the after-call work of campaign {a} begun 2026-11-02 00:00 to 2026-11-02 "
        "10:00 UTC: 5 periods, median 20.0 s, p90 60.2 s (1 cut by the wrap-up limit, "
        "1 still open left out)\n  no result code: 3, median 20.0 s, p90 60.2 s\n"
    )
    again = scenario.load(saved)
    assert again.wrapup_time.values == pytest.approx((42.5, 12.0, 60.2, 8.0, 20.0))

    # Nothing to take the wrap-up from, or no such campaign: a clear error, nothing run.
    assert await simulate(*history, "--until", "2026-11-02T08:00", *day) == 2
    assert "no closed after-call work of campaign" in capsys.readouterr().out
    assert await simulate("--wrapup-from-db", "--campaign", "999", *day) == 2
    assert capsys.readouterr().out == "dialerd simulate: --campaign 999: no such campaign\n"
