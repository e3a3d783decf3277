"""bench/api_load.py for a few seconds: a few API clients importing and reading contacts while a
predictive campaign dials on the lab through a real ``dialerd serve``; every request answered
as expected, every kind of request asked, the engine's rounds and the loop's lag measured,
nobody called twice or without a record."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.pbx.conftest import Lab

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import api_load


async def test_a_few_clients_while_a_campaign_dials(lab: Lab, db_dsn: str) -> None:
    ami = {
        "DIALERD_AMI_HOST": lab.ami_host,
        "DIALERD_AMI_PORT": str(lab.ami_port),
        "DIALERD_AMI_USERNAME": lab.ami_username,
        "DIALERD_AMI_SECRET": lab.ami_secret,
    }
    run = api_load.Run(seconds=5, clients=4, think_s=0.2, baseline_s=0, contacts=40)
    far_end = lab.lab_dir / "log" / "sipp-farend-calls.log"
    report = await api_load.measure(db_dsn, ami, far_end, run)
    print(*report.lines(), sep="\n")
    assert report.errors == {}, report.error_samples
    assert set(report.latency) == {*api_load.DECK, *api_load.FOLLOWERS}
    assert report.tick.samples > 0 and report.lag.samples > 0
    assert report.logged_errors == []
    calls = report.calls
    assert calls.attempts > 0 and calls.invites > 0
    assert (calls.double, calls.twice, calls.unrecorded, calls.phantom, calls.open) == (0,) * 5
    assert report.left_claimed == 0
    await asyncio.sleep(lab.wrapup + 0.5)  # the agents ready again for the next test
