"""The dialer's PBX port on Asterisk: one AMI connection and the live state built from its
events, wired in the order the engine relies on (live state resynced before the engine's
reconciliation reads it; forgotten when the connection is lost)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dialerd.domain import AgentState, AgentsView, Channel
from dialerd.pbx.ami import AmiConnection, AmiEvent
from dialerd.pbx.state import LiveState


class AsteriskPbx:
    def __init__(self, ami: AmiConnection, live: LiveState | None = None) -> None:
        self.ami = ami
        self.live = live or LiveState()
        ami.add_listener(self.live.apply)
        ami.on_ready.append(self._resync)
        ami.on_lost.append(self.live.clear)

    async def _resync(self) -> None:
        await self.live.resync(self.ami)

    async def start(self) -> None:
        await self.ami.start()

    async def stop(self) -> None:
        await self.ami.stop()

    @property
    def ready(self) -> bool:
        return self.ami.ready

    def subscribe(
        self,
        on_event: Callable[[AmiEvent], None],
        on_ready: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        self.ami.add_listener(on_event)
        self.ami.on_ready.append(on_ready)
        self.ami.on_lost.append(on_lost)

    async def originate(self, fields: dict[str, str], variables: dict[str, str]) -> None:
        await self.ami.originate(fields, variables)

    def attempt_channels(self, attempt_id: int) -> list[Channel]:
        return self.live.attempt_channels(attempt_id)

    def queue_agents(self, queue: str, now: float) -> AgentsView:
        return self.live.queue_agents(queue, now)

    def agent_state(self, queue: str, agent: str, now: float) -> AgentState:
        return self.live.agent_state(queue, agent, now)

    def agent_last_call(self, queue: str, agent: str) -> float:
        return self.live.agent_last_call(queue, agent)

    async def refresh_queues(self) -> None:
        await self.live.refresh_queues(self.ami)
