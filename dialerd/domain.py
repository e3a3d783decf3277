"""The domain: the names and records every layer shares (campaign, contact and its number
slots, attempt, outcome, agents, CONNRES). Imports nothing of dialerd: the store, the PBX
adapter, the dialer, the API and the simulator all build on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, time
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


CONNRES_WORDS = {
    Connres.NOT_DIALLED: "not dialled",
    Connres.CONNECTED: "connected to an agent",
    Connres.NO_ANSWER: "no answer",
    Connres.BUSY: "busy",
    Connres.ABORTED: "aborted by the dialer",
    Connres.NETWORK: "network failure",
    Connres.CALLEE_HANGUP: "callee hung up before an agent",
    Connres.ERROR: "error",
}


def connres_words(code: int | None) -> str:
    """A CONNRES in words, as people read it in the console and in exports."""
    if code is None:
        return ""
    try:
        return CONNRES_WORDS[Connres(code)]
    except ValueError:
        return f"CONNRES {code}"


class ContactState(StrEnum):
    OPEN = "open"  # will be dialled when due
    DONE = "done"  # reached an agent
    FINISHED = "finished"  # no attempts or no valid numbers left


class DialMode(StrEnum):
    PROGRESSIVE = "progressive"
    RATIO = "ratio"
    PREDICTIVE = "predictive"
    PREVIEW = "preview"  # an agent sees the contact first and places the call itself


class MachineAction(StrEnum):
    HANGUP = "hangup"
    MESSAGE = "message"


MAX_PHONE_NUMBERS = 6
"""The contacts API has PhoneNumber1..6; the calltask API's callNumberList shares that limit."""

CAUSE_UNALLOCATED = 1
CAUSE_NORMAL_CLEARING = 16
CAUSE_USER_BUSY = 17
CAUSE_NO_USER_RESPONSE = 18
CAUSE_NO_ANSWER = 19
CAUSE_INVALID_NUMBER_FORMAT = 28

CAUSE_WORDS = {
    CAUSE_UNALLOCATED: "unallocated number",
    2: "no route to network",
    3: "no route to destination",
    6: "channel unacceptable",
    CAUSE_NORMAL_CLEARING: "normal clearing",
    CAUSE_USER_BUSY: "user busy",
    CAUSE_NO_USER_RESPONSE: "no user responding",
    CAUSE_NO_ANSWER: "no answer",
    20: "subscriber absent",
    21: "call rejected",
    22: "number changed",
    27: "destination out of order",
    CAUSE_INVALID_NUMBER_FORMAT: "invalid number format",
    29: "facility rejected",
    31: "normal, unspecified",
    34: "no circuit available",
    38: "network out of order",
    41: "temporary failure",
    42: "switching equipment congestion",
    44: "requested channel not available",
    47: "resource unavailable",
    50: "facility not subscribed",
    57: "bearer capability not authorised",
    58: "bearer capability not available",
    63: "service or option not available",
    65: "bearer capability not implemented",
    69: "facility not implemented",
    79: "service or option not implemented",
    88: "incompatible destination",
    102: "recovery on timer expiry",
    111: "protocol error",
    127: "interworking, unspecified",
}
"""Q.850 causes by their names in the recommendation, for those the PBX reports."""


def cause_words(code: int | None) -> str:
    """A Q.850 cause in words; one without a name here is "cause N"."""
    if code is None:
        return ""
    return CAUSE_WORDS.get(code, f"cause {code}")


INVALID_NUMBER_CAUSES = frozenset({CAUSE_UNALLOCATED, CAUSE_INVALID_NUMBER_FORMAT})
"""Q.850 causes by which the network says the number does not exist: it is marked invalid."""


def cause_text(cause: int | None) -> str:
    """``17 user busy``; ``—`` for none."""
    if cause is None:
        return "—"
    name = CAUSE_WORDS.get(cause)
    return f"{cause} {name}" if name else str(cause)


def connres_text(connres: int | None) -> str:
    """``3 busy``; ``—`` for none."""
    return "—" if connres is None else f"{connres} {connres_words(connres)}"


# -- campaign ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """A campaign: every column of the campaigns table (docs/campaigns.md)."""

    id: int
    client_id: int
    name: str
    queue: str | None  # unset: the campaign cannot dial yet
    dial_string: str | None  # "{number}" is replaced by the callee's E.164 number
    caller_id: str | None
    dial_mode: DialMode
    dial_ratio: float
    max_lines_per_agent: float
    abandon_limit: float
    aggressiveness: float
    max_calls_in_flight: int | None
    max_originate_rate: float | None
    ring_timeout_s: int
    agent_timeout_s: int
    wrapup_limit_s: int  # after-call work in the workspace ends by itself after this
    amd_enabled: bool
    machine_action: MachineAction
    window_start: time
    window_end: time
    window_days: tuple[int, ...]  # ISO weekdays
    timezone: str
    default_region: str | None  # how numbers without a country code are read
    max_attempts: int
    min_call_interval_h: float
    retry_minutes: Mapping[str, float]  # CONNRES → minutes to the next try
    callback_grace_s: int  # one agent's callback goes to anyone once it is signed out this long
    abandon_after_care: bool | None  # None: on where default_region asks for it (compliance.py)
    call_hours_override: bool  # an admin let the window reach outside the country's hours
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DialableCampaign(Campaign):
    """A campaign the dialer may dial: active, with a queue and a dial string, typed as set.
    A subclass, so the engine reads every setting as on any campaign; sound because the
    fields are frozen (read-only)."""

    queue: str
    dial_string: str

    @classmethod
    def of(cls, campaign: Campaign) -> DialableCampaign | None:
        """``campaign`` as dialable, or None if it may not dial."""
        if not campaign.active or campaign.queue is None or campaign.dial_string is None:
            return None
        return cls(**{f.name: getattr(campaign, f.name) for f in fields(campaign)})


# -- contact -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberSlot:
    """One of a contact's numbers (PhoneNumber1..6) and what its calls gave so far."""

    number: str | None
    tries: int = 0
    last_cause: int | None = None  # Q.850; None: never called
    last_connres: int | None = None  # the end reason of its last attempt
    invalid: bool = False
    dnc: bool = False  # on a do-not-call list when claimed (never stored with the contact)

    @property
    def dialable(self) -> bool:
        return self.number is not None and not self.invalid and not self.dnc


@dataclass(frozen=True)
class Contact:
    """A contact as the dialer sees it when an attempt on it closes."""

    id: int
    slots: tuple[NumberSlot, ...]
    state: ContactState
    attempts: int
    max_attempts: int
    min_call_interval_h: float
    next_number: int = 0  # 0-based slot to dial next
    never_due: bool = False  # a manual call's: called by its agent, never by the dialer


class SearchState(StrEnum):
    """What a call task search can ask of a contact's state (dialerd/contacts/search.py)."""

    OPEN = "open"  # open and not locked
    LOCKED = "locked"
    DONE = "done"
    FINISHED = "finished"
    DUE = "due"  # the dialer may claim it now (its campaign and call window aside)


class ContactSort(StrEnum):
    ID = "id"
    NAME = "name"  # lower-cased
    NEXT_TRY = "next_try"  # no next try first: due since ever


class ContactAction(StrEnum):
    """What may be done to one contact, or to every contact a search matches."""

    LOCK = "lock"
    UNLOCK = "unlock"
    RESET = "reset"
    DELETE = "delete"


@dataclass(frozen=True)
class ContactFilter:
    """A search of one campaign's contacts, each field None for no condition (the SQL
    function contact_matches, migration 0010)."""

    campaign_id: int
    name_like: str | None = None  # a LIKE pattern for the lower-cased name
    number: str | None = None  # E.164
    customer: str | None = None  # UserData or extCustId
    state: SearchState | None = None
    connres: Connres | None = None
    next_from: datetime | None = None
    next_to: datetime | None = None


@dataclass(frozen=True)
class ContactUpdate:
    """How a contact moves on after an attempt (decided by the dialer's rules)."""

    slots: tuple[NumberSlot, ...]
    next_number: int
    state: ContactState
    attempts: int
    dt_next_try: datetime
    last_connres: int
    last_cause: int | None
    last_result_mailbox: bool
    callback_spent: bool  # somebody was called: a callback the contact had is made
    after_care_until: datetime | None = None  # abandoned: no call without an agent until then


# -- result codes --------------------------------------------------------------------------------


class ResultCodeType(IntEnum):
    """What a result code does to its contact (docs/result-codes.md); the value is the contacts
    API's DiallerResultCodesTypesID."""

    SUCCESS = 1  # done: the call did what the campaign is for
    REFUSED = 2  # done: the callee said no
    RETRY = 3  # try again after the code's minutes
    CALLBACK = 4  # call back at a time the agent picks, by anyone or by that agent
    WRONG_NUMBER = 5  # that number is marked invalid; the next number next time
    DO_NOT_CALL = 6  # finished: never called again (unless reset)


RESULT_CODE_TYPE_WORDS = {
    ResultCodeType.SUCCESS: "done (success)",
    ResultCodeType.REFUSED: "done (refused)",
    ResultCodeType.RETRY: "retry after minutes",
    ResultCodeType.CALLBACK: "callback",
    ResultCodeType.WRONG_NUMBER: "wrong number",
    ResultCodeType.DO_NOT_CALL: "do not call",
}


@dataclass(frozen=True)
class ResultCode:
    """One of a campaign's result codes; ``id`` is DiallerCampaignsResultCodesID."""

    id: int
    campaign_id: int
    name: str
    type: ResultCodeType
    retry_minutes: int | None  # RETRY only
    position: int  # the order agents are offered the codes in
    active: bool  # an inactive code is kept for history but cannot be recorded
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ResultChoice:
    """What the agent chose along with a callback code: when, and whether only they call."""

    callback_at: datetime | None = None
    for_me: bool = False


@dataclass(frozen=True)
class ResultUpdate:
    """How a contact moves on after a result is recorded (decided by dialer/results.py)."""

    slots: tuple[NumberSlot, ...]
    next_number: int
    state: ContactState
    dt_next_try: datetime | None  # None: left as it is (the contact is closed)
    callback_at: datetime | None
    callback_user_id: int | None  # users.id of the agent the callback is for; None: anyone


# -- attempt -------------------------------------------------------------------------------------

CHANNEL_ID_PREFIX = "dialerd-"


def channel_id(attempt_id: int) -> str:
    """The Uniqueid an attempt's callee channel gets (Originate's ChannelId)."""
    return f"{CHANNEL_ID_PREFIX}{attempt_id}"


def attempt_of_channel_id(value: str | None) -> int | None:
    """``dialerd-17`` and ``dialerd-17-2`` (the other half of a Local channel) → 17."""
    if not value or not value.startswith(CHANNEL_ID_PREFIX):
        return None
    head, _, tail = value[len(CHANNEL_ID_PREFIX) :].partition("-")
    if not head.isdigit() or tail not in ("", "2"):
        return None
    return int(head)


@dataclass(frozen=True)
class Outcome:
    """What the history row of an attempt records."""

    connres: Connres
    cause: int | None
    dt_alert: datetime | None
    dt_connect: datetime | None  # the callee answered
    dt_agent_connect: datetime | None
    dt_end: datetime | None
    caller_hangup: bool | None  # the called party hung up first (None: unknown)
    agent: str | None
    abandoned: bool
    machine: bool
    detail: str | None

    @property
    def answered(self) -> bool:
        return self.dt_connect is not None

    @property
    def live_answer(self) -> bool:
        """A person answered (what pacing calls a live answer)."""
        return self.answered and not self.machine


@dataclass(frozen=True)
class ClaimedContact:
    id: int
    slots: tuple[NumberSlot, ...]  # numbers, invalid and do-not-call flags only
    next_number: int


DNC_DETAIL = "DNC"
"""The history's detail of a contact not dialled because its numbers are on a do-not-call
list (CONNRES 0)."""


@dataclass(frozen=True)
class DncEntry:
    """A number on a do-not-call list: a client's, or the installation's (``client_id``
    None), which every client's calls obey (docs/compliance.md)."""

    client_id: int | None
    number: str  # E.164
    source: str  # api, console, cli, or "file <name>"
    added_at: datetime


@dataclass(frozen=True)
class StartedAttempt:
    id: int
    contact_id: int
    started: datetime


@dataclass(frozen=True)
class OpenAttempt:
    """An attempt found open at start-up or after a reconnect, to reconcile."""

    id: int
    contact_id: int
    campaign_id: int
    slot: int  # 0-based
    status: str  # pending (Originate maybe not sent) or dialing (acknowledged)
    started: datetime


@dataclass(frozen=True)
class ClosedAttempt:
    attempt_id: int
    contact_id: int
    slot: int  # 0-based
    outcome: Outcome
    channel: str | None
    retry_at_once: bool = False  # nobody was called: the contact is due again at once
    after_care: bool = False  # the campaign's abandon after-care is on


Decide = Callable[[Contact, ClosedAttempt, Mapping[str, float]], ContactUpdate]
"""How a contact moves on after one of its attempts: (contact, attempt, the campaign's retry
minutes by CONNRES) → update. The dialer's rules decide; the store writes it."""


@dataclass(frozen=True)
class AbandonCounts:
    answered_window: int
    abandoned_window: int
    answered_today: int
    abandoned_today: int


# -- the PBX's side ------------------------------------------------------------------------------


class AgentState(StrEnum):
    FREE = "free"
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"
    OUT = "out"  # not logged in, or not a member of the queue


@dataclass(frozen=True)
class AgentsView:
    """A queue's agents right now. ``logged_in = free + talking + wrapup + paused``."""

    logged_in: int
    free: int
    talking: int
    wrapup: int
    paused: int
    talking_for: tuple[float, ...] = ()  # seconds each talking agent has been talking
    wrapup_for: tuple[float, ...] = ()  # seconds each agent in wrap-up has been in it

    @property
    def available(self) -> int:
        """Logged-in agents that are not paused."""
        return self.logged_in - self.paused


@dataclass(frozen=True)
class AgentLive:
    """One queue member as the PBX shows it now, for the live view."""

    interface: str  # the member's Interface, as history's agent
    name: str  # the member's MemberName
    state: AgentState
    since: float  # epoch seconds the agent has been in ``state``
    pause_reason: str = ""
    channel: str | None = None  # the agent's live channel, if it has one
    ringing: bool = False  # TALKING, but its phone still rings (a call is being offered)


@dataclass(frozen=True)
class PbxStatus:
    """The PBX side of the live view."""

    connected: bool
    version: str  # Asterisk's, '' until known


class AgentActionKind(StrEnum):
    """What a supervisor can do to an agent from the wallboard, and an agent to itself from
    the workspace."""

    PAUSE = "pause"  # QueuePause with a reason
    SIGN_OUT = "sign_out"  # QueueRemove
    LISTEN = "listen"  # ChanSpy from the supervisor's phone: listen only
    WHISPER = "whisper"  # ... talk to the agent only
    BARGE = "barge"  # ... talk to both
    SIGN_IN = "sign_in"  # QueueAdd, not paused (an agent already there: unpaused)
    READY = "ready"  # QueuePause with Paused false
    HANGUP = "hangup"  # Hangup of the agent's channel
    CALL = "call"  # the agent's preview offer (or manual call) is called, bridged to its phone
    TRANSFER = "transfer"  # BlindTransfer of the agent's call (the callee) elsewhere


AFTER_CALL_REASON = "after-call work"
"""The pause reason of an agent's after-call work in the workspace: the PBX adapter counts a
member paused so as in wrap-up, so the pacer learns the workspace's after-call time."""


PREVIEW_REASON = "preview"
"""The pause reason of an agent who holds a preview offer (or is on its call): no queue call
may reach it meanwhile, and the PBX adapter counts it paused, so the pacer does not count it."""


class AgentStatus(StrEnum):
    """An agent's state in the workspace (agent_states); ringing and talking are the PBX's."""

    READY = "ready"
    PAUSED = "paused"
    AFTER_CALL = "after_call"
    OUT = "out"


SPY_KINDS = frozenset({AgentActionKind.LISTEN, AgentActionKind.WHISPER, AgentActionKind.BARGE})


class TransferKind(StrEnum):
    """Where an agent transfers its call to."""

    NUMBER = "number"  # an E.164 number, dialled through the call's campaign's dial string
    QUEUE = "queue"  # a queue of one of the client's campaigns


@dataclass(frozen=True)
class Transfer:
    """An agent's transfer of the call it is on (the attempt ``attempt_id``)."""

    kind: TransferKind
    target: str  # the E.164 number or the queue's name
    attempt_id: int


@dataclass(frozen=True)
class AgentAction:
    """A supervisor's action on an agent of a queue. ``phone`` is the supervisor's own phone
    as an Asterisk dial string (listen, whisper, barge); ``reason`` the pause reason."""

    kind: AgentActionKind
    queue: str
    agent: str  # the member's Interface
    reason: str = ""
    phone: str = ""
    member_name: str = ""  # QueueAdd's MemberName
    transfer: Transfer | None = None  # a transfer's target


@dataclass(frozen=True)
class ReadyAgent:
    """A workspace agent who is ready (agent_states), as the engine reserves preview offers."""

    user_id: int
    client_id: int
    endpoint: str  # its phone, the queue member interface
    ready_since: datetime
    campaign_ids: tuple[int, ...]  # the campaigns it works
    has_offer: bool
    callback_due: bool = False  # one of its own callbacks is due in them


@dataclass(frozen=True)
class AgentClaim:
    """A contact claimed for one agent's preview offer."""

    contact: ClaimedContact
    campaign_id: int
    callback: bool  # the agent's own callback


@dataclass(frozen=True)
class PreviewOffer:
    """A contact reserved for one agent (preview_offers): shown in its workspace until it
    calls or skips it. ``attempt_id`` is set once it is called."""

    user_id: int
    contact_id: int
    campaign_id: int
    slot: int  # 0-based
    number: str
    instance_id: str  # the engine holding the contact's claim
    offered_at: datetime
    attempt_id: int | None
    callback: bool  # the agent's own callback
    manual: bool  # a manual call to a number the agent typed


@dataclass(frozen=True)
class AgentCommand:
    """A supervisor's action waiting for the engine that sees the agent (docs/wallboard.md)."""

    id: int
    action: AgentAction


@dataclass(frozen=True)
class AgentSeconds:
    """Seconds an agent spent in each state in one minute of one campaign (agent_minutes)."""

    minute: datetime
    campaign_id: int
    agent: str
    talk_s: float = 0.0
    wrapup_s: float = 0.0
    ready_s: float = 0.0
    paused_s: float = 0.0


@dataclass(frozen=True)
class Channel:
    """A live PBX channel, tied to an attempt where it is one of ours."""

    uniqueid: str
    name: str
    linkedid: str
    state: str  # Down, Ring, Ringing, Up…
    attempt_id: int | None
    started: float = 0.0  # monotonic time the channel was created


class Role(StrEnum):
    """What a console user may do; each of viewer < supervisor < admin may do all that the
    roles below it may. An agent is apart: it may only what is the agent's (its workspace)."""

    VIEWER = "viewer"  # reads the wallboard and the reports
    SUPERVISOR = "supervisor"  # runs campaigns, imports, call tasks
    ADMIN = "admin"  # also users, API tokens, the audit log; an installation admin also what
    # every client shares (calling systems, info fields, the installation's do-not-call list)
    AGENT = "agent"  # takes calls in the workspace

    def may(self, needed: Role) -> bool:
        if Role.AGENT in (self, needed):
            return self is needed
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class User:
    """A console user; belongs to one client, as an API token does."""

    id: int
    client_id: int
    login: str
    display_name: str
    role: Role
    disabled: bool
    phone: str | None  # the supervisor's own SIP phone, for listen / whisper / barge
    endpoint: str | None = None  # an agent's phone: its queue member interface (PJSIP/agent1)
    installation_admin: bool = False  # granted by the dialerd command only

    def may_change_installation(self) -> bool:
        """Whether the user may change what every client of the installation shares (calling
        systems, their CRM links, info fields, the installation's do-not-call list): an admin
        the command made an installation admin; a plain admin only reads them."""
        return self.role is Role.ADMIN and self.installation_admin and not self.disabled


class PbxError(Exception):
    """The PBX could not do what was asked."""


class PbxUnavailable(PbxError):
    """Not connected, or the connection was lost or timed out while waiting: an action
    may or may not have been carried out."""


class PbxNotSent(PbxUnavailable):
    """Unavailable before the action was sent: the PBX never saw it (for an Originate: no
    call went out)."""


class PbxRefused(PbxError):
    """The PBX answered an action with an error: it was not carried out."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message
