"""bench/pacing_bound.py reads the future out of the simulation: what it foresees must be
what then happens, or its figures mean nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dialerd.dialer.pacing import PacingSnapshot, make_pacer
from dialerd.domain import DialMode
from dialerd.simulator.scenario import Agents, Dist, Scenario
from dialerd.simulator.sim import PacerSpec, Simulation

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import pacing_bound

SCENARIO = Scenario(
    hours=0.5, seed=3, agents=Agents(count=8), talk_time=Dist("lognormal", 60.0, 1.0, 5.0)
)
LOOK_AT = 900.0  # well into the run, with calls and agents in every state


def test_foresight_comes_true() -> None:
    sim = Simulation(SCENARIO, PacerSpec("predictive", make_pacer, DialMode.PREDICTIVE))
    pacer = sim.pacer
    seen: dict[str, Any] = {}
    answers: list[float] = []
    ready: list[float] = []

    class Recording:
        def calls_to_place(self, snap: PacingSnapshot) -> int:
            if snap.now == LOOK_AT:
                seen["ready"], seen["answers"] = pacing_bound.foresee(sim, snap.now)
                seen["free"] = snap.agents.free
            return pacer.calls_to_place(snap)

    answered, make_free = sim.stats.answered, sim._make_free

    def record_answer(t: float, ring_time: float) -> None:
        answers.append(t)
        answered(t, ring_time)

    def record_free(t: float, agent: int) -> None:
        ready.append(t)
        make_free(t, agent)

    sim.pacer = Recording()
    sim.stats.answered = record_answer  # type: ignore[method-assign]
    sim._make_free = record_free  # type: ignore[method-assign]
    sim.run()

    foreseen_answers = [at for at, _ in seen["answers"] if at > LOOK_AT]
    assert foreseen_answers, "nothing was ringing: look at another moment"
    assert foreseen_answers == [t for t in answers if LOOK_AT < t <= foreseen_answers[-1]]
    # Agents free at LOOK_AT, then each one foreseen: readiness comes true at that second.
    later = [t for t in seen["ready"] if t > LOOK_AT]
    assert seen["ready"].count(LOOK_AT) >= seen["free"]
    assert later, "no agent was busy: look at another moment"
    assert set(later) <= {t for t in ready if t > LOOK_AT}


def test_oracle_outdoes_predictive_on_the_same_callees() -> None:
    cell = (10, 0.15, 60.0)
    _, predictive, _ = pacing_bound.run((cell, "predictive", 1, 2.0))
    _, oracle, abandoned = pacing_bound.run((cell, "oracle:0.01", 1, 2.0))
    assert oracle > predictive + 0.05
    assert abandoned <= 0.03


def test_sampled_futures_hold_only_what_the_engine_knows() -> None:
    sim = Simulation(SCENARIO, PacerSpec("predictive", make_pacer, DialMode.PREDICTIVE))
    sampled = pacing_bound.SampledPacer(sim, 0.02)
    checked: list[int] = []

    class Checking:
        def calls_to_place(self, snap: PacingSnapshot) -> int:
            if snap.now % 60 == 0 and snap.agents.available:
                for ready, answers in sampled.futures(snap):
                    # one ready time per agent not paused, none before now
                    busy = snap.agents.free + snap.agents.talking + snap.agents.wrapup
                    assert len(ready) == busy and min(ready) >= snap.now
                    # live answers only from the calls ringing or waiting
                    assert len(answers) <= snap.calls_ringing + snap.calls_waiting
                checked.append(1)
            return int(sampled.calls_to_place(snap))

    sim.pacer = Checking()
    result = sim.run()
    assert len(checked) > 10
    assert result.connected > 0
