"""Names shared by the API, the store, the dialer and the docs."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Connres(IntEnum):
    """Outcome of an outbound call attempt, as the contacts API's history reports it."""

    NOT_DIALLED = 0  # the initiator hung up before the call went out
    CONNECTED = 1  # connected to an agent
    NO_ANSWER = 2
    BUSY = 3
    ABORTED = 4  # aborted by the system (e.g. answered but no agent in time, machine)
    NETWORK = 5  # network cause other than busy
    CALLEE_HANGUP = 6  # answered, the called party hung up before an agent took it
    ERROR = 7


class ContactState(StrEnum):
    OPEN = "open"  # will be dialled when due
    DONE = "done"  # reached an agent
    FINISHED = "finished"  # no attempts or no valid numbers left


class DialMode(StrEnum):
    PROGRESSIVE = "progressive"
    RATIO = "ratio"
    PREDICTIVE = "predictive"


class MachineAction(StrEnum):
    HANGUP = "hangup"
    MESSAGE = "message"


MAX_PHONE_NUMBERS = 6
"""The contacts API has PhoneNumber1..6; the calltask API's callNumberList shares that limit."""
