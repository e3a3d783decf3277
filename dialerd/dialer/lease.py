"""Which campaigns an engine paces: those whose lease for its PBX it holds (pure).

One engine per campaign and PBX places the campaign's calls, or two engines on one Asterisk
would each see every agent free and together place twice what the agents can take. The
store's answer (``DialerStore.hold_campaigns``) says which leases the engine holds; the
engine counts each from the moment it asked, so that its own deadline comes before the one
the database keeps, and it stops pacing a campaign once that passes without a renewal (the
database unreachable, the event loop stalled): by then another engine may have taken it.
See docs/dialer.md, "Nodes".
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PacingLease:
    """The campaigns held at the last renewal, and until when (monotonic seconds)."""

    held: frozenset[int] = frozenset()
    until: float = -math.inf

    def paces(self, campaign_id: int, now: float) -> bool:
        return campaign_id in self.held and now < self.until

    def renewed(self, held: set[int], asked_at: float, lease_s: float) -> PacingLease:
        """The store's answer to a renewal sent at ``asked_at``."""
        return PacingLease(frozenset(held), asked_at + lease_s)

    def changes(self, after: PacingLease, now: float) -> tuple[list[int], list[int]]:
        """(campaigns taken, campaigns lost) from this lease to ``after``, at ``now``."""
        before = self.held if now < self.until else frozenset()
        return sorted(after.held - before), sorted(before - after.held)
