"""The one module that imports panoramisk (it has no type stubs): action serialisation and
ActionIDs (``Action``). Framing and parsing of what Asterisk sends are done here.

panoramisk's ``Manager`` is deliberately not used: it logs in behind ``connect()``'s back, pings
without checking the replies, reconnects on its own fixed timer, re-sends unanswered
actions after a reconnect (a replayed Originate is a second call to the same person) and
hands any event carrying a pending ActionID to that action instead of the event callbacks.
:class:`dialerd.pbx.ami.AmiConnection` owns all of that instead.

Nor is its ``AMIProtocol``'s parser: building a case-insensitive ``Message`` per event took
most of the dialer's CPU in a profile of ``bench/dial.py`` (some 60 events per call). The parser
below gives a plain dict per message, channel variables and repeated headers resolved in the
same pass: reading AMI is still the largest part of dialerd's CPU per call.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import Callable, Mapping

from panoramisk.actions import Action

RawMessage = Mapping[str, str]
"""One AMI message as parsed (:func:`parse_message`)."""

_END = "\r\n\r\n"
# "ChanVariable: NAME=value", "DestChanVariable: NAME=value" and the older form that
# OriginateResponse still uses in Asterisk 22: "ChanVariable(PJSIP/x-0001): NAME=value".
_CHANVAR = re.compile(r"^(\w*ChanVariable)(?:\(.*\))?$")


def parse_message(block: str) -> dict[str, str] | None:
    """One message (the lines between two blank lines); None unless it is an event or a
    response. Lines without ``": "`` (the greeting ``Asterisk Call Manager/…``) are skipped.
    Channel variables become ``ChanVariable(NAME)`` (``DestChanVariable(NAME)``…) keys; any
    other header sent more than once (a Command's ``Output``) is joined with newlines."""
    fields: dict[str, str] = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if "ChanVariable" in key:
            if not key.endswith("ChanVariable"):  # the older form: its channel dropped
                match = _CHANVAR.match(key)
                if match is None:
                    fields[key] = value
                    continue
                key = match.group(1)
            name, _, value = value.partition("=")
            fields[f"{key}({name})"] = value
        elif key in fields:
            fields[key] += "\n" + value
        else:
            fields[key] = value
    if "Event" in fields or "Response" in fields:
        return fields
    return None


class _Protocol(asyncio.Protocol):
    def __init__(
        self, on_message: Callable[[RawMessage], None], on_lost: Callable[[str], None]
    ) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        # Whole characters only: a UTF-8 character can be split across two reads.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""

    def data_received(self, data: bytes) -> None:
        self._buffer += self._decoder.decode(data)
        if _END not in self._buffer:
            return
        *blocks, self._buffer = self._buffer.split(_END)
        for block in blocks:
            message = parse_message(block.strip())
            if message is not None:
                self._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(f"connection closed: {exc}" if exc else "connection closed by peer")


class Wire:
    """One TCP connection to AMI: write actions, get every parsed message in order."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, fields: Mapping[str, str | list[str]]) -> str:
        """Sends an action (a list value repeats the header); returns its ActionID."""
        action = Action(dict(fields))
        self._transport.write(str(action).encode("utf-8"))
        return str(action.action_id)

    def close(self) -> None:
        self._transport.close()


async def open_wire(
    host: str,
    port: int,
    on_message: Callable[[RawMessage], None],
    on_lost: Callable[[str], None],
) -> Wire:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(lambda: _Protocol(on_message, on_lost), host, port)
    return Wire(transport)
