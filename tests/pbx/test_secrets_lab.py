"""No secret in any log, error or /metrics: ``dialerd serve`` runs against the lab with the
lab's AMI secret (random per lab), a DSN holding a password (the test cluster trusts any
password) and a metrics token, places a call to the end, answers requests that fail and is
stopped; then runs with a wrong AMI secret (login refused, reconnects) and with a database that
does not answer. Every line each run wrote, debug level, is searched for every secret."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from pathlib import Path

import aiohttp
from yarl import URL

from tests.pbx.harness import Harness, free_port, number, wait_until
from tests.pbx.test_dialer_e2e import closed_count

BIN = Path(sys.executable).parent


class Serve:
    """A ``dialerd serve`` whose standard output and error go to one file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = os.environ | env | {"DIALERD_HTTP_PORT": str(self.port)}
        self.log = log

    async def __aenter__(self) -> Serve:
        out = self.log.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            str(BIN / "dialerd"), "serve", env=self.env, stdout=out, stderr=out
        )
        out.close()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 60)

    def text(self) -> str:
        return self.log.read_text()

    async def logged(self, event: str, within: float = 60) -> None:
        async def seen() -> bool:
            return f'"event": "{event}"' in self.text()

        await wait_until(seen, within)


async def test_no_secret_reaches_a_log_an_error_or_metrics(
    h: Harness, db_dsn: str, tmp_path: Path
) -> None:
    password = "dsn-pw-" + secrets.token_hex(8)
    metrics_token = "metrics-" + secrets.token_hex(8)
    wrong_secret = "wrong-ami-" + secrets.token_hex(8)
    dsn = str(URL(db_dsn).with_password(password))
    assert h.lab.ami_secret and len(h.lab.ami_secret) >= 8
    env = {
        "DIALERD_DATABASE_URL": dsn,
        "DIALERD_AMI_HOST": h.lab.ami_host,
        "DIALERD_AMI_PORT": str(h.lab.ami_port),
        "DIALERD_AMI_USERNAME": h.lab.ami_username,
        "DIALERD_AMI_SECRET": h.lab.ami_secret,
        "DIALERD_METRICS_TOKEN": metrics_token,
        "DIALERD_LOG_FORMAT": "json",
        "DIALERD_LOG_LEVEL": "debug",
        "DIALERD_TICK_SECONDS": "0.1",
    }
    answers: list[str] = []
    campaign = await h.campaign()
    await h.contact(campaign, number(0))
    async with Serve(env, tmp_path / "lab.log") as served:
        await served.logged("ami_ready")
        await wait_until(closed_count(h, 1), 90)
        base = f"http://127.0.0.1:{served.port}"
        async with aiohttp.ClientSession(base) as http:
            auth = {"Authorization": f"Bearer {metrics_token}"}
            async with http.get("/metrics", headers=auth) as resp:
                assert resp.status == 200
                metrics = await resp.text()
                assert "dialerd_ami_connected 1.0" in metrics
                answers.append(metrics)
            for path, headers in (
                ("/dialler/campaigns", {"Authorization": f"Bearer {h.lab.ami_secret}"}),
                ("/dialler/campaigns/999999", {"Authorization": f"Bearer {h.api.token}"}),
                ("/metrics", {"Authorization": "Bearer wrong"}),
            ):
                async with http.get(path, headers=headers) as resp:
                    answers.append(f"{resp.status} {resp.headers} {await resp.text()}")
    async with Serve(env | {"DIALERD_AMI_SECRET": wrong_secret}, tmp_path / "wrong.log") as bad:
        await bad.logged("ami_connect_failed")
        await bad.logged("ami_reconnect_in")
    closed = str(URL(dsn).with_port(free_port()))
    async with Serve(env | {"DIALERD_DATABASE_URL": closed}, tmp_path / "nodb.log") as nodb:
        assert await asyncio.wait_for(nodb.proc.wait(), 60) != 0
    logs = {run.log.name: run.text() for run in (served, bad, nodb)}
    assert '"event": "http_listening"' in logs["lab.log"]
    assert "Connect call failed" in logs["nodb.log"] or "refused" in logs["nodb.log"].lower()
    for where, text in [*logs.items(), *(("answer", a) for a in answers)]:
        for name, secret in (
            ("AMI secret", h.lab.ami_secret),
            ("wrong AMI secret", wrong_secret),
            ("database password", password),
            ("metrics token", metrics_token),
        ):
            assert secret not in text, f"the {name} is in {where}"
