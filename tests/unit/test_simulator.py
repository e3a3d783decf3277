"""The simulator: deterministic per seed, common random numbers, scenario files, the CLI."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest

from dialerd.cli import build_parser, main
from dialerd.simulator import scenario
from dialerd.simulator.cli import history_range
from dialerd.simulator.pacers import parse_pacer
from dialerd.simulator.scenario import Agents, Dist, Scenario
from dialerd.simulator.sim import Simulation, callees, run_scenario
from dialerd.simulator.wrapup import observed
from dialerd.store.agents import AfterCallPeriod

ROOT = Path(__file__).parents[2]
SMALL = Scenario(hours=0.3, seed=7, agents=Agents(count=6), talk_time=Dist("lognormal", 60.0))


def summaries(sc: Scenario, *pacers: str) -> list[dict[str, float | int | str]]:
    return [r.summary() for r in run_scenario(sc, [parse_pacer(p) for p in pacers])]


def test_a_seed_gives_the_same_day_every_time() -> None:
    first = summaries(SMALL, "progressive", "predictive")
    assert first == summaries(SMALL, "progressive", "predictive")
    assert first[0] != summaries(replace(SMALL, seed=8), "progressive")[0]


def test_every_pacer_meets_the_same_callees() -> None:
    assert list(islice(callees(SMALL), 200)) == list(islice(callees(SMALL), 200))
    # Progressive and ratio dial at different times, yet call i is the same person.
    slow = Simulation(SMALL, parse_pacer("progressive"))
    fast = Simulation(SMALL, parse_pacer("ratio:3"))
    assert [next(slow._callees) for _ in range(50)] == [next(fast._callees) for _ in range(50)]


def test_the_day_adds_up() -> None:
    for s in summaries(SMALL, "progressive", "ratio:3", "predictive"):
        assert 0.0 < float(s["occupancy"]) < 1.0
        assert int(s["connected"]) + int(s["abandoned"]) <= int(s["answered"])
        assert int(s["answered"]) + int(s["machines"]) <= int(s["placed"])
        assert float(s["abandon_rate_worst_hour"]) >= float(s["abandon_rate"]) - 1e-9
    progressive = summaries(SMALL, "progressive")[0]
    assert progressive["abandoned"] == 0  # every answer finds the agent it was placed for


def test_contact_list_runs_out() -> None:
    (s,) = summaries(replace(SMALL, contacts=25), "ratio:3")
    assert s["placed"] == 25


# Short calls with a 5 s agent timeout: some answers wait for an agent and get one, some are
# abandoned.
SHORT_CALLS = Scenario(
    hours=0.25,
    seed=3,
    tick_s=0.2,
    agents=Agents(count=8),
    answer_rate=((0.0, 0.3),),
    machine_share=0.0,
    amd_accuracy=1.0,
    busy_share=0.0,
    congestion_share=0.0,
    no_answer_timeout_s=15.0,
    ring_time=Dist("gamma", 6.0, 0.4),
    talk_time=Dist("lognormal", 20.0, 0.5),
    wrapup_time=Dist("uniform", 2.5, 0.1),
    patience=Dist("fixed", 3600.0),
    max_lines_per_agent=5.0,
    agent_timeout_s=5.0,
)


def test_no_connect_delay_gives_the_day_of_before_there_was_one() -> None:
    (default,) = summaries(SHORT_CALLS, "predictive")
    # Recorded with the simulator before agents.connect_delay existed.
    old = {"placed": 678, "answered": 201, "connected": 199, "abandoned": 2}
    assert {k: default[k] for k in old} == old
    assert default["occupancy"] == 0.5709910453945553
    zero = {"agents": {"connect_delay": {"kind": "fixed", "mean": 0.0}}}
    explicit = scenario.from_dict(zero, SHORT_CALLS)
    assert explicit.agents == replace(SHORT_CALLS.agents, connect_delay=Dist("fixed", 0.0))
    assert summaries(explicit, "predictive") == [default]


def test_a_connect_delay_comes_out_of_the_agent_timeout() -> None:
    def delayed(seconds: float) -> Scenario:
        agents = replace(SHORT_CALLS.agents, connect_delay=Dist("fixed", seconds))
        return replace(SHORT_CALLS, agents=agents)

    result = Simulation(delayed(1.0), parse_pacer("predictive")).run()
    assert result.connected > 0 and min(result.answer_waits) == pytest.approx(1.0)
    # Longer than the agent timeout: the caller is gone before any agent's phone is answered.
    (s,) = summaries(delayed(SHORT_CALLS.agent_timeout_s + 0.5), "progressive")
    assert s["connected"] == 0
    assert 0 < int(s["abandoned"]) <= int(s["answered"])


def test_scenario_files(tmp_path: Path) -> None:
    toml = tmp_path / "day.toml"
    toml.write_text(
        "hours = 2\nanswer_rate = [[0, 0.4], [3600, 0.2]]\n[agents]\ncount = 3\n"
        "[talk_time]\nmean = 90.0\n"
    )
    sc = scenario.load(toml)
    assert (sc.hours, sc.agents.count, sc.talk_time.mean, sc.talk_time.kind) == (
        2,
        3,
        90.0,
        "lognormal",
    )
    assert (sc.answer_rate_at(10.0), sc.answer_rate_at(4000.0)) == (0.4, 0.2)
    as_json = tmp_path / "day.json"
    as_json.write_text(json.dumps({"agents": {"count": 4}, "answer_rate": 0.5}))
    assert scenario.load(as_json).agents.count == 4
    as_json.write_text(json.dumps({"agnets": 4}))
    with pytest.raises(ValueError, match="agnets"):
        scenario.load(as_json)


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "tiny.json"
    file.write_text(json.dumps({"hours": 0.25, "agents": {"count": 3}}))
    assert main(["simulate", str(file), "--pacer", "progressive", "--pacer", "ratio:2"]) == 0
    table = capsys.readouterr().out
    assert "occupancy" in table and "ratio:2" in table

    assert main(["simulate", str(file), "--json", "--agents", "4", "--seed", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["pacer"] for r in out["results"]] == ["progressive", "ratio", "predictive"]
    assert {r["agents"] for r in out["results"]} == {4}


def test_cli_user_pacer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = ROOT / "bench" / "custom_pacer_example.py"
    args = ["simulate", "--hours", "0.25", "--agents", "3", "--json"]
    assert main([*args, "--pacer", f"{example}:make"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["placed"] > 0

    (tmp_path / "my_pacer.py").write_text(
        "class Idle:\n"
        "    def calls_to_place(self, snap):\n"
        "        return 0\n"
        "def factory(settings):\n"
        "    return Idle()\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--pacer", "my_pacer:factory"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["pacer"] == "my_pacer:factory"
    assert result["placed"] == 0

    assert main([*args, "--pacer", "my_pacer:nothing"]) == 2


def test_an_empirical_distribution_draws_the_observed_values() -> None:
    observed = (3.0, 12.5, 30.0, 30.0, 140.0)
    draw = Dist("empirical", values=observed).sampler(random.Random(5))
    draws = [draw() for _ in range(5000)]
    assert set(draws) == set(observed)
    assert draws.count(30.0) / len(draws) == pytest.approx(0.4, abs=0.03)  # twice observed
    again = Dist("empirical", values=observed).sampler(random.Random(5))
    assert [again() for _ in range(5000)] == draws  # deterministic per seed
    cut = Dist("empirical", values=observed, high=60.0).sampler(random.Random(5))
    assert max(cut() for _ in range(1000)) == 60.0
    assert Dist("empirical", values=observed).describe() == {
        "kind": "empirical",
        "n": 5,
        "median_s": 30.0,
        "p90_s": 140.0,
    }
    with pytest.raises(ValueError, match="empirical distribution needs its values"):
        Dist("empirical")
    with pytest.raises(ValueError, match="only it has them"):
        Dist("gamma", 5.0, values=(1.0,))
    with pytest.raises(ValueError, match="seconds, 0 or more"):
        Dist("empirical", values=(1.0, -2.0))


def test_an_empirical_wrapup_in_a_scenario_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "typing.toml"
    file.write_text(
        'hours = 0.25\n[agents]\ncount = 3\n[wrapup_time]\nkind = "empirical"\n'
        "values = [20, 31.5, 45, 90]\n"
    )
    sc = scenario.load(file)
    assert sc.wrapup_time.values == (20.0, 31.5, 45.0, 90.0)
    # Back to a parametric one over it: the values go with the kind.
    gamma = scenario.from_dict({"wrapup_time": {"kind": "gamma", "mean": 5.0}}, sc)
    assert gamma.wrapup_time == Dist("gamma", 5.0, 0.7)

    assert main(["simulate", str(file), "--pacer", "predictive"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "wrap-up: the scenario's, empirical, 4 values, median 31.5 s, p90 90.0 s\n"
    )
    assert main(["simulate", str(file), "--json", "--pacer", "predictive"]) == 0
    assert json.loads(capsys.readouterr().out)["wrapup"]["n"] == 4
    assert main(["simulate", str(file), "--wrapup-mean", "10"]) == 2
    assert "has no mean to set" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--campaign", "3"], "--campaign goes with --wrapup-from-db"),
        (["--since", "2026-11-01"], "--since goes with --wrapup-from-db"),
        (["--save-wrapup", "w.json"], "--save-wrapup goes with --wrapup-from-db"),
        (["--wrapup-from-db", "--since", "yesterday"], "not an ISO 8601 day or time: 'yesterday'"),
        (
            ["--wrapup-from-db", "--since", "2026-11-02", "--until", "2026-11-01T23:00+00:00"],
            "--since 2026-11-02T00:00:00+00:00 is not before --until 2026-11-01T23:00:00+00:00",
        ),
        (["--wrapup-from-db", "--wrapup-mean", "5"], "has no mean to set"),
    ],
)
def test_wrapup_flags_are_checked_before_any_database(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--hours", "0.1", *argv]) == 2
    assert message in capsys.readouterr().out


def test_the_history_range() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    args = build_parser().parse_args(["simulate", "--wrapup-from-db"])
    assert history_range(args, now) == (now - timedelta(days=30), now)
    args = build_parser().parse_args(
        [
            "simulate",
            "--wrapup-from-db",
            "--since",
            "2026-11-20T08:00+01:00",
            "--until",
            "2026-11-21",
        ]
    )
    assert history_range(args, now) == (
        datetime(2026, 11, 20, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 21, 0, 0, tzinfo=UTC),
    )
    assert history_range(build_parser().parse_args(["simulate"]), now) is None


def typing_agents_history(n: int, limit_s: int) -> list[AfterCallPeriod]:
    """After-call work as agents who type do it, as the history has it: lognormal with a
    median of 30 s and a long tail (sigma 1: p90 108 s), the limit ending the longest; a few
    calls with a result code, and one period still open."""
    rng = random.Random("typing")
    periods = []
    for i in range(n):
        seconds = min(rng.lognormvariate(math.log(30.0), 1.0), float(limit_s))
        code = ("Sale", 7) if i % 3 == 0 else (None, None)
        periods.append(AfterCallPeriod(1, seconds, limit_s, code[1], code[0]))
    return [*periods, AfterCallPeriod(1, None, limit_s, None, None)]


def test_predictive_pacing_stays_honest_with_agents_who_type() -> None:
    history = observed(typing_agents_history(2000, 300), 1, datetime.now(UTC), datetime.now(UTC))
    assert (history.still_open, len(history.values)) == (1, 2000)
    assert 0 < history.cut < 40  # the limit cut about 1.2%
    summary = history.dist().describe()
    assert summary["median_s"] == pytest.approx(30.0, rel=0.1)
    assert summary["p90_s"] == pytest.approx(108.0, rel=0.15)
    typing_mean = sum(history.values) / len(history.values)

    for seed in (1, 2):
        sc = replace(
            SMALL, hours=3.0, seed=seed, agents=Agents(count=20), wrapup_time=history.dist()
        )
        sims = [Simulation(sc, parse_pacer(p)) for p in ("progressive", "predictive")]
        progressive, predictive = (s.run().summary() for s in sims)
        # The feed counts the after-call work as wrap-up, so the pacer knows how long agents
        # take and expects each back when its work is likely over.
        learnt = sims[1].stats.wrapup_times.mean(0.0)
        assert learnt == pytest.approx(typing_mean, rel=0.2)
        assert float(predictive["abandon_rate"]) <= sc.abandon_limit
        assert float(predictive["abandon_rate_worst_day"]) <= sc.abandon_limit
        # ...and keeps them busy: their wait between calls a fraction of progressive's.
        assert float(predictive["agent_wait_mean_s"]) < float(progressive["agent_wait_mean_s"]) / 3
        assert float(predictive["occupancy"]) > float(progressive["occupancy"]) + 0.15
