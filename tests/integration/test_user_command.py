"""``dialerd user add/passwd/disable/enable/grant-installation/revoke-installation/list`` against
a real Postgres, and migration 0027's installation admins of an upgraded installation."""

from __future__ import annotations

import io

import asyncpg
import pytest
import structlog

from dialerd.cli import build_parser
from dialerd.config import Settings
from dialerd.store.migrate import available
from dialerd.users import service
from dialerd.users.service import SignInRefused
from tests.integration.test_scheduler import add_campaign


async def _run(
    settings: Settings, argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch
) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = build_parser().parse_args(argv)
    with structlog.testing.capture_logs():
        result: int = await args.run(args, settings)
    return result


async def test_the_command_adds_changes_and_disables_a_user(
    settings: Settings,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["user", "add", "ada", "--client", "3", "--role", "admin", "--name", "Ada"]
    assert await _run(settings, argv, "first password\n", monkeypatch) == 0
    assert "user ada (admin, client 3) added" in capsys.readouterr().out
    signed = await service.sign_in(pool, "ada", "first password", None, 60)
    assert signed.user.client_id == 3 and signed.user.role.value == "admin"
    # the password is never an argument; stored as argon2id
    stored = await pool.fetchval("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$") and "first password" not in stored

    assert await _run(settings, ["user", "passwd", "ada"], "second password\n", monkeypatch) == 0
    assert await service.session(pool, signed.token, 60) is None  # its sessions ended
    with pytest.raises(SignInRefused):
        await service.sign_in(pool, "ada", "first password", None, 60)
    await service.sign_in(pool, "ada", "second password", None, 60)

    assert await _run(settings, ["user", "disable", "ada"], "", monkeypatch) == 0
    with pytest.raises(SignInRefused, match="Wrong login or password"):
        await service.sign_in(pool, "ada", "second password", None, 60)
    assert await _run(settings, ["user", "enable", "ada"], "", monkeypatch) == 0
    await service.sign_in(pool, "ada", "second password", None, 60)
    capsys.readouterr()
    assert await _run(settings, ["user", "list", "--client", "3"], "", monkeypatch) == 0
    assert capsys.readouterr().out == "ada\tadmin\tactive\tAda\n"


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["user", "add", "bob"], "short\n", "at least 10 characters"),
        (["user", "add", "bob smith"], "long enough pw\n", "The login must be"),
        (["user", "add", "bob", "--phone", "not a dial string"], "long enough pw\n", "dial string"),
        (["user", "passwd", "nobody"], "long enough pw\n", "No user 'nobody'"),
        (
            ["user", "add", "bob", "--installation-admin"],
            "long enough pw\n",
            "Only an admin may be an installation admin",
        ),
    ],
)
async def test_the_command_refuses_bad_input_and_writes_nothing(
    settings: Settings,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    assert await _run(settings, argv, stdin, monkeypatch) == 1
    assert message in capsys.readouterr().err
    assert await pool.fetchval("SELECT count(*) FROM users") == 0


async def test_a_login_is_unique_regardless_of_case(
    settings: Settings,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await _run(settings, ["user", "add", "Ada"], "long enough pw\n", monkeypatch) == 0
    assert await _run(settings, ["user", "add", "ada"], "long enough pw\n", monkeypatch) == 1
    assert "The login 'ada' is taken" in capsys.readouterr().err


async def test_the_command_adds_an_agent_with_its_phone_and_campaigns(
    settings: Settings,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    c1, c2 = await add_campaign(pool, "c1"), await add_campaign(pool, "c2")
    agent = ["user", "add", "ada", "--role", "agent", "--endpoint", "PJSIP/agent1"]
    argv = [*agent, "--campaign", str(c1), "--campaign", str(c2)]
    assert await _run(settings, argv, "first password\n", monkeypatch) == 0
    ada = await pool.fetchval("SELECT id FROM users WHERE login = 'ada'")
    assert await service.agent_campaigns(pool, 1) == {ada: [c1, c2]}
    capsys.readouterr()
    assert await _run(settings, ["user", "list"], "", monkeypatch) == 0
    assert capsys.readouterr().out == "ada\tagent\tactive\t\tPJSIP/agent1\n"
    bob = ["user", "add", "bob", "--role", "agent", "--endpoint", "PJSIP/agent2"]
    assert await _run(settings, [*bob, "--campaign", "999"], "first password\n", monkeypatch) == 1
    assert "No campaign 999 of this client" in capsys.readouterr().err
    assert await _run(settings, bob[:5], "first password\n", monkeypatch) == 1
    assert "An agent needs its phone" in capsys.readouterr().err
    assert await pool.fetchval("SELECT count(*) FROM users") == 1


async def test_the_command_makes_and_unmakes_installation_admins(
    settings: Settings,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = ["user", "add", "root", "--role", "admin", "--installation-admin"]
    assert await _run(settings, root, "first password\n", monkeypatch) == 0
    assert "user root (installation admin, client 1) added" in capsys.readouterr().out
    for login, role in (("bea", "admin"), ("sam", "supervisor")):
        argv = ["user", "add", login, "--client", "2", "--role", role]
        assert await _run(settings, argv, "first password\n", monkeypatch) == 0

    async def flags() -> dict[str, bool]:
        rows = await pool.fetch("SELECT login, installation_admin FROM users")
        return {r["login"]: r["installation_admin"] for r in rows}

    assert await flags() == {"root": True, "bea": False, "sam": False}
    signed = await service.sign_in(pool, "bea", "first password", None, 60)
    assert not signed.user.may_change_installation()
    assert await _run(settings, ["user", "grant-installation", "BEA"], "", monkeypatch) == 0
    assert "user BEA is now an installation admin" in capsys.readouterr().out
    session = await service.session(pool, signed.token, 60)  # the same session, at once
    assert session is not None and session.user.may_change_installation()
    capsys.readouterr()
    assert await _run(settings, ["user", "list", "--client", "2"], "", monkeypatch) == 0
    listed = capsys.readouterr().out
    assert listed == "bea\tinstallation admin\tactive\t\nsam\tsupervisor\tactive\t\n"
    assert await _run(settings, ["user", "revoke-installation", "root"], "", monkeypatch) == 0
    assert "user root is no longer an installation admin" in capsys.readouterr().out

    assert await _run(settings, ["user", "grant-installation", "sam"], "", monkeypatch) == 1
    assert "Only an admin may be an installation admin; 'sam' is a supervisor" in (
        capsys.readouterr().err
    )
    assert await _run(settings, ["user", "grant-installation", "nobody"], "", monkeypatch) == 1
    assert "No user 'nobody'" in capsys.readouterr().err
    assert await flags() == {"root": False, "bea": True, "sam": False}


async def test_an_upgrade_keeps_the_lowest_client_s_admins_as_installation_admins(
    pool: asyncpg.Pool,
) -> None:
    """Migration 0027 on users made before it: the enabled admins of the lowest client id
    that has one keep changing what every client shares; nobody else does."""
    [migration] = [m for m in available() if m.version == 27]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "ALTER TABLE users DROP CONSTRAINT users_installation_admin,"
            " DROP COLUMN installation_admin"
        )
        await conn.execute(
            "INSERT INTO users (client_id, login, role, password_hash, disabled) VALUES"
            " (1, 'sup1', 'supervisor', 'x', false), (1, 'gone', 'admin', 'x', true),"
            " (2, 'ada', 'admin', 'x', false), (2, 'bob', 'admin', 'x', false),"
            " (2, 'old', 'admin', 'x', true), (3, 'eve', 'admin', 'x', false)"
        )
        await conn.execute(migration.path.read_text())
    rows = await pool.fetch("SELECT login FROM users WHERE installation_admin ORDER BY login")
    assert [r["login"] for r in rows] == ["ada", "bob"]
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE users SET installation_admin = true WHERE login = 'sup1'")
