"""The one module that imports panoramisk (it has no type stubs): AMI framing and message
parsing (``AMIProtocol``), action serialisation and ActionIDs (``Action``).

Its ``Manager`` is deliberately not used: it logs in behind ``connect()``'s back, pings
without checking the replies, reconnects on its own fixed timer, re-sends unanswered
actions after a reconnect (a replayed Originate is a second call to the same person) and
hands any event carrying a pending ActionID to that action instead of the event callbacks.
:class:`dialerd.pbx.ami.AmiConnection` owns all of that instead.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol

RawMessage = Mapping[str, str | list[str]]
"""One AMI message as parsed: a header sent more than once is a list, in order."""


class _Protocol(AMIProtocol):  # type: ignore[misc]  # panoramisk is untyped
    def __init__(
        self, on_message: Callable[[RawMessage], None], on_lost: Callable[[str], None]
    ) -> None:
        super().__init__()
        self._on_message = on_message
        self._on_lost = on_lost
        # panoramisk decodes every read on its own (errors="ignore"), which drops a UTF-8
        # character split across two reads: hand it whole characters only.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.encoding = "utf-8"

    def data_received(self, data: bytes) -> None:
        super().data_received(self._decoder.decode(data).encode("utf-8"))

    def handle_message(self, message: Any) -> None:
        # Routing responses to actions is AmiConnection's job (see the module docstring).
        # panoramisk's Message also stores its body under "content"; AMI 2 has no bodies.
        self._on_message({k: v for k, v in message.items() if k != "content"})

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
