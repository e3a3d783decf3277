"""The containers (docs/operations.md, "Containers"): docker-compose.yml names what the stack
needs (health checks, restart policies, volumes, the host's network, images built here on
debian:bookworm-slim), and the Asterisk image's render_config.sh writes a PBX of its own that
includes the snippets of asterisk_conf/ unchanged but for what an operator fills in, from the
environment, and refuses what would not work.

The real proof, a call through the running stack, is scripts/compose_proof.sh (too slow here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "docker-compose.yml"
RENDER = ROOT / "docker" / "asterisk" / "render_config.sh"
SETTINGS = {
    "DIALERD_AMI_SECRET": "s3cret",
    "ASTERISK_TRUNK": "carrier.example.net:5070",
    "ASTERISK_SIP_BIND": "127.0.0.1:35060",
    "ASTERISK_AMI_PORT": "35038",
    "ASTERISK_RTP_START": "35100",
    "ASTERISK_RTP_END": "35199",
}
AGENTS = """[agent1](dialerd-agent-aor)
[agent1](dialerd-agent-auth)
username = agent1
password = agent-pw
[agent1](dialerd-agent)
auth = agent1
aors = agent1
"""
QUEUES = "[sales](dialerd-campaign)\nmember => PJSIP/agent1,0,Agent 1\n"
SITE = {"pjsip_agents.conf": AGENTS, "queues_campaigns.conf": QUEUES}
SNIPPETS = ROOT / "asterisk_conf"


def services() -> dict[str, dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    found: dict[str, dict[str, Any]] = loaded["services"]
    return found


def test_every_service_is_on_the_host_network_restarts_and_has_a_health_check() -> None:
    assert set(services()) == {"postgres", "asterisk", "dialerd"}
    for name, service in services().items():
        assert service["network_mode"] == "host", name
        assert service["restart"] in {"always", "unless-stopped", "on-failure"}, name
        check = service["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"} and len(check["test"]) > 1, name
        assert check["interval"] and check["retries"] >= 1, name


def test_every_image_is_built_here_on_debian_bookworm_slim() -> None:
    for name, service in services().items():
        build = service["build"]
        assert build["network"] == "host", name
        dockerfile = ROOT / build["context"] / build["dockerfile"]
        stages = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.MULTILINE)
        assert stages and set(stages) == {"debian:bookworm-slim"}, (name, stages)


def test_data_lives_in_named_volumes_and_dialerd_waits_for_healthy_services() -> None:
    found = services()
    named = set(yaml.safe_load(COMPOSE.read_text())["volumes"])

    def mounts(service: str) -> dict[str, str]:
        """target -> source of each `source:target[:ro]` (a source may hold a ':' itself)"""
        bare = (re.sub(r":(ro|rw)$", "", v) for v in found[service]["volumes"])
        pairs = (v.rsplit(":", 1) for v in bare)
        return {target: source for source, target in pairs}

    assert mounts("postgres")["/var/lib/postgresql/data"] in named
    for path in ("/var/lib/asterisk", "/var/log/asterisk", "/var/spool/asterisk"):
        assert mounts("asterisk")[path] in named
    assert "/etc/asterisk-site" in mounts("asterisk")
    assert found["dialerd"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "asterisk": {"condition": "service_healthy"},
    }
    # the drain (DIALERD_DRAIN_TIMEOUT_S, 600 s) fits in the stop grace period
    assert found["dialerd"]["stop_grace_period"] == "11m"


def test_docker_compose_reads_the_file_and_requires_the_secrets(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    given = {**env, "POSTGRES_PASSWORD": "pw", **SETTINGS, "ASTERISK_SITE_DIR": str(tmp_path)}
    command = ["docker-compose", "-f", str(COMPOSE), "config", "-q"]
    ok = subprocess.run(command, env=given, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """The templates as the Asterisk image holds them (docker/asterisk/Dockerfile's COPY)."""
    into = tmp_path / "templates"
    into.mkdir()
    copied = [SNIPPETS / "lab" / "modules.conf", *ROOT.glob("docker/asterisk/conf/*.conf")]
    for conf in [*SNIPPETS.glob("*.conf"), *copied]:
        shutil.copy(conf, into)
    return into


def render(templates: Path, site: dict[str, str], **settings: str) -> tuple[int, str, Path]:
    site_dir, out = templates.parent / "site", templates.parent / "etc"
    site_dir.mkdir(exist_ok=True)
    for name, text in site.items():
        (site_dir / name).write_text(text)
    env = {"PATH": os.environ["PATH"], **settings}
    done = subprocess.run(
        [str(RENDER), str(templates), str(site_dir), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stderr, out


def section(conf: str, name: str, kind: str) -> dict[str, str]:
    """The keys of the section [name] whose type is kind ("" for none) in an Asterisk file."""
    for block in re.split(r"^(?=\[)", conf, flags=re.MULTILINE):
        header = re.match(r"\[([^\]]+)\]", block)
        pairs = re.findall(r"^(\w+)\s*=\s*(\S*)", block, re.MULTILINE)
        keys = dict(pairs)
        if header and header.group(1) == name and keys.get("type", "") == kind:
            return keys
    raise AssertionError(f"no [{name}] of type {kind!r}")


def test_the_asterisk_compile_does_not_depend_on_the_configuration() -> None:
    """docker's layer cache keeps the compile while only configuration files change."""
    lines = (ROOT / "docker" / "asterisk" / "Dockerfile").read_text().splitlines()
    compile_at = next(i for i, line in enumerate(lines) if line.endswith(" build_asterisk.sh"))
    copies = [i for i, line in enumerate(lines) if line.startswith("COPY ") and "_conf" in line]
    assert copies and min(copies) > compile_at


def test_the_image_s_files_include_each_snippet_where_the_install_says(templates: Path) -> None:
    """asterisk_conf/README.md, "Production install: what to merge": once, after [general],
    the agents' phones and the campaign queues after the templates they are made from."""
    for host, snippet, after, then in [
        ("extensions.conf", "extensions_dialerd.conf", "[globals]", None),
        ("pjsip.conf", "pjsip_dialerd.conf", "type = transport", "pjsip_agents.conf"),
        ("queues.conf", "queues_dialerd.conf", "[general]", "queues_campaigns.conf"),
        ("musiconhold.conf", "musiconhold_dialerd.conf", "[general]", None),
        ("manager.conf", "manager_dialerd.conf", "[general]", None),
    ]:
        text = (templates / host).read_text()
        include = f'#include "{snippet}"'
        assert text.count(include) == 1 and text.index(after) < text.index(include), host
        if then is not None:
            assert text.index(include) < text.index(f'#include "{then}"'), host


def changed_lines(snippet: str, out: Path) -> tuple[set[str], set[str]]:
    """The lines of a snippet that the rendering dropped, and those it added."""
    shipped = set((SNIPPETS / snippet).read_text().splitlines())
    written = set((out / snippet).read_text().splitlines())
    return shipped - written, written - shipped


def test_the_settings_go_into_the_image_s_files_and_the_snippets(templates: Path) -> None:
    rc, err, out = render(templates, SITE, **SETTINGS)
    assert rc == 0, err
    assert section((out / "manager.conf").read_text(), "general", "")["port"] == "35038"
    manager = (out / "manager_dialerd.conf").read_text()
    assert section(manager, "dialerd", "")["secret"] == "s3cret"
    assert changed_lines("manager_dialerd.conf", out) == (
        {"secret = CHANGE-ME"},
        {"secret = s3cret"},
    )
    pjsip = (out / "pjsip.conf").read_text()
    assert section(pjsip, "transport-udp", "transport")["bind"] == "127.0.0.1:35060"
    trunk = (out / "pjsip_dialerd.conf").read_text()
    assert section(trunk, "dialerd-trunk", "aor")["contact"] == "sip:carrier.example.net:5070"
    assert section(trunk, "dialerd-trunk", "identify")["match"] == "carrier.example.net"
    # no username: the carrier trusts the address, so no auth section and no outbound_auth
    with pytest.raises(AssertionError):
        section(trunk, "dialerd-trunk", "auth")
    assert "outbound_auth" not in section(trunk, "dialerd-trunk", "endpoint")
    # the agents' templates are as shipped
    assert section(trunk, "dialerd-agent", "endpoint")["context"] == "dialerd-agents"
    assert (out / "pjsip_agents.conf").read_text() == AGENTS
    assert (out / "queues_campaigns.conf").read_text() == QUEUES
    rtp = section((out / "rtp.conf").read_text(), "general", "")
    assert (rtp["rtpstart"], rtp["rtpend"]) == ("35100", "35199")
    for unchanged in [
        "extensions_dialerd.conf",
        "queues_dialerd.conf",
        "musiconhold_dialerd.conf",
        "amd.conf",
    ]:
        assert (out / unchanged).read_bytes() == (SNIPPETS / unchanged).read_bytes(), unchanged


def test_a_trunk_with_a_username_keeps_its_auth(templates: Path) -> None:
    rc, err, out = render(
        templates,
        SITE,
        **SETTINGS,
        ASTERISK_TRUNK_USERNAME="acme",
        ASTERISK_TRUNK_PASSWORD="trunk-pw",
    )
    assert rc == 0, err
    trunk = (out / "pjsip_dialerd.conf").read_text()
    auth = section(trunk, "dialerd-trunk", "auth")
    assert (auth["username"], auth["password"]) == ("acme", "trunk-pw")
    assert section(trunk, "dialerd-trunk", "endpoint")["outbound_auth"] == "dialerd-trunk"


@pytest.mark.parametrize(
    ("site", "settings", "says"),
    [
        ({"queues_campaigns.conf": QUEUES}, SETTINGS, "no pjsip_agents.conf"),
        ({"pjsip_agents.conf": AGENTS}, SETTINGS, "no queues_campaigns.conf"),
        # a site's file copied from the install's example without its password
        (
            {**SITE, "pjsip_agents.conf": AGENTS.replace("agent-pw", "CHANGE-ME")},
            SETTINGS,
            "CHANGE-ME",
        ),
        ({**SITE}, {**SETTINGS, "DIALERD_AMI_SECRET": ""}, "SECRET"),
        ({**SITE}, {**SETTINGS, "ASTERISK_TRUNK": ""}, "ASTERISK_TRUNK"),
        ({**SITE}, {**SETTINGS, "DIALERD_AMI_SECRET": "a;b"}, "';'"),
        ({**SITE}, {**SETTINGS, "ASTERISK_AMI_PORT": "x"}, "port number"),
        (
            {**SITE},
            {**SETTINGS, "ASTERISK_TRUNK_USERNAME": "acme"},
            "ASTERISK_TRUNK_PASSWORD is not set",
        ),
        # a site's own pjsip.conf without the transport the setting goes into
        (
            {**SITE, "pjsip.conf": '#include "pjsip_dialerd.conf"\n'},
            SETTINGS,
            "[transport-udp] (type transport) bind matched 0 times",
        ),
    ],
)
def test_what_would_not_work_is_refused(
    templates: Path, site: dict[str, str], settings: dict[str, str], says: str
) -> None:
    rc, err, _ = render(templates, site, **settings)
    assert rc != 0 and says in err, err
