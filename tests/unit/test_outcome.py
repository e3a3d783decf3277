"""Outcome classification from the AMI events of one attempt (the measured table in
dialerd/dialer/outcome.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialerd.dialer.outcome import AttemptEvents, attempt_id_of
from dialerd.domain import Connres

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
UID = "dialerd-7"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def run(*events: tuple[float, str, dict[str, str]]) -> AttemptEvents:
    attempt = AttemptEvents(7, started=T0)
    for t, name, fields in events:
        attempt.feed(name, fields, at(t))
    return attempt


def failure(cause: int | None, dialstatus: str | None, reason: int = 0) -> AttemptEvents:
    events: list[tuple[float, str, dict[str, str]]] = [
        (0.1, "DialState", {"DestUniqueid": UID, "DialStatus": "RINGING"}),
    ]
    if dialstatus:
        events.append((1.0, "DialEnd", {"DestUniqueid": UID, "DialStatus": dialstatus}))
    if cause is not None:
        events.append((1.0, "Hangup", {"Uniqueid": UID, "Cause": str(cause)}))
    events.append(
        (1.1, "OriginateResponse", {"Response": "Failure", "Reason": str(reason), "Uniqueid": UID})
    )
    return run(*events)


@pytest.mark.parametrize(
    ("cause", "dialstatus", "reason", "connres", "cause_out"),
    [
        (17, "BUSY", 0, Connres.BUSY, 17),
        (34, "CONGESTION", 0, Connres.NETWORK, 34),
        (1, "NOANSWER", 0, Connres.NETWORK, 1),  # 404: DialEnd says NOANSWER, cause decides
        (19, None, 3, Connres.NO_ANSWER, 19),
        (None, None, 3, Connres.NO_ANSWER, 19),  # no Hangup seen: the Reason still tells
        (None, "BUSY", 0, Connres.BUSY, None),
        (18, None, 0, Connres.NO_ANSWER, 18),
        (21, None, 0, Connres.NETWORK, 21),
        (127, None, 0, Connres.NETWORK, 127),
        (16, "CANCEL", 0, Connres.NO_ANSWER, 16),
    ],
)
def test_failures_follow_the_measured_table(
    cause: int | None, dialstatus: str | None, reason: int, connres: Connres, cause_out: int | None
) -> None:
    out = failure(cause, dialstatus, reason).outcome(ended_at=at(2))
    assert out.connres == connres
    assert out.cause == cause_out
    assert out.dt_alert == at(0.1)
    assert out.dt_connect is None
    assert not out.abandoned and not out.machine


def test_nothing_known_is_the_fallback_connres() -> None:
    out = run().outcome(ended_at=at(5), unknown=Connres.ABORTED)
    assert out.connres == Connres.ABORTED
    assert out.dt_end == at(5)


def test_ringing_without_end_is_the_fallback_not_no_answer() -> None:
    """Last seen ringing, then the AMI went away: the callee may have answered since."""
    out = run((0.1, "DialState", {"DestUniqueid": UID, "DialStatus": "RINGING"})).outcome(
        ended_at=at(9), unknown=Connres.ERROR
    )
    assert (out.connres, out.detail) == (Connres.ERROR, "RINGING, END UNKNOWN")
    assert (out.dt_alert, out.dt_end) == (at(0.1), at(9))
    ended = run(
        (0.1, "DialState", {"DestUniqueid": UID, "DialStatus": "RINGING"}),
        (8.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    ).outcome(ended_at=at(9))
    assert (ended.connres, ended.detail) == (Connres.NO_ANSWER, None)  # its end was seen


def answered(*rest: tuple[float, str, dict[str, str]]) -> AttemptEvents:
    return run(
        (0.1, "Newstate", {"Uniqueid": UID, "ChannelStateDesc": "Ringing"}),
        (1.0, "OriginateResponse", {"Response": "Success", "Reason": "4", "Uniqueid": UID}),
        (1.01, "QueueCallerJoin", {"Uniqueid": UID, "Queue": "q"}),
        *rest,
    )


def test_agent_connect_is_connected_even_when_the_callee_hangs_up() -> None:
    a = answered(
        (1.2, "AgentConnect", {"Uniqueid": UID, "Interface": "PJSIP/agent2", "HoldTime": "0"}),
        (5.0, "HangupRequest", {"Uniqueid": UID}),
        (5.0, "AgentComplete", {"Uniqueid": UID, "Reason": "caller"}),
        (5.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    )
    out = a.outcome(ended_at=at(6))
    assert out.connres == Connres.CONNECTED
    assert (out.dt_connect, out.dt_agent_connect, out.dt_end) == (at(1.0), at(1.2), at(5.0))
    assert out.agent == "PJSIP/agent2"
    assert out.caller_hangup is True
    assert out.cause == 16
    assert out.live_answer and not out.abandoned


def test_agent_hangs_up_first() -> None:
    a = answered(
        (1.2, "AgentConnect", {"Uniqueid": UID, "Interface": "PJSIP/agent1"}),
        (5.0, "AgentComplete", {"Uniqueid": UID, "Reason": "agent"}),
        (5.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    )
    assert a.outcome(ended_at=at(6)).caller_hangup is False


def test_abandoned_by_the_dialplan_is_aborted_and_marked() -> None:
    a = answered(
        (
            3.0,
            "UserEvent",
            {
                "UserEvent": "DialerdResult",
                "AttemptId": "7",
                "Result": "ABANDONED",
                "Detail": "TIMEOUT",
            },
        ),
        (6.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    )
    out = a.outcome(ended_at=at(6))
    assert out.connres == Connres.ABORTED
    assert out.abandoned and not out.machine
    assert out.detail == "ABANDONED TIMEOUT"
    assert out.caller_hangup is False


def test_callee_hangs_up_while_waiting_is_6_and_abandoned() -> None:
    a = answered(
        (1.5, "HangupRequest", {"Uniqueid": UID}),
        (1.5, "QueueCallerAbandon", {"Uniqueid": UID}),
        (1.5, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    )
    out = a.outcome(ended_at=at(2))
    assert out.connres == Connres.CALLEE_HANGUP
    assert out.abandoned and out.caller_hangup is True


def test_callee_hangs_up_before_the_queue_is_6() -> None:
    out = run(
        (1.0, "OriginateResponse", {"Response": "Success", "Reason": "4", "Uniqueid": UID}),
        (2.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    ).outcome(ended_at=at(2))
    assert out.connres == Connres.CALLEE_HANGUP


def test_machine() -> None:
    a = answered(
        (
            3.0,
            "UserEvent",
            {
                "UserEvent": "DialerdResult",
                "AttemptId": "7",
                "Result": "MACHINE",
                "Detail": "LONGGREETING",
            },
        ),
        (3.1, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    )
    out = a.outcome(ended_at=at(4))
    assert out.connres == Connres.ABORTED
    assert out.machine and not out.abandoned and not out.live_answer
    assert out.detail == "MACHINE LONGGREETING"


def test_agent_channel_hangup_does_not_end_the_attempt() -> None:
    a = answered((1.2, "Hangup", {"Uniqueid": "1700000.5", "Linkedid": UID, "Cause": "16"}))
    assert not a.ended
    assert a.waiting_for_agent


def test_answered_without_end_is_the_fallback() -> None:
    out = answered().outcome(ended_at=at(9), unknown=Connres.ABORTED)
    assert out.connres == Connres.ABORTED
    assert out.dt_end == at(9)


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        ("Hangup", {"Uniqueid": "dialerd-12"}, 12),
        ("Hangup", {"Uniqueid": "dialerd-12-2"}, 12),
        ("DialEnd", {"DestUniqueid": "dialerd-3"}, 3),
        ("AgentConnect", {"Uniqueid": "dialerd-4", "DestUniqueid": "1.2"}, 4),
        ("Newstate", {"Uniqueid": "1.2", "ChanVariable(DIALERD_ATTEMPT_ID)": "9"}, 9),
        ("UserEvent", {"AttemptId": "5"}, 5),
        ("Hangup", {"Uniqueid": "1.2", "Linkedid": "dialerd-4"}, None),
        ("Hangup", {"Uniqueid": "dialerd-x"}, None),
    ],
)
def test_attempt_id_of(name: str, fields: dict[str, str], expected: int | None) -> None:
    assert attempt_id_of(name, fields) == expected


def test_agent_complete_alone_is_connected() -> None:
    """An attempt taken over after a crash sees only the end of its agent call."""
    a = run(
        (
            9.0,
            "AgentComplete",
            {"Uniqueid": UID, "Interface": "PJSIP/agent3", "TalkTime": "4", "Reason": "agent"},
        ),
        (9.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
    )
    a.dt_connect = at(4.0)  # the channel was Up when taken over
    out = a.outcome(ended_at=at(10))
    assert out.connres == Connres.CONNECTED
    assert (out.agent, out.dt_agent_connect, out.caller_hangup) == ("PJSIP/agent3", at(5.0), False)


def test_failure_without_any_cause_is_an_error() -> None:
    out = run(
        (0.1, "OriginateResponse", {"Response": "Failure", "Reason": "0", "Uniqueid": UID}),
    ).outcome(ended_at=at(3))
    assert (out.connres, out.detail) == (Connres.ERROR, "ORIGINATE FAILURE (Reason 0)")


XFER = "transfer"  # AgentComplete's Reason after a BlindTransfer


def transferred(
    *after: tuple[float, str, dict[str, str]], kind: str = "number", target: str = "+4930123"
) -> AttemptEvents:
    """A call bridged to PJSIP/agent1, which transferred it at 4 s (AgentComplete Reason
    transfer, then the transfer context's first UserEvent); then ``after``."""
    return answered(
        (1.0, "DialEnd", {"DestUniqueid": UID, "DialStatus": "ANSWER"}),
        (1.2, "AgentConnect", {"Uniqueid": UID, "Interface": "PJSIP/agent1", "Queue": "q1"}),
        (4.0, "AgentComplete", {"Uniqueid": UID, "Interface": "PJSIP/agent1", "Reason": XFER}),
        (4.0, "UserEvent", {"UserEvent": "DialerdTransfer", "Kind": kind, "Target": target}),
        *after,
    )


def test_a_call_transferred_to_a_number_stays_the_first_agent_s_and_ends_with_the_callee() -> None:
    a = transferred(
        (5.0, "DialEnd", {"Uniqueid": UID, "DestUniqueid": "x-1", "DialStatus": "ANSWER"}),
    )
    assert a.transferred and a.dt_agent_end == at(4.0) and not a.ended
    a.feed("Hangup", {"Uniqueid": UID, "Cause": "16"}, at(9.0))
    out = a.outcome(ended_at=at(10))
    assert out.connres == Connres.CONNECTED and out.agent == "PJSIP/agent1"
    assert (out.dt_agent_connect, out.dt_end) == (at(1.2), at(9.0))
    assert out.detail == "TRANSFER number +4930123 ANSWER"
    assert out.caller_hangup is False  # the far end hung up, not the callee: no BYE from it


def test_a_call_transferred_to_a_queue_names_the_agent_who_took_it_there() -> None:
    a = transferred(
        (4.1, "QueueCallerJoin", {"Uniqueid": UID, "Queue": "q2"}),
        (4.2, "AgentConnect", {"Uniqueid": UID, "Interface": "PJSIP/agent5", "Queue": "q2"}),
        (8.0, "HangupRequest", {"Uniqueid": UID}),
        (8.0, "AgentComplete", {"Uniqueid": UID, "Interface": "PJSIP/agent5", "Reason": "caller"}),
        (8.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}),
        kind="queue",
        target="q2",
    )
    out = a.outcome(ended_at=at(10))
    assert out.agent == "PJSIP/agent1" and out.dt_agent_connect == at(1.2)
    assert (a.transfer_agent, a.transfer_queue, a.dt_agent_end) == ("PJSIP/agent5", "q2", at(4.0))
    assert out.detail == "TRANSFER queue q2 ANSWER PJSIP/agent5"
    assert out.caller_hangup is True


@pytest.mark.parametrize(
    ("kind", "after", "detail"),
    [
        (  # the number was busy: DialEnd, then the dialplan's result
            "number",
            [
                (5.0, "DialEnd", {"Uniqueid": UID, "DestUniqueid": "x-1", "DialStatus": "BUSY"}),
                (5.0, "UserEvent", {"UserEvent": "DialerdTransfer", "Result": "BUSY"}),
            ],
            "TRANSFER number +4930123 BUSY",
        ),
        (  # nobody in the queue in time: QueueCallerAbandon, then the dialplan's TIMEOUT
            "queue",
            [
                (6.0, "QueueCallerAbandon", {"Uniqueid": UID}),
                (6.0, "UserEvent", {"UserEvent": "DialerdTransfer", "Result": "TIMEOUT"}),
            ],
            "TRANSFER queue q2 TIMEOUT",
        ),
        (  # the callee hung up while the queue looked for an agent
            "queue",
            [(6.0, "QueueCallerAbandon", {"Uniqueid": UID})],
            "TRANSFER queue q2 ABANDON",
        ),
    ],
)
def test_a_transfer_nobody_took_says_why(
    kind: str, after: list[tuple[float, str, dict[str, str]]], detail: str
) -> None:
    target = "+4930123" if kind == "number" else "q2"
    a = transferred(
        *after, (7.0, "Hangup", {"Uniqueid": UID, "Cause": "16"}), kind=kind, target=target
    )
    out = a.outcome(ended_at=at(10))
    assert out.connres == Connres.CONNECTED and out.detail == detail
    assert not out.abandoned and a.dial_status == "ANSWER"  # the originate's, kept


def test_an_agent_s_hangup_is_no_transfer() -> None:
    a = answered(
        (1.2, "AgentConnect", {"Uniqueid": UID, "Interface": "PJSIP/agent1"}),
        (5.0, "AgentComplete", {"Uniqueid": UID, "Reason": "agent"}),
    )
    assert not a.transferred and a.outcome(ended_at=at(6)).detail is None
