"""AmiConnection against the fake AMI peer: login, routing, list actions, originate,
the ping watchdog, failing waiting actions on loss, reconnect with back-off."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator
from unittest.mock import Mock

import pytest

from dialerd.pbx._wire import RawMessage, _Protocol, parse_message
from dialerd.pbx.ami import (
    AmiActionError,
    AmiConnection,
    AmiEvent,
    AmiUnavailable,
    backoff_delay,
    decode,
)
from tests.unit.fake_ami import FakeAmi, eventually


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as fake:
        yield fake


def connection(
    ami: FakeAmi,
    secret: str | None = None,
    *,
    reconnect_min: float = 0.01,
    reconnect_max: float = 0.08,
) -> AmiConnection:
    return AmiConnection(
        ami.host,
        ami.port,
        ami.username,
        ami.secret if secret is None else secret,
        ping_interval=0.05,
        ping_timeout=0.1,
        reconnect_min=reconnect_min,
        reconnect_max=reconnect_max,
    )


# How long a test waits for a connection that should become ready: only a failing test waits it
# out, and a loaded machine (a logged traceback alone took over a second at load average 20)
# must not fail a passing one.
READY_WITHIN = 10.0


@pytest.fixture
async def conn(ami: FakeAmi) -> AsyncIterator[AmiConnection]:
    c = connection(ami)
    yield c
    await c.stop()


async def started(conn: AmiConnection) -> AmiConnection:
    await conn.start()
    await conn.wait_ready(READY_WITHIN)
    return conn


async def test_login_then_on_ready_hooks_then_ready(ami: FakeAmi, conn: AmiConnection) -> None:
    seen: list[tuple[str, bool]] = []

    async def hook(name: str) -> None:
        seen.append((name, conn.ready))
        (pong,) = await conn.send({"Action": "Ping"})  # actions work before ready
        assert pong["Ping"] == "Pong"

    conn.on_ready += [lambda: hook("first"), lambda: hook("second")]
    await started(conn)
    assert seen == [("first", False), ("second", False)]
    assert [a["Action"] for a in ami.actions[:3]] == ["Login", "Ping", "Ping"]
    assert conn.ready and conn.connects == 1


async def test_bad_secret_is_never_ready_and_retries(ami: FakeAmi) -> None:
    conn = connection(ami, secret="wrong")
    await conn.start()
    try:
        with pytest.raises(AmiUnavailable):
            await conn.wait_ready(0.2)
        assert len(ami.login_times) >= 2
        with pytest.raises(AmiUnavailable):
            await conn.send({"Action": "Ping"})
    finally:
        await conn.stop()


async def test_events_reach_listeners_in_order_with_flat_channel_variables(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    events: list[AmiEvent] = []
    conn.add_listener(events.append)
    await started(conn)
    for i in range(3):
        ami.push(
            {
                "Event": "Newstate",
                "Uniqueid": f"u{i}",
                "ChanVariable": ["DIALERD_ATTEMPT_ID=4", "DIALERD_CAMPAIGN_ID="],
                "DestChanVariable": "DIALERD_ATTEMPT_ID=5",
            }
        )
    await eventually(lambda: len([e for e in events if e.name == "Newstate"]) == 3)
    newstates = [e for e in events if e.name == "Newstate"]
    assert [e["Uniqueid"] for e in newstates] == ["u0", "u1", "u2"]
    assert newstates[0]["ChanVariable(DIALERD_ATTEMPT_ID)"] == "4"
    assert newstates[0]["ChanVariable(DIALERD_CAMPAIGN_ID)"] == ""
    assert newstates[0]["DestChanVariable(DIALERD_ATTEMPT_ID)"] == "5"
    assert newstates[0].seq < newstates[1].seq < newstates[2].seq


def test_decode_old_style_channel_variables_and_repeated_headers() -> None:
    raw = parse_message(
        "Event: OriginateResponse\r\n"
        "ChanVariable(PJSIP/farend-00000000): DIALERD_ATTEMPT_ID=42\r\n"
        "ChanVariable(PJSIP/farend-00000000): X=a=b\r\n"
        "Output: line 1\r\nOutput: line 2"
    )
    assert raw is not None
    event = decode(raw)
    assert event.name == "OriginateResponse"
    assert event.fields["ChanVariable(DIALERD_ATTEMPT_ID)"] == "42"
    assert event.fields["ChanVariable(X)"] == "a=b"
    assert event.get("Output") == "line 1\nline 2"
    assert decode({"Response": "Success"}).name == "Response"


def test_messages_are_split_at_blank_lines_whatever_the_reads() -> None:
    messages: list[RawMessage] = []
    protocol = _Protocol(messages.append, lambda reason: None)
    protocol.connection_made(Mock())
    stream = (
        b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n"
        b"Message: Authentication accepted\r\n\r\n"
        b"Event: VarSet\r\nValue: a: b\r\nChanVariable: X=1\r\nChanVariable: Y=2\r\n\r\n"
        b"Garbage without a name\r\n\r\nEvent: Hangup\r\nCause: 16\r\n\r\n"
    )
    for start in range(0, len(stream), 7):  # reads of 7 bytes
        protocol.data_received(stream[start : start + 7])
    assert messages == [
        {"Response": "Success", "ActionID": "1", "Message": "Authentication accepted"},
        {"Event": "VarSet", "Value": "a: b", "ChanVariable(X)": "1", "ChanVariable(Y)": "2"},
        {"Event": "Hangup", "Cause": "16"},
    ]
    assert parse_message("Key: value") is None  # neither an event nor a response


def test_utf8_character_split_between_reads_survives() -> None:
    messages: list[RawMessage] = []
    protocol = _Protocol(messages.append, lambda reason: None)
    protocol.connection_made(Mock())
    data = "Event: Newchannel\r\nCallerIDName: Zoë\r\n\r\n".encode()
    split = data.index("ë".encode()) + 1
    protocol.data_received(data[:split])
    protocol.data_received(data[split:])
    assert messages == [{"Event": "Newchannel", "CallerIDName": "Zoë"}]


async def test_a_listener_that_raises_does_not_stop_the_others(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    events: list[AmiEvent] = []

    def broken(event: AmiEvent) -> None:
        raise RuntimeError("bug")

    conn.add_listener(broken)
    conn.add_listener(events.append)
    await started(conn)
    ami.push({"Event": "UserEvent", "UserEvent": "DialerdResult"})
    await eventually(lambda: any(e.name == "UserEvent" for e in events))
    assert conn.ready


async def test_list_action_returns_its_events_not_the_listeners(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    events: list[AmiEvent] = []
    conn.add_listener(events.append)
    ami.channels = [{"Channel": f"PJSIP/a-{i}", "Uniqueid": f"u{i}"} for i in range(3)]
    await started(conn)
    reply = await conn.send({"Action": "CoreShowChannels"})
    assert [e.name for e in reply] == ["Response"] + ["CoreShowChannel"] * 3 + [
        "CoreShowChannelsComplete"
    ]
    assert reply[0]["EventList"] == "start"
    assert not [e for e in events if e.name.startswith("CoreShowChannel")]


async def test_error_response_raises_with_the_message(conn: AmiConnection) -> None:
    await started(conn)
    with pytest.raises(AmiActionError, match="Invalid/unknown command") as info:
        await conn.send({"Action": "NoSuchThing"})
    assert info.value.action == "NoSuchThing"
    assert conn.ready


async def test_originate_is_async_and_its_response_reaches_the_listeners(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    events: list[AmiEvent] = []
    conn.add_listener(events.append)
    ami.originate_delay = 0.05
    await started(conn)
    fields = {"Channel": "PJSIP/5550100@farend", "Context": "dialerd-outbound", "Exten": "s"}
    fields |= {"Priority": "1", "ChannelId": "dialerd-42", "Async": "false"}
    await conn.originate(fields, {"DIALERD_ATTEMPT_ID": "42", "DIALERD_QUEUE": "q1"})
    sent = await ami.next_action("Originate")
    assert sent["Async"] == "true"
    assert sent["Variable"] == ["DIALERD_ATTEMPT_ID=42", "DIALERD_QUEUE=q1"]
    assert not [e for e in events if e.name == "OriginateResponse"]  # acked before it came
    await eventually(lambda: any(e.name == "OriginateResponse" for e in events))
    (response,) = [e for e in events if e.name == "OriginateResponse"]
    assert response["ActionID"] == sent["ActionID"]
    assert response["Uniqueid"] == "dialerd-42"
    assert response["ChanVariable(DIALERD_ATTEMPT_ID)"] == "42"


async def test_no_originate_before_ready(ami: FakeAmi, conn: AmiConnection) -> None:
    gate = asyncio.Event()

    async def slow_resync() -> None:
        await gate.wait()

    conn.on_ready.append(slow_resync)
    await conn.start()
    await eventually(lambda: conn.connects == 1)
    with pytest.raises(AmiUnavailable):
        await conn.originate({"Channel": "PJSIP/1@farend"}, {})
    gate.set()
    await conn.wait_ready(READY_WITHIN)
    await conn.originate({"Channel": "PJSIP/1@farend"}, {})


async def test_silent_peer_is_detected_by_ping_and_reconnected(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    resyncs: list[int] = []
    lost: list[float] = []

    async def resync() -> None:
        resyncs.append(conn.connects)

    conn.on_ready.append(resync)
    conn.on_lost.append(lambda: lost.append(time.monotonic()))
    await started(conn)
    silenced = time.monotonic()
    ami.silence()
    await eventually(lambda: bool(lost), within=1.0)
    assert not conn.ready
    # detected within one ping interval plus the ping timeout (plus scheduling slack)
    assert lost[0] - silenced < 0.05 + 0.1 + 0.1
    await conn.wait_ready(READY_WITHIN)
    assert resyncs == [1, 2]
    assert len(lost) == 1


async def test_waiting_actions_fail_at_once_when_the_connection_drops(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    ami.handlers["Slow"] = lambda client, action: None  # never answered
    await started(conn)
    waiting = asyncio.create_task(conn.send({"Action": "Slow"}, timeout=5.0))
    await ami.next_action("Slow")
    dropped = time.monotonic()
    ami.drop()
    with pytest.raises(AmiUnavailable, match="lost"):
        await waiting
    assert time.monotonic() - dropped < 0.5
    await conn.wait_ready(READY_WITHIN)
    assert conn.connects == 2


async def test_an_action_timeout_becomes_unavailable_and_reconnects(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    ami.handlers["Slow"] = lambda client, action: None
    await started(conn)
    with pytest.raises(AmiUnavailable, match="timeout"):
        await conn.send({"Action": "Slow"}, timeout=0.05)
    await eventually(lambda: conn.connects == 2 and conn.ready)


async def test_a_failing_resync_is_retried_on_a_new_connection(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    attempts: list[int] = []

    async def resync() -> None:
        attempts.append(conn.connects)
        if len(attempts) == 1:
            raise RuntimeError("resync bug")

    conn.on_ready.append(resync)
    await started(conn)
    assert attempts == [1, 2]


async def test_reconnect_backs_off_exponentially(ami: FakeAmi) -> None:
    ami.reject_logins = True
    conn = connection(ami)
    await conn.start()
    try:
        await eventually(lambda: len(ami.login_times) >= 6, within=2.0)
    finally:
        await conn.stop()
    gaps = [b - a for a, b in itertools.pairwise(ami.login_times)]
    # delays drawn from [0.005, 0.01], [0.01, 0.02], [0.02, 0.04], [0.04, 0.08], …
    assert gaps[0] < 0.04
    assert 0.04 <= gaps[3] < 0.2
    assert 0.04 <= gaps[4] < 0.2  # capped at reconnect_max


def test_backoff_delay_bounds() -> None:
    for failures, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]):
        delays = [backoff_delay(failures, 0.5, 4.0) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high
    assert max(backoff_delay(50, 0.5, 4.0) for _ in range(200)) <= 4.0


async def test_stop_closes_and_does_not_reconnect(ami: FakeAmi, conn: AmiConnection) -> None:
    lost: list[bool] = []
    conn.on_lost.append(lambda: lost.append(True))
    await started(conn)
    await conn.stop()
    assert not conn.ready and lost == [True]
    logins = len(ami.login_times)
    await asyncio.sleep(0.1)
    assert len(ami.login_times) == logins
    with pytest.raises(AmiUnavailable):
        await conn.send({"Action": "Ping"})


async def test_stop_during_reconnects_always_stops(ami: FakeAmi) -> None:
    """A stop that lands while a reconnect completes must still stop the connection task
    (asyncio.wait_for on Python 3.11 dropped such a cancellation, and the task kept
    reconnecting for ever). Many stops at random moments of a fast reconnect loop."""
    ami.reject_logins = True
    rng = random.Random(7)
    for _ in range(150):
        conn = connection(ami, reconnect_min=0.0005, reconnect_max=0.002)
        await conn.start()
        task = conn._task
        await asyncio.sleep(rng.uniform(0, 0.01))
        stop = asyncio.create_task(conn.stop())
        done, _ = await asyncio.wait([stop], timeout=1.0)
        assert done, "stop() did not return"
        assert task is not None and task.done()
    logins = len(ami.login_times)
    await asyncio.sleep(0.05)
    assert len(ami.login_times) == logins  # nothing reconnects any more


async def test_ready_only_once_asterisk_says_it_is_fully_booted(
    ami: FakeAmi, conn: AmiConnection
) -> None:
    """A restarted Asterisk takes logins while it still loads its modules, when every
    Originate would fail with no channel: the connection waits for its FullyBooted."""
    ami.booted = False
    await conn.start()
    await eventually(lambda: len(ami.login_times) == 1)
    with pytest.raises(AmiUnavailable):
        await conn.wait_ready(0.3)
    ami.boot()
    await conn.wait_ready(READY_WITHIN)
    assert conn.connects == 1
