"""The production snippets next to an existing PBX (asterisk_conf/README.md, "Production install:
what to merge").

An Asterisk of the lab's build runs the files of an existing PBX (tests/pbx/existing_pbx/: their
own [general] sections, transport, phone, AMI user, queue and context) that `#include` the
snippets the way the README tells an operator. Asterisk must load them, and reload them, without
a warning or an error about them in its log, and then have what the dialer needs: the dialplan's
contexts, a campaign queue made from the template, the trunk and an agent's phone made from the
templates, the music-on-hold class the queues name, and the AMI user with the channel variables.

A line is about them when it comes from the parser or a module that reads the merged files, or
names a snippet or an object they define. The stand-in PBX has no files for the rest of Asterisk
(features.conf, ari.conf...), whose modules complain of that: those lines are not about them.

It runs an Asterisk of its own on ports the kernel has free (ephemeral, outside the lab slots'
fixed ports and RTP range), not the lab's.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.pbx.bare import bare_manager
from tests.pbx.conftest import REPO

CONF = REPO / "asterisk_conf"
EXISTING_PBX = Path(__file__).parent / "existing_pbx"
# What the engine keys events on (asterisk_conf/README.md, "Dialplan contract").
CHANNELVARS = "DIALERD_ATTEMPT_ID,DIALERD_CONTACT_ID,DIALERD_CAMPAIGN_ID"
# A log line at these levels: "[2026-12-01 20:01:02.345] WARNING[123] config.c: ...", with a
# call's id after the thread's ("WARNING[123][C-00000001]") when a call logged it.
PROBLEM = re.compile(r"^\[[^]]+\] (?:WARNING|ERROR)\[\d+\](?:\[[^]]*\])? ([\w./-]+\.c): (.*)$")
# The config parser (includes, templates, (+)) and what reads the merged files.
READERS = {
    "config.c",
    "config_options.c",
    "pbx_config.c",
    "app_queue.c",
    "res_musiconhold.c",
    "manager.c",
    "app_amd.c",
    "sorcery.c",
    "pjsip_configuration.c",
    "config_auth.c",
    "config_transport.c",
    "location.c",
    "res_pjsip_endpoint_identifier_ip.c",
}
# config_options.c also says so of every file the stand-in PBX lacks: not about the snippets.
ABSENT_FILE = re.compile(r"^Unable to load config file '[\w.]+'$")


@pytest.fixture(autouse=True)
def no_calls_left() -> None:
    """Replaces the lab's fixture of that name: this test starts no lab and places no calls."""


@dataclass(frozen=True)
class Pbx:
    prefix: Path
    conf: Path
    full_log: Path
    ami_port: int
    merged_at: int = 0  # where in the log Asterisk read the merged files

    def cli(self, command: str) -> str:
        done = subprocess.run(
            [str(self.prefix / "sbin" / "asterisk"), "-C", str(self.conf), "-rx", command],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout

    def problems(self) -> list[str]:
        """The log's WARNING and ERROR lines about the snippets since they were read."""
        with self.full_log.open("rb") as f:
            f.seek(self.merged_at)
            text = f.read().decode(errors="replace")
        ours = re.compile("|".join(map(re.escape, OUR_NAMES)))
        found = []
        for line in text.splitlines():
            if not (problem := PROBLEM.match(line)):
                continue
            source, message = problem.groups()
            if ours.search(message) or (
                Path(source).name in READERS and not ABSENT_FILE.match(message)
            ):
                found.append(line)
        return found


def defined_names() -> list[str]:
    """The snippets' files and the sections they define, and those the PBX makes from their
    templates (its files after the include)."""
    names = ["dialerd"]
    for snippet in CONF.glob("*_dialerd.conf"):
        names += [snippet.name, *sections(snippet.read_text())]
    for conf in EXISTING_PBX.glob("*.conf*"):
        text = conf.read_text()
        names += sections(text[text.index("#include") :])
    return sorted({name for name in names if name != "general"})


def sections(text: str) -> list[str]:
    return re.findall(r"^\[([^]]+)\]", text, re.MULTILINE)


OUR_NAMES = defined_names()


def free_port(kind: socket.SocketKind) -> int:
    """A port the kernel has free on 127.0.0.1 now, outside the lab slots' fixed ports."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def render(template: Path, out: Path, values: dict[str, str]) -> None:
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    assert "@" not in re.sub(r";.*", "", text), f"{template} has a placeholder left"
    out.write_text(text)


def write_pbx_files(etc: Path, values: dict[str, str], *, merged: bool) -> None:
    """The existing PBX's own files, with dialerd merged in or (``merged`` false) as they were
    before: each cut at its ``#include``, all that follows being the merge."""
    for source in EXISTING_PBX.glob("*.conf*"):
        out = etc / source.name.removesuffix(".in")
        render(source, out, values)
        if not merged:
            text = out.read_text()
            out.write_text(text[: text.index("#include")])


def write_config(root: Path, prefix: Path, values: dict[str, str], *, merged: bool) -> Path:
    """The existing PBX's files, dialerd's snippets next to them as the README says to copy
    them, and the lab's paths, modules and logger (the PBX's own setup, not under test)."""
    etc = root / "etc"
    for sub in ("etc", "log", "run", "var/lib/keys", "var/spool", "var/cache", "data/sounds"):
        (root / sub).mkdir(parents=True)
    render(CONF / "lab" / "asterisk.conf.in", etc / "asterisk.conf", values)
    for name in ("modules.conf", "logger.conf", "cdr.conf"):
        shutil.copy(CONF / "lab" / name, etc)
    write_pbx_files(etc, values, merged=merged)
    for snippet in CONF.glob("*_dialerd.conf"):
        shutil.copy(snippet, etc)
    shutil.copy(CONF / "amd.conf", etc)
    shutil.copytree(CONF / "sounds" / "dialerd", root / "data" / "sounds" / "dialerd")
    # The install's documentation, keys... as a PBX has them under its data dir.
    for installed in (prefix / "var" / "lib" / "asterisk").iterdir():
        if installed.name != "sounds":
            (root / "data" / installed.name).symlink_to(installed)
    return etc / "asterisk.conf"


def asterisk_prefix() -> Path:
    built = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_asterisk.sh")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
    )
    return Path(built.stdout.splitlines()[-1])


@pytest.fixture(params=[True, False], ids=["started-merged", "merged-then-reloaded"])
def pbx(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pbx]:
    """The PBX started with dialerd merged, or started as it was before and merged into while
    it runs, then ``core reload`` (what an operator does on a PBX in service). Either way, the
    log from the moment the merged files were read on."""
    merged: bool = request.param
    prefix = asterisk_prefix()
    ami_port = free_port(socket.SOCK_STREAM)
    values = {
        "LAB_DIR": str(tmp_path),
        "PREFIX": str(prefix),
        "SIP_PORT": str(free_port(socket.SOCK_DGRAM)),
        "AMI_PORT": str(ami_port),
    }
    conf = write_config(tmp_path, prefix, values, merged=merged)
    pbx = Pbx(prefix, conf, tmp_path / "log" / "full", ami_port)
    with (tmp_path / "log" / "console.log").open("wb") as console:
        asterisk = subprocess.Popen(
            [str(prefix / "sbin" / "asterisk"), "-C", str(conf), "-f", "-n"],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert asterisk.poll() is None, (tmp_path / "log" / "console.log").read_text()[-4000:]
            try:
                if "fully booted" in pbx.cli("core waitfullybooted"):
                    break
            except subprocess.CalledProcessError:  # its CLI socket is not there yet
                pass
            assert time.monotonic() < deadline, "Asterisk did not boot within 60 s"
            time.sleep(0.1)
        if not merged:
            pbx = replace(pbx, merged_at=pbx.full_log.stat().st_size)
            write_pbx_files(conf.parent, values, merged=True)
            pbx.cli("core reload")
        yield pbx
    finally:
        if asterisk.poll() is None:
            subprocess.run(
                [str(prefix / "sbin" / "asterisk"), "-C", str(conf), "-rx", "core stop now"],
                capture_output=True,
                timeout=30,
            )
            try:
                asterisk.wait(20)
            except subprocess.TimeoutExpired:
                asterisk.kill()
                asterisk.wait(10)


async def test_the_snippets_load_next_to_an_existing_pbx_without_a_warning(pbx: Pbx) -> None:
    assert pbx.problems() == []

    for context in sections((CONF / "extensions_dialerd.conf").read_text()):
        shown = pbx.cli(f"dialplan show {context}")
        assert f"[ Context '{context}' created by 'pbx_config' ]" in shown, shown
    assert "[ Context 'site-internal' created by 'pbx_config' ]" in pbx.cli("dialplan show")

    queues = pbx.cli("queue show")
    assert re.search(r"^sales has 0 calls .* in 'rrmemory' strategy .* within 2s$", queues, re.M)
    assert "Agent 1 (PJSIP/agent1) (ringinuse disabled)" in queues, queues
    assert re.search(r"^support has 0 calls .* in 'ringall' strategy", queues, re.M), queues
    classes = pbx.cli("moh show classes")
    assert "Class: dialerd-silence\n\tMode: files\n" in classes, classes
    files = pbx.cli("moh show files")
    assert re.search(
        r"^Class: dialerd-silence\n\tFile: /\S+/sounds/dialerd/hold/silence$", files, re.M
    )

    endpoints = pbx.cli("pjsip show endpoints")
    for name in ("dialerd-trunk", "agent1", "reception"):
        assert re.search(rf"^ Endpoint:  {name} ", endpoints, re.M), endpoints
    trunk = pbx.cli("pjsip show endpoint dialerd-trunk")
    assert re.search(r"^ send_connected_line +: no$", trunk, re.M), trunk
    assert re.search(r"^ context +: dialerd-trunk-inbound$", trunk, re.M), trunk
    agent = pbx.cli("pjsip show endpoint agent1")
    assert re.search(r"^ context +: dialerd-agents$", agent, re.M), agent
    # the PBX's transport is the only one: the snippets open no SIP port of their own
    transports = re.findall(r"^Transport:  ([\w-]+)", pbx.cli("pjsip show transports"), re.M)
    assert transports == ["transport-site"], transports

    settings = pbx.cli("manager show settings")
    assert re.search(rf"^  Channel vars: +{CHANNELVARS}$", settings, re.M), settings
    user = pbx.cli("manager show user dialerd")
    assert re.search(r"^ +read perm: system,call,agent,user$", user, re.M), user
    assert "site-admin" in pbx.cli("manager show users")
    # the AMI user logs in on the PBX's own AMI port, with the snippet's secret
    manager = await bare_manager("127.0.0.1", pbx.ami_port, "dialerd", "CHANGE-ME")
    manager.close()
