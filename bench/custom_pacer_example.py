"""An example user pacer for ``dialerd simulate --pacer bench/custom_pacer_example.py:make``.

A "ratio with a brake": ``settings.ratio`` lines per free agent while today's abandon rate
is under half the limit, one line per free agent (progressive) above that. It shows the
whole protocol: a factory taking the campaign's PacingSettings and returning an object with
``calls_to_place(snapshot) -> int``, reading only the snapshot.
"""

from __future__ import annotations

import math

from dialerd.dialer.pacing import Pacer, PacingSettings, PacingSnapshot


class BrakingRatioPacer:
    def calls_to_place(self, snap: PacingSnapshot) -> int:
        agents = snap.agents
        if agents.logged_in == 0 or agents.free == 0:
            return 0  # also covers "all paused": paused agents are never free
        half_limit = snap.settings.abandon_limit / 2
        braking = snap.stats.abandon_rate_today(snap.now) >= half_limit
        lines = agents.free if braking else math.floor(snap.settings.ratio * agents.free)
        return max(0, lines - snap.in_flight)


def make(settings: PacingSettings) -> Pacer:
    return BrakingRatioPacer()
