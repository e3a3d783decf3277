"""Roles, the installation admin and the sign-in throttle: pure rules."""

from __future__ import annotations

import pytest

from dialerd.domain import Role, User
from dialerd.users import throttle
from dialerd.users.passwords import check_strength


def test_each_role_may_do_what_the_roles_below_it_may() -> None:
    assert Role.ADMIN.may(Role.SUPERVISOR) and Role.ADMIN.may(Role.VIEWER)
    assert Role.SUPERVISOR.may(Role.VIEWER) and not Role.SUPERVISOR.may(Role.ADMIN)
    assert not Role.VIEWER.may(Role.SUPERVISOR)
    assert all(role.may(role) for role in Role)


@pytest.mark.parametrize(
    ("role", "installation_admin", "disabled", "may"),
    [
        (Role.ADMIN, True, False, True),
        (Role.ADMIN, False, False, False),  # a plain admin: its client's only
        (Role.ADMIN, True, True, False),
        (Role.SUPERVISOR, True, False, False),  # the flag means nothing but for an admin
        (Role.AGENT, True, False, False),
    ],
)
def test_only_an_installation_admin_may_change_what_every_client_shares(
    role: Role, installation_admin: bool, disabled: bool, may: bool
) -> None:
    user = User(1, 1, "ada", "", role, disabled, None, installation_admin=installation_admin)
    assert user.may_change_installation() is may


@pytest.mark.parametrize(
    ("failures", "since_s", "wait"),
    [
        (0, 0.0, 0.0),
        (2, 0.0, 0.0),  # below the free tries
        (3, 0.0, 1.0),
        (4, 0.5, 1.5),
        (6, 3.0, 5.0),
        (6, 9.0, 0.0),  # waited long enough
        (30, 0.0, throttle.MAX_WAIT_S),  # capped
        (30, throttle.FORGET_AFTER_S, 0.0),  # forgotten
    ],
)
def test_an_account_waits_twice_as_long_after_each_failure_past_the_free_ones(
    failures: int, since_s: float, wait: float
) -> None:
    assert throttle.wait_s(throttle.ACCOUNT, failures, since_s) == pytest.approx(wait)


def test_an_address_gets_more_free_tries_than_an_account() -> None:
    assert throttle.wait_s(throttle.ADDRESS, 10, 0.0) == 0.0
    assert throttle.wait_s(throttle.ADDRESS, throttle.ADDRESS.free, 0.0) == 1.0


def test_keys_ignore_case_and_spaces_of_the_login() -> None:
    assert throttle.account_key(" Ada ") == throttle.account_key("ada") == "login:ada"
    assert throttle.address_key("10.0.0.1") == "address:10.0.0.1"


def test_a_short_password_is_refused_with_the_reason() -> None:
    assert check_strength("short") == "The password must have at least 10 characters"
    assert check_strength("long enough, surely") is None
