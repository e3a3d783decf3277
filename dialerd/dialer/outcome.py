"""Outcome of one call attempt, from the AMI events of its channel. Pure: no I/O, no clock.

The engine originates the callee leg with ``ChannelId: dialerd-<attempt_id>`` into the
``dialerd-outbound`` context (docs/engine-interfaces.md). What each event tells:

- ``OriginateResponse``: ``Success`` = the callee answered; ``Failure`` = it never did. With
  PJSIP the ``Reason`` is 0 for busy, congestion and unknown numbers alike, so a failure is
  classified by the channel's ``Hangup`` cause, then ``DialEnd``'s status, and only then by
  ``Reason``. A failure with no channel at all (no Newchannel before it) is a dead trunk or
  endpoint, not the callee's outcome. Measured (Asterisk 22, PJSIP to sipp):

  =========================  =========  ==========  ====================
  far end                    Reason     DialStatus  Hangup cause
  =========================  =========  ==========  ====================
  answers                    Success 4  ANSWER      (16 at the end)
  486 Busy                   0          BUSY        17 user busy
  503                        0          CONGESTION  34 congestion
  404                        0          NOANSWER    1 unallocated number
  rings past the timeout     3          (RINGING)   19 no answer
  =========================  =========  ==========  ====================

  Other SIP responses map to causes in res_pjsip: 408→18, 480/483→19, 401/403/407/603→21,
  500→38, 502→27, 484→28, 488/606→58, other 5xx→34, other 4xx→127.
- ``DialState`` RINGING / ``Newstate`` Ringing: the callee is alerted.
- ``UserEvent(DialerdResult)`` from the dialplan: ``MACHINE`` (AMD) or ``ABANDONED`` (no
  agent within DIALERD_AGENT_TIMEOUT: message played, hung up by us).
- ``UserEvent(DialerdAgentConnect)`` from the dialplan: a preview call's agent answered its
  phone (``Interface`` names it); taken as an AgentConnect.
- ``QueueCallerAbandon``: the callee hung up while waiting for an agent.
- ``AgentConnect``: an agent took the call (``Interface`` names the agent); after that the call
  counts as connected whoever hangs up. ``AgentComplete`` says who hung up (``Reason``), or
  that the agent transferred the call (``transfer``).
- A transferred call: the callee's channel runs ``dialerd-transfer`` (``UserEvent
  DialerdTransfer`` with the target, then one with a ``Result`` if nobody took it); its own
  ``DialEnd`` (the number) or the other queue's ``AgentConnect`` says who took it. The first
  agent stays the attempt's; the transfer is the row's detail.
- ``HangupRequest`` on the callee channel: the callee's side asked to hang up (a BYE); our
  own hang-ups (dialplan ``Hangup()``, queue teardown) do not raise it.
- ``Hangup`` of the callee channel: the attempt is over.

CONNRES (contacts API): 1 an agent took it; 2 no answer; 3 busy; 4 aborted by the system
(machine, or abandoned: no agent in time); 5 other network cause; 6 answered, the callee hung
up before an agent took it; 7 error (nothing usable is known); 0 not dialled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from dialerd.domain import (
    CAUSE_NO_ANSWER,
    CAUSE_NO_USER_RESPONSE,
    CAUSE_NORMAL_CLEARING,
    CAUSE_USER_BUSY,
    Connres,
    Outcome,
    attempt_of_channel_id,
    channel_id,
)

_CAUSE_CONNRES = {
    CAUSE_USER_BUSY: Connres.BUSY,
    CAUSE_NO_USER_RESPONSE: Connres.NO_ANSWER,
    CAUSE_NO_ANSWER: Connres.NO_ANSWER,
}
_DIALSTATUS_CONNRES = {
    "BUSY": Connres.BUSY,
    "CONGESTION": Connres.NETWORK,
    "CHANUNAVAIL": Connres.NETWORK,
    "NOANSWER": Connres.NO_ANSWER,
    "CANCEL": Connres.NO_ANSWER,
}
# OriginateResponse Reason (AST_CONTROL_*): 1 hung up, 3 ringing timeout, 5 busy, 8 congestion.
_REASON_CONNRES = {1: Connres.NO_ANSWER, 3: Connres.NO_ANSWER, 5: Connres.BUSY, 8: Connres.NETWORK}
_REASON_CAUSE = {3: CAUSE_NO_ANSWER, 5: CAUSE_USER_BUSY, 8: 34}

# Causes that are not a failure reason by themselves (a hang-up before answer can be 16).
_UNINFORMATIVE_CAUSES = frozenset({0, CAUSE_NORMAL_CLEARING})


def attempt_id_of(name: str, fields: Mapping[str, str]) -> int | None:
    """The attempt an event belongs to, or None. Agent channels' events (which carry our
    channel only as Linkedid) never match, so an agent's hang-up never ends an attempt."""
    for key in ("Uniqueid", "DestUniqueid"):
        found = attempt_of_channel_id(fields.get(key))
        if found is not None:
            return found
    for key in ("ChanVariable(DIALERD_ATTEMPT_ID)", "DestChanVariable(DIALERD_ATTEMPT_ID)"):
        value = fields.get(key, "")
        if value.isdigit():
            return int(value)
    if name == "UserEvent":
        value = fields.get("AttemptId", "")
        if value.isdigit():
            return int(value)
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except ValueError:
        return None


class AttemptEvents:
    """Accumulates the events of one attempt; :meth:`outcome` classifies them."""

    def __init__(self, attempt_id: int, *, started: datetime) -> None:
        self.attempt_id = attempt_id
        self.channel_uniqueid = channel_id(attempt_id)
        self.started = started
        self.channel: str | None = None
        self.originate_result: str | None = None  # "Success" / "Failure"
        self.originate_reason: int | None = None
        self.dial_status: str | None = None
        self.cause: int | None = None
        self.dt_alert: datetime | None = None
        self.dt_connect: datetime | None = None
        self.dt_queue_join: datetime | None = None
        self.dt_agent_connect: datetime | None = None
        self.dt_end: datetime | None = None
        self.agent: str | None = None
        self.agent_complete_reason: str | None = None  # the first agent's
        self.dt_agent_end: datetime | None = None  # the first agent's leg ended
        self.user_result: str | None = None  # MACHINE / ABANDONED
        self.user_detail: str | None = None
        self.caller_abandoned = False
        self.callee_hangup_request = False
        self.channel_created = False  # an event of the callee channel itself was seen
        self.transfer: str | None = None  # "number +4930…" / "queue …": where it went
        self.transfer_result: str | None = None  # ANSWER, or why nobody took it (BUSY, TIMEOUT…)
        self.transfer_agent: str | None = None  # who took it in the other queue
        self.transfer_queue: str | None = None  # ... in which

    @property
    def ended(self) -> bool:
        """The callee channel is gone: nothing more will happen to this attempt."""
        return self.dt_end is not None

    @property
    def transferred(self) -> bool:
        """The agent transferred the call: its leg is over, the callee's goes on."""
        return self.transfer is not None or self.agent_complete_reason == "transfer"

    @property
    def answered(self) -> bool:
        return self.dt_connect is not None

    @property
    def waiting_for_agent(self) -> bool:
        return self.answered and self.dt_agent_connect is None and not self.ended

    @property
    def failed_without_channel(self) -> bool:
        """The Originate failed and no event of a callee channel came: nothing was dialled (a
        dead trunk, an unknown endpoint), so the callee's number says nothing about it. Final
        only after the engine's grace: a channel's events can come after the OriginateResponse."""
        return self.originate_result == "Failure" and not self.channel_created

    def _own_channel(self, fields: Mapping[str, str]) -> bool:
        return fields.get("Uniqueid") == self.channel_uniqueid

    def feed(self, name: str, fields: Mapping[str, str], at: datetime) -> None:
        # An OriginateResponse carries our Uniqueid even when no channel was made.
        if name != "OriginateResponse" and self._own_channel(fields):
            self.channel_created = True
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(fields, at)

    def _on_OriginateResponse(self, fields: Mapping[str, str], at: datetime) -> None:
        self.originate_result = fields.get("Response")
        self.originate_reason = _int(fields.get("Reason"))
        if self.originate_result == "Success" and self.dt_connect is None:
            self.dt_connect = at
        # A failure's Channel is the dial string, whether or not a channel was ever made.
        if fields.get("Channel") and self.channel is None and self.originate_result == "Success":
            self.channel = fields["Channel"]

    def _on_Newchannel(self, fields: Mapping[str, str], at: datetime) -> None:
        if self._own_channel(fields):
            self.channel = fields.get("Channel", self.channel)

    def _on_Newstate(self, fields: Mapping[str, str], at: datetime) -> None:
        if not self._own_channel(fields):
            return
        state = fields.get("ChannelStateDesc")
        if state == "Ringing" and self.dt_alert is None:
            self.dt_alert = at
        elif state == "Up" and self.dt_connect is None:
            self.dt_connect = at

    def _on_DialState(self, fields: Mapping[str, str], at: datetime) -> None:
        if fields.get("DialStatus") in ("RINGING", "PROGRESS") and self.dt_alert is None:
            self.dt_alert = at

    def _on_DialEnd(self, fields: Mapping[str, str], at: datetime) -> None:
        if self.transferred:  # the transfer's Dial(), the callee its caller
            if self._own_channel(fields):
                self.transfer_result = self.transfer_result or fields.get("DialStatus")
            return
        self.dial_status = fields.get("DialStatus")
        if self.dial_status == "ANSWER" and self.dt_connect is None:
            self.dt_connect = at

    def _on_QueueCallerJoin(self, fields: Mapping[str, str], at: datetime) -> None:
        self.dt_queue_join = self.dt_queue_join or at

    def _on_AgentConnect(self, fields: Mapping[str, str], at: datetime) -> None:
        if self.transferred:  # the other queue's agent took it
            self.transfer_agent = fields.get("Interface") or fields.get("MemberName")
            self.transfer_queue = fields.get("Queue")
            self.transfer_result = self.transfer_result or "ANSWER"
            return
        self.dt_agent_connect = self.dt_agent_connect or at
        self.agent = fields.get("Interface") or fields.get("MemberName") or self.agent

    def _on_AgentComplete(self, fields: Mapping[str, str], at: datetime) -> None:
        """Also the only sign of the agent for an attempt taken over mid-call (after a
        crash): its AgentConnect went to the dead process. After a transfer to a queue, the
        second is that queue's agent's, and says nothing of the first."""
        if self.agent_complete_reason is not None:
            return
        self.dt_agent_end = at
        self.agent_complete_reason = fields.get("Reason") or "unknown"
        self.agent = self.agent or fields.get("Interface") or fields.get("MemberName")
        if self.dt_agent_connect is None:
            talk = _int(fields.get("TalkTime"))
            self.dt_agent_connect = at - timedelta(seconds=talk) if talk is not None else at

    def _on_QueueCallerAbandon(self, fields: Mapping[str, str], at: datetime) -> None:
        self.caller_abandoned = True

    def _on_UserEvent(self, fields: Mapping[str, str], at: datetime) -> None:
        kind = fields.get("UserEvent")
        if kind == "DialerdResult" and self.user_result is None:
            self.user_result = fields.get("Result")
            self.user_detail = fields.get("Detail") or None
        elif kind == "DialerdAgentConnect":  # a preview call's agent took it: no queue event
            self._on_AgentConnect(fields, at)
        elif kind == "DialerdTransfer":
            target = f"{fields.get('Kind', '')} {fields.get('Target', '')}".strip()
            self.transfer = self.transfer or target
            self.transfer_result = self.transfer_result or fields.get("Result") or None

    def _on_HangupRequest(self, fields: Mapping[str, str], at: datetime) -> None:
        if self._own_channel(fields):
            self.callee_hangup_request = True

    def _on_Hangup(self, fields: Mapping[str, str], at: datetime) -> None:
        if not self._own_channel(fields):
            return
        self.cause = _int(fields.get("Cause"))
        self.dt_end = at

    def outcome(self, *, ended_at: datetime, unknown: Connres = Connres.ERROR) -> Outcome:
        """The classification of what was seen. ``unknown`` is the CONNRES when nothing tells
        how the call went (e.g. its channel vanished while AMI was down)."""
        connres, detail = self._classify(unknown)
        machine = self.user_result == "MACHINE"
        abandoned = not machine and connres in (Connres.ABORTED, Connres.CALLEE_HANGUP)
        abandoned = abandoned and self.answered
        return Outcome(
            connres=connres,
            cause=self._cause(),
            dt_alert=self.dt_alert,
            dt_connect=self.dt_connect,
            dt_agent_connect=self.dt_agent_connect,
            dt_end=self.dt_end or ended_at,
            caller_hangup=self._caller_hangup(connres),
            agent=self.agent,
            abandoned=abandoned,
            machine=machine,
            detail=detail,
        )

    def _classify(self, unknown: Connres) -> tuple[Connres, str | None]:
        if self.dt_agent_connect is not None:
            return Connres.CONNECTED, self._transfer_detail()
        if self.user_result == "MACHINE":
            return Connres.ABORTED, f"MACHINE {self.user_detail or ''}".strip()
        if self.user_result == "ABANDONED":
            return Connres.ABORTED, f"ABANDONED {self.user_detail or ''}".strip()
        if self.answered:
            if self.caller_abandoned:
                return Connres.CALLEE_HANGUP, "CALLER_ABANDON"
            if self.ended:
                return Connres.CALLEE_HANGUP, None
            return unknown, "ANSWERED, END UNKNOWN"
        if self.cause is not None and self.cause not in _UNINFORMATIVE_CAUSES:
            return _CAUSE_CONNRES.get(self.cause, Connres.NETWORK), None
        if self.dial_status in _DIALSTATUS_CONNRES:
            return _DIALSTATUS_CONNRES[self.dial_status], None
        if self.originate_reason in _REASON_CONNRES:
            return _REASON_CONNRES[self.originate_reason], None
        if self.dt_alert is not None and not self.ended:
            # Ringing when last seen, its end unseen (the AMI was away): it may have been
            # answered since, even talked to an agent, so "no answer" would be a guess.
            return unknown, "RINGING, END UNKNOWN"
        if self.cause == CAUSE_NORMAL_CLEARING or self.dt_alert is not None:
            return Connres.NO_ANSWER, None
        if self.originate_result == "Failure":  # e.g. the channel could not even be created
            return unknown, f"ORIGINATE FAILURE (Reason {self.originate_reason})"
        return unknown, "OUTCOME UNKNOWN"

    def _transfer_detail(self) -> str | None:
        """``TRANSFER <kind> <target> [<result> [<agent>]]``: where the agent sent the call
        and how it went there (ABANDON: the callee left the other queue before an agent)."""
        if not self.transferred:
            return None
        result = self.transfer_result or ("ABANDON" if self.caller_abandoned else None)
        words = ["TRANSFER", self.transfer, result, self.transfer_agent]
        return " ".join(w for w in words if w)

    def _cause(self) -> int | None:
        if self.cause not in (None, 0):
            return self.cause
        if not self.answered and self.originate_reason in _REASON_CAUSE:
            return _REASON_CAUSE[self.originate_reason]
        return self.cause

    def _caller_hangup(self, connres: Connres) -> bool | None:
        if connres == Connres.CONNECTED:
            if self.agent_complete_reason is not None and not self.transferred:
                return self.agent_complete_reason == "caller"
            return self.callee_hangup_request if self.ended else None
        if connres == Connres.CALLEE_HANGUP:
            return True
        if self.answered:  # machine or abandoned: the dialplan hung up
            return self.callee_hangup_request
        if connres in (Connres.BUSY, Connres.NETWORK):
            return True  # the far end refused the call
        if connres == Connres.NO_ANSWER:
            return False  # we gave up ringing
        return None
