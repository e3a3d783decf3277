"""A small fake Asterisk Manager Interface for fast tests (the real one is tests/pbx/).

It speaks enough AMI for dialerd.pbx and the dialer's unit tests: the banner, Login,
Ping, Originate (ack, then an OriginateResponse shaped like Asterisk 22's), the list
actions CoreShowChannels and QueueStatus, GetConfig of queues.conf; it can push any event,
go silent (a half-open connection) and drop its connections::

    async with FakeAmi() as ami:
        conn = AmiConnection(ami.host, ami.port, ami.username, ami.secret)
        ami.channels.append({"Channel": "PJSIP/x-1", "Uniqueid": "dialerd-7", ...})
        ami.members.append({"Queue": "q1", "Location": "PJSIP/agent1", "Status": "1", ...})
        await conn.start(); await conn.wait_ready(2)
        ami.push({"Event": "Hangup", "Uniqueid": "dialerd-7", ...})
        originate = await ami.next_action("Originate")
        ami.silence()   # the current connections stop answering; new ones work
        ami.drop()      # close every connection

``ami.handlers["Name"] = fn(client, action)`` replaces the handling of an action.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from types import TracebackType

Fields = dict[str, str | list[str]]
Handler = Callable[["FakeClient", Fields], None]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Waits until ``check()`` is true; fails the test after ``within`` seconds (by default
    long enough for a loaded machine: only a failing test waits it out)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def frame(fields: Fields) -> bytes:
    lines: list[str] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}\r\n")
    return ("".join(lines) + "\r\n").encode("utf-8")


def parse(block: str) -> Fields:
    fields: Fields = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key in fields:
            old = fields[key]
            fields[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            fields[key] = value
    return fields


class FakeClient:
    def __init__(self, server: FakeAmi, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.logged_in = False
        self.silent = False

    def send(self, fields: Fields) -> None:
        if not self.silent and not self.writer.is_closing():
            self.writer.write(frame(fields))

    def respond(self, action: Fields, response: str = "Success", **fields: str) -> None:
        self.send({"Response": response, "ActionID": action.get("ActionID", ""), **fields})

    def send_list(self, action: Fields, what: str, events: list[tuple[str, Fields]]) -> None:
        """A list action's answer: the response, the events, the ``…Complete`` event."""
        action_id = str(action.get("ActionID", ""))
        self.respond(action, EventList="start", Message=f"{what} will follow")
        for name, event in events:
            self.send({"Event": name, **event, "ActionID": action_id})
        self.send(
            {
                "Event": f"{action['Action']}Complete",
                "ActionID": action_id,
                "EventList": "Complete",
                "ListItems": str(len(events)),
            }
        )


FULLY_BOOTED: Fields = {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}


class FakeAmi:
    def __init__(self, username: str = "dialerd", secret: str = "s3cret") -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.username = username
        self.secret = secret
        self.reject_logins = False
        self.booted = True  # says FullyBooted at a login; else a restarted Asterisk still loading
        self.channels: list[Fields] = []  # CoreShowChannel events
        self.params: list[Fields] = []  # QueueParams events
        self.members: list[Fields] = []  # QueueMember events
        self.entries: list[Fields] = []  # QueueEntry events
        self.wrapuptime: dict[str, int] = {}  # queues.conf, for GetConfig
        self.originate_reason = 4  # OriginateResponse Reason; 4 = answered
        self.originate_delay = 0.01
        self.actions: list[Fields] = []  # every action received, in order
        self.received_at: list[float] = []  # the loop's time each was received
        self.login_times: list[float] = []  # monotonic time of every Login
        self.clients: list[FakeClient] = []
        self.handlers: dict[str, Handler] = {
            "Login": self._login,
            "Ping": lambda c, a: c.respond(a, Ping="Pong", Timestamp=f"{time.time():.6f}"),
            "Originate": self._originate,
            "CoreShowChannels": lambda c, a: c.send_list(
                a, "Channels", [("CoreShowChannel", ch) for ch in self.channels]
            ),
            "QueueStatus": self._queue_status,
            "GetConfig": self._get_config,
        }
        self._server: asyncio.Server | None = None
        self._received = asyncio.Condition()
        self._ids = itertools.count(1)

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- test controls ----------------------------------------------------------------------

    def push(self, event: Fields) -> None:
        """Sends an event to every logged-in client."""
        for client in self.clients:
            if client.logged_in:
                client.send(event)

    def silence(self) -> None:
        """The current connections stay open but never answer again (a half-open TCP
        connection: the peer is gone without a FIN)."""
        for client in self.clients:
            client.silent = True

    def drop(self) -> None:
        """Closes every connection, as Asterisk does on ``manager kick session``."""
        for client in self.clients:
            client.writer.close()
        self.clients.clear()

    async def next_action(self, name: str, *, after: int = 0) -> Fields:
        """The first action called ``name`` among those received from index ``after`` on
        (waits up to 2 s for it)."""

        def find() -> Fields | None:
            return next((a for a in self.actions[after:] if a.get("Action") == name), None)

        async with self._received:
            await asyncio.wait_for(self._received.wait_for(find), 2.0)
        found = find()
        assert found is not None
        return found

    # -- the protocol -----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = FakeClient(self, writer)
        self.clients.append(client)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        buffer = ""
        try:
            while data := await reader.read(65536):
                buffer += data.decode("utf-8")
                *blocks, buffer = buffer.split("\r\n\r\n")
                for block in blocks:
                    await self._handle(client, parse(block))
        except ConnectionError:
            pass
        finally:
            if client in self.clients:
                self.clients.remove(client)
            writer.close()

    async def _handle(self, client: FakeClient, action: Fields) -> None:
        async with self._received:
            self.actions.append(action)
            self.received_at.append(asyncio.get_running_loop().time())
            self._received.notify_all()
        name = str(action.get("Action", ""))
        if name != "Login" and not client.logged_in:
            client.respond(action, "Error", Message="Permission denied")
        elif name in self.handlers:
            self.handlers[name](client, action)
        else:
            client.respond(action, "Error", Message="Invalid/unknown command")

    def _login(self, client: FakeClient, action: Fields) -> None:
        self.login_times.append(time.monotonic())
        if self.reject_logins or (action.get("Username"), action.get("Secret")) != (
            self.username,
            self.secret,
        ):
            client.respond(action, "Error", Message="Authentication failed")
            client.writer.close()
            return
        client.logged_in = True
        client.respond(action, Message="Authentication accepted")
        if self.booted:
            client.send(FULLY_BOOTED)

    def boot(self) -> None:
        """Loading done: FullyBooted to every logged-in client, as Asterisk raises it."""
        self.booted = True
        self.push(FULLY_BOOTED)

    def _originate(self, client: FakeClient, action: Fields) -> None:
        client.respond(action, Message="Originate successfully queued")
        channel = str(action.get("Channel", ""))
        uniqueid = str(action.get("ChannelId") or f"{time.time():.0f}.{next(self._ids)}")
        variables = action.get("Variable", [])
        response: Fields = {
            "Event": "OriginateResponse",
            "Privilege": "call,all",
            "ActionID": action.get("ActionID", ""),
            "Response": "Success" if self.originate_reason == 4 else "Failure",
            "Channel": f"{channel}-{next(self._ids):08x}",
            "Context": action.get("Context", ""),
            "Exten": action.get("Exten", ""),
            "Reason": str(self.originate_reason),
            "Uniqueid": uniqueid,
            "CallerIDNum": "<unknown>",
            "CallerIDName": "<unknown>",
            # Asterisk 22 still uses the old form of channel variables in this one event.
            f"ChanVariable({channel})": variables,
        }
        asyncio.get_running_loop().call_later(self.originate_delay, client.send, response)

    def _queue_status(self, client: FakeClient, action: Fields) -> None:
        events: list[tuple[str, Fields]] = [("QueueParams", p) for p in self.params]
        events += [("QueueMember", m) for m in self.members]
        events += [("QueueEntry", e) for e in self.entries]
        client.send_list(action, "Queue status", events)

    def _get_config(self, client: FakeClient, action: Fields) -> None:
        if action.get("Filename") != "queues.conf":
            client.respond(action, "Error", Message="Config file not found")
            return
        fields: dict[str, str] = {}
        for i, (queue, seconds) in enumerate(self.wrapuptime.items()):
            fields[f"Category-{i:06d}"] = queue
            fields[f"Line-{i:06d}-000000"] = f"wrapuptime={seconds}"
        client.respond(action, **fields)
