"""A campaign's breaker for a dead trunk. Pure: time is passed in.

An Originate that fails before any channel exists (qualify has marked the trunk Unavailable,
the endpoint is gone) says nothing about the callee, and a dialer that goes on would burn its
contact list in seconds. After ``threshold`` such failures in a row the breaker opens: the
campaign places no calls, but one probe call every ``probe_s`` (doubling up to
``max_probe_s``). The first call that gets a channel closes it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"  # dialling normally
    OPEN = "open"  # trunk down: waiting for the next probe
    PROBING = "probing"  # one probe call in flight


@dataclass
class TrunkBreaker:
    threshold: int = 3
    first_probe_s: float = 5.0
    max_probe_s: float = 120.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # no-channel failures in a row
    probe_s: float = 0.0  # the wait before the next probe
    opened_at: float = 0.0
    _next_probe: float = 0.0

    def allowed(self, now: float) -> int | None:
        """How many calls may be placed now: None for no limit, 1 for a probe, or 0."""
        if self.state is BreakerState.CLOSED:
            return None
        if self.state is BreakerState.OPEN and now >= self._next_probe:
            return 1
        return 0

    def placed(self, now: float) -> None:
        """A call was placed while the breaker allowed one probe."""
        if self.state is BreakerState.OPEN and now >= self._next_probe:
            self.state = BreakerState.PROBING

    def no_channel(self, now: float) -> bool:
        """A call failed without a channel. True when this opens the breaker. A failed probe
        doubles the wait; failures of calls placed before the breaker opened only count (a
        dead trunk fails them within milliseconds, long before the first probe)."""
        self.failures += 1
        if self.state is BreakerState.OPEN:
            return False
        opened = self.state is BreakerState.CLOSED
        if opened:
            if self.failures < self.threshold:
                return False
            self.opened_at = now
            self.probe_s = self.first_probe_s
        else:
            self.probe_s = min(self.max_probe_s, self.probe_s * 2)
        self.state = BreakerState.OPEN
        self._next_probe = now + self.probe_s
        return opened

    def channel(self) -> bool:
        """A call got a channel. True when this closes an open breaker."""
        was_open = self.state is not BreakerState.CLOSED
        self.state = BreakerState.CLOSED
        self.failures = 0
        return was_open
