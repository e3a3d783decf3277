"""The bare side of bench/dial.py, in a process of its own so that its CPU seconds are its own:
async Originates through a bare panoramisk ``Manager`` (tests/pbx/bare.py) into the same
dialplan and queue as the dialer's calls.

bench/dial.py starts it with the DIALERD_AMI_* settings in its environment. It logs in and
prints ``ready``; on a line ``go`` on its standard input it sends ``--calls`` Originates at once,
waits for their OriginateResponses and prints one JSON line: ``seconds`` from the first
Originate to the last response, ``answered``, and ``lost`` (why its AMI connection was lost,
else null). It then stays logged in, its session receiving the calls' events up to their
hang-ups as the dialer's does, until its standard input is closed.

panoramisk puts an unanswered action on a list to be sent again after its own reconnect (an
Originate: a second call), and an Originate already acknowledged but waiting for its
OriginateResponse is forgotten, its future never resolved. So a lost connection ends the
round here, with what was answered until then, instead of a ``TimeoutError`` after a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.pbx.bare

from tests.pbx.bare import bare_manager

QUEUE = "bench"


async def originates(manager: Any, numbers: list[str], prefix: str, lost: asyncio.Event) -> int:
    """All at once; how many were answered before the connection was lost, if it was."""
    futures = [
        manager.send_action(
            {
                "Action": "Originate",
                "Channel": f"PJSIP/{number}@farend",
                "Context": "dialerd-outbound",
                "Exten": "s",
                "Priority": "1",
                "Async": "true",  # panoramisk 1.4 never resolves an Originate without it
                "Timeout": "15000",
                "ChannelId": f"{prefix}-{i:06d}",  # none the start of another's
                "Variable": [f"DIALERD_QUEUE={QUEUE}", "DIALERD_AGENT_TIMEOUT=10"],
            }
        )
        for i, number in enumerate(numbers)
    ]
    gone = asyncio.ensure_future(lost.wait())
    pending = set(futures)
    while pending and not lost.is_set():
        _, pending = await asyncio.wait(
            pending | {gone}, timeout=60, return_when=asyncio.FIRST_COMPLETED
        )
        pending.discard(gone)
    gone.cancel()
    answered = 0
    for future in futures:
        if future.done() and not future.cancelled() and future.exception() is None:
            reply = future.result()
            last = reply[-1] if isinstance(reply, list) else reply
            answered += last.get("Response") == "Success"
    return answered


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--series", default="1", help="digits that set this round's numbers apart")
    parser.add_argument("--prefix", required=True, help="the calls' ChannelId prefix")
    args = parser.parse_args()
    env = os.environ
    manager = await bare_manager(
        env["DIALERD_AMI_HOST"],
        int(env.get("DIALERD_AMI_PORT", "5038")),
        env.get("DIALERD_AMI_USERNAME", "dialerd"),
        env["DIALERD_AMI_SECRET"],
    )
    lost = asyncio.Event()
    reason: list[str] = []

    def on_disconnect(_: Any, exc: Exception | None) -> None:
        reason.append(repr(exc) if exc else "connection closed by Asterisk")
        lost.set()
        manager.close()

    manager.on_disconnect = on_disconnect
    manager.reconnect_timeout = 10**9  # no reconnect: the round is over
    manager.forgetable_actions = (*manager.forgetable_actions, "originate")  # never sent twice
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    if (await stdin.readline()).strip() != b"go":
        return
    numbers = [f"+4930{args.series}{i:06d}0" for i in range(args.calls)]
    started = time.monotonic()
    answered = await originates(manager, numbers, args.prefix, lost)
    seconds = time.monotonic() - started
    result = {"seconds": seconds, "answered": answered, "lost": reason[0] if reason else None}
    print(json.dumps(result), flush=True)
    await stdin.read()  # until bench/dial.py has read this process's CPU seconds
    manager.close()


if __name__ == "__main__":
    asyncio.run(main())
