"""How long a sign-in must wait after failed ones (pure).

Failures are counted per account and per address. An account may fail a few times freely, then
each further try waits twice as long as the one before (1 s, 2 s, 4 s … up to 5 minutes); an
address gets more free tries, since many people may sit behind one. A count is forgotten an
hour after its last failure.
"""

from __future__ import annotations

from dataclasses import dataclass

FORGET_AFTER_S = 3600.0
MAX_WAIT_S = 300.0


@dataclass(frozen=True, slots=True)
class Limit:
    free: int  # failures before any wait


ACCOUNT = Limit(free=3)
ADDRESS = Limit(free=20)


def account_key(login: str) -> str:
    return "login:" + login.strip().lower()


def address_key(address: str) -> str:
    return "address:" + address


def wait_s(limit: Limit, failures: int, since_last_s: float) -> float:
    """Seconds still to wait before the next try; 0 when it may go ahead."""
    if failures < limit.free or since_last_s >= FORGET_AFTER_S:
        return 0.0
    delay = min(MAX_WAIT_S, 2.0 ** (failures - limit.free))
    return max(0.0, delay - since_last_s)
