"""The simulator: deterministic per seed, common random numbers, scenario files, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import islice
from pathlib import Path

import pytest

from dialerd.cli import main
from dialerd.simulator import scenario
from dialerd.simulator.pacers import parse_pacer
from dialerd.simulator.scenario import Agents, Dist, Scenario
from dialerd.simulator.sim import Simulation, callees, run_scenario

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
