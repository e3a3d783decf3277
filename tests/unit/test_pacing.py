"""Pacing: the pacers' invariants, the caps, and the measurements they read."""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.dialer.pacing import (
    DAY_S,
    CallStats,
    PacingSettings,
    PacingSnapshot,
    PredictivePacer,
    ProgressivePacer,
    RateLimiter,
    RatioPacer,
    apply_caps,
    make_pacer,
)
from dialerd.domain import AgentsView, DialMode

ALL_MODES = list(DialMode)


def agents(
    free: int = 0, talking: int = 0, wrapup: int = 0, paused: int = 0, talking_for: float = 60.0
) -> AgentsView:
    return AgentsView(
        logged_in=free + talking + wrapup + paused,
        free=free,
        talking=talking,
        wrapup=wrapup,
        paused=paused,
        talking_for=tuple(talking_for + i for i in range(talking)),
        wrapup_for=(1.0,) * wrapup,
    )


def snap(
    view: AgentsView,
    *,
    mode: DialMode = DialMode.PREDICTIVE,
    ringing: int = 0,
    waiting: int = 0,
    stats: CallStats | None = None,
    now: float = 3600.0,
    **setting: float,
) -> PacingSnapshot:
    return PacingSnapshot(
        now=now,
        agents=view,
        calls_ringing=ringing,
        calls_waiting=waiting,
        stats=stats or CallStats(),
        settings=PacingSettings(mode=mode, **setting),
    )


def trained(answered: int = 300, abandoned: int = 0, answer_rate: float = 0.3) -> CallStats:
    """Stats after a steady hour: live answers after 8..12 s, the rest unanswered after
    25 s, talk times of 100..199 s and 5 s of wrap-up; the first ``abandoned`` live
    answers found no agent."""
    stats = CallStats()
    calls = round(answered / answer_rate)
    live = 0
    for i in range(calls):
        t = 3600.0 * i / calls
        stats.placed(t)
        if i % round(1 / answer_rate):
            stats.unanswered(t, 25.0)
            continue
        stats.answered(t, 8.0 + i % 5)
        live += 1
        if live <= abandoned:
            stats.abandoned(t)
        else:
            stats.connected(t, 0.0)
            stats.handled(t, 105.0 + i % 100, 5.0)
    return stats


# -- what every pacer must do ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
def test_no_calls_without_agents(mode: DialMode) -> None:
    pacer = make_pacer(PacingSettings(mode=mode))
    assert pacer.calls_to_place(snap(agents(), mode=mode, stats=trained())) == 0


@pytest.mark.parametrize("mode", ALL_MODES)
def test_no_calls_when_all_agents_are_paused(mode: DialMode) -> None:
    pacer = make_pacer(PacingSettings(mode=mode))
    assert pacer.calls_to_place(snap(agents(paused=5), mode=mode, stats=trained())) == 0


@given(
    free=st.integers(0, 30),
    talking=st.integers(0, 30),
    wrapup=st.integers(0, 5),
    paused=st.integers(0, 5),
    ringing=st.integers(0, 100),
    waiting=st.integers(0, 5),
    mode=st.sampled_from(ALL_MODES),
    max_lines=st.floats(1.0, 5.0),
)
@settings(max_examples=150, deadline=None)
def test_invariants_hold_for_any_state(
    free: int,
    talking: int,
    wrapup: int,
    paused: int,
    ringing: int,
    waiting: int,
    mode: DialMode,
    max_lines: float,
) -> None:
    view = agents(free, talking, wrapup, paused)
    s = snap(
        view,
        mode=mode,
        ringing=ringing,
        waiting=waiting,
        stats=TRAINED,
        max_lines_per_agent=max_lines,
    )
    n = make_pacer(s.settings).calls_to_place(s)
    assert n >= 0
    if view.available == 0:
        assert n == 0
    if mode == DialMode.PREDICTIVE:
        progressive = max(0, free - ringing - waiting)
        assert n >= progressive
        assert n <= max(progressive, int(max_lines * view.available) - ringing - waiting)


TRAINED = trained()


# -- progressive and ratio -------------------------------------------------------------------


def test_progressive_is_free_agents_minus_calls_in_flight() -> None:
    pacer = ProgressivePacer()
    assert pacer.calls_to_place(snap(agents(free=5, talking=3), ringing=2)) == 3
    assert pacer.calls_to_place(snap(agents(free=2), ringing=4)) == 0


def test_ratio_places_lines_per_free_agent() -> None:
    pacer = RatioPacer()
    assert pacer.calls_to_place(snap(agents(free=4), mode=DialMode.RATIO, ratio=1.5)) == 6
    assert (
        pacer.calls_to_place(snap(agents(free=4), mode=DialMode.RATIO, ratio=1.5, ringing=5)) == 1
    )
    assert pacer.calls_to_place(snap(agents(free=3), mode=DialMode.RATIO, ratio=2.5)) == 7


# -- predictive ------------------------------------------------------------------------------


def test_predictive_is_progressive_with_little_data() -> None:
    view = agents(free=3, talking=20, talking_for=150.0)
    assert PredictivePacer().calls_to_place(snap(view, ringing=1, stats=CallStats())) == 2


def test_predictive_dials_ahead_of_agents_about_to_finish() -> None:
    # 20 agents 170..189 s into calls of 105..204 s: many will be free within a ring time.
    view = agents(free=0, talking=20, talking_for=170.0)
    assert PredictivePacer().calls_to_place(snap(view, stats=trained())) > 0


def test_predictive_waits_for_agents_far_from_finishing() -> None:
    view = agents(free=0, talking=20, talking_for=5.0)  # at least 100 s of talk left each
    assert PredictivePacer().calls_to_place(snap(view, stats=trained())) == 0


def test_predictive_backs_off_as_the_abandon_rate_nears_the_limit() -> None:
    view = agents(free=2, talking=20, talking_for=150.0)
    # 0, 5, 8, 9 and 11 abandons of 334 live answers: 0%, 1.5%, 2.4%, 2.7% and 3.3%.
    placed = [
        PredictivePacer().calls_to_place(snap(view, stats=trained(abandoned=n)))
        for n in (0, 5, 8, 9, 11)
    ]
    assert placed[0] > placed[1] > placed[2] >= placed[3] > placed[4]
    assert placed[4] == 2  # progressive at the limit


def test_predictive_is_bolder_with_more_aggressiveness_and_a_higher_limit() -> None:
    view = agents(free=0, talking=40, talking_for=120.0)
    stats = trained(answered=600)
    calm = PredictivePacer().calls_to_place(snap(view, stats=stats, aggressiveness=0.5))
    bold = PredictivePacer().calls_to_place(snap(view, stats=stats, aggressiveness=2.0))
    loose = PredictivePacer().calls_to_place(snap(view, stats=stats, abandon_limit=0.1))
    assert calm <= bold
    assert calm <= loose


def test_predictive_respects_max_lines_per_agent() -> None:
    view = agents(free=10, talking=10, talking_for=190.0)
    s = snap(view, stats=trained(), max_lines_per_agent=1.2, abandon_limit=0.5)
    assert PredictivePacer().calls_to_place(s) == 24  # 1.2 lines for each of 20 agents


def test_settings_changes_apply_on_the_next_tick() -> None:
    pacer = make_pacer(PacingSettings(mode=DialMode.PROGRESSIVE))
    view = agents(free=4)
    assert pacer.calls_to_place(snap(view, mode=DialMode.PROGRESSIVE)) == 4
    assert pacer.calls_to_place(snap(view, mode=DialMode.RATIO, ratio=2.0)) == 8


# -- caps ------------------------------------------------------------------------------------


def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate_per_s=2.0, burst=5)
    assert limiter.take(0.0, 10) == 5
    assert limiter.take(0.0, 10) == 0
    assert limiter.take(1.0, 10) == 2
    assert limiter.take(1.25, 10) == 0
    assert limiter.take(1.5, 1) == 1
    assert limiter.take(100.0, 3) == 3
    assert limiter.take(100.0, 10) == 2  # refilled to the burst, not beyond
    assert limiter.take(100.0, -1) == 0


def test_apply_caps() -> None:
    assert apply_caps(10, in_flight=5, max_in_flight=8) == 3
    assert apply_caps(10, in_flight=9, max_in_flight=8) == 0
    assert apply_caps(10, in_flight=9, max_in_flight=None) == 10
    assert apply_caps(-2, in_flight=0, max_in_flight=None) == 0


# -- measurements ----------------------------------------------------------------------------


def test_abandon_rate_counts_live_answers_only() -> None:
    stats = CallStats()
    for t in range(10):
        stats.answered(t, 5.0)
        stats.machine(t, 5.0)
    stats.abandoned(10.0)
    assert stats.abandon_rate_today(10.0) == pytest.approx(0.1)
    assert stats.abandon_rate_window(10.0) == pytest.approx(0.1)


def test_today_restarts_at_midnight_and_the_window_keeps_counting() -> None:
    stats = CallStats(day_offset_s=3600.0)  # the campaign's midnight is at 23:00 on this clock
    stats.answered(DAY_S - 3601.0, 5.0)
    stats.abandoned(DAY_S - 3601.0)
    stats.answered(DAY_S - 3599.0, 5.0)
    assert stats.today_counts(DAY_S - 3599.0) == (1, 0)
    assert stats.window_counts(DAY_S - 3599.0) == (2, 1)


def test_window_forgets_old_counts() -> None:
    stats = CallStats(window_s=7200.0)
    stats.answered(0.0, 5.0)
    stats.abandoned(0.0)
    assert stats.window_counts(7000.0) == (1, 1)
    assert stats.window_counts(7300.0) == (0, 0)


def test_restore_seeds_the_counts() -> None:
    stats = CallStats()
    stats.restore(
        1000.0, answered_window=500, abandoned_window=10, answered_today=100, abandoned_today=4
    )
    stats.answered(1001.0, 5.0)
    assert stats.window_counts(1001.0) == (501, 10)
    assert stats.today_counts(1001.0) == (101, 4)


def test_answer_rate_starts_at_the_prior_and_follows_recent_calls() -> None:
    stats = CallStats(prior_answer_rate=0.2, half_life_s=600.0)
    assert stats.answer_rate(0.0) == pytest.approx(0.2)
    for i in range(1000):
        t = i * 0.5
        if i % 2:
            stats.answered(t, 5.0)
        else:
            stats.unanswered(t, 25.0)
    assert stats.answer_rate(500.0) == pytest.approx(0.5, abs=0.02)
    for i in range(2000):  # a bad batch of numbers: nobody answers for a while
        stats.unanswered(500.0 + i * 0.6, 25.0)
    assert stats.answer_rate(1700.0) < 0.1


def test_answer_rate_follows_a_jump_within_a_minute() -> None:
    """Four calls a second; a live answer after 6..17 s, the rest ring out at 30 s. The
    answer rate jumps from 15% to 60% at t = 3600 s: calls placed before it keep ending
    unanswered for half a minute, which holds back a rate by end time, not one by placement."""
    stats = CallStats(half_life_s=600.0)
    outcomes: list[tuple[float, float, bool]] = []  # (ends at, ring time, live)
    readings: dict[int, float] = {}
    n = 0
    for second in range(3700):
        now = float(second)
        while outcomes and outcomes[0][0] <= now:
            end, ring, live = heapq.heappop(outcomes)
            if live:
                stats.answered(end, ring)
            else:
                stats.unanswered(end, ring)
        readings[second] = stats.answer_rate(now)
        rate = 0.15 if second < 3600 else 0.6
        for _ in range(4):
            live = (n * 0.618034) % 1.0 < rate  # evenly spread, deterministic
            ring = 6.0 + n % 12 if live else 30.0
            stats.placed(now)
            heapq.heappush(outcomes, (now + ring, ring, live))
            n += 1
    assert all(abs(readings[s] - 0.15) < 0.04 for s in range(1800, 3600))
    assert readings[3630] > 0.3  # the rate by end time alone is still below 0.2 here
    assert readings[3660] > 0.5
    assert readings[3699] == pytest.approx(0.6, abs=0.06)
