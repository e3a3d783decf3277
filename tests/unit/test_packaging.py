"""The systemd unit (packaging/dialerd.service.in) as scripts/install_service.sh installs it:
``systemd-analyze verify`` finds nothing to say, its hardening scores as systemd rates it, and
it waits for the drain before it kills."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from dialerd.config import Settings

ROOT = Path(__file__).parents[2]
UNIT = ROOT / "packaging" / "dialerd.service.in"
MAX_EXPOSURE = 2.0  # systemd-analyze security: 0 is locked down, 10 is a service with no limits


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The unit filled in as the install script does, for a prefix whose venv is the checkout's
    (verify checks that the commands it starts exist)."""
    prefix, conf, units = tmp_path / "opt", tmp_path / "etc", tmp_path / "units"
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "dialerd").symlink_to(ROOT / ".venv" / "bin" / "dialerd")
    conf.mkdir()
    (conf / "dialerd.env").write_text((ROOT / "packaging" / "dialerd.env.in").read_text())
    units.mkdir()
    unit = units / "dialerd.service"
    text = UNIT.read_text().replace("@PREFIX@", str(prefix)).replace("@CONF@", str(conf))
    unit.write_text(text)
    return unit


def analyze(*args: str) -> str:
    done = subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_systemd_verify_has_nothing_to_say_about_the_unit(installed: Path) -> None:
    assert analyze("verify", str(installed)).strip() == ""


def test_verify_would_name_a_mistake(installed: Path) -> None:
    """The check above can fail: an unknown setting is reported (and verify still exits 0)."""
    installed.write_text(installed.read_text().replace("Restart=", "Restrat="))
    assert "Unknown key 'Restrat'" in analyze("verify", str(installed))


def test_the_unit_is_hardened(installed: Path) -> None:
    report = analyze("security", "--offline=yes", str(installed))
    found = re.search(r"Overall exposure level for dialerd\.service: ([0-9.]+)", report)
    assert found, report
    assert float(found.group(1)) <= MAX_EXPOSURE, report


def test_systemd_waits_for_the_drain_and_restarts_a_crash() -> None:
    settings = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines() if re.match(r"^\w+=", line)
    )
    assert settings["KillSignal"] == "SIGTERM"
    assert settings["Restart"] == "on-failure"
    assert float(settings["TimeoutStopSec"]) > Settings().drain_timeout_s
