"""Settings: no secret in their repr or str; trusted proxies checked when read; the PBX's name."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from dialerd.config import Settings


def test_the_settings_repr_holds_no_secret() -> None:
    settings = Settings(
        database_url="postgresql://dialerd:pw-in-dsn@db/dialerd",
        ami_secret="ami-secret-value",
        metrics_token="metrics-token-value",
    )
    for text in (repr(settings), str(settings)):
        assert "ami_host=None" in text
        for secret in ("pw-in-dsn", "ami-secret-value", "metrics-token-value"):
            assert secret not in text


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings(trusted_proxies=" 127.0.0.1, 10.0.0.0/8,::1 ")
    assert settings.proxy_networks() == (
        ipaddress.ip_network("127.0.0.1"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1"),
    )
    assert Settings().proxy_networks() == ()
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")


def test_the_pbx_is_named_by_its_ami_address_unless_named() -> None:
    assert Settings(ami_host="10.0.0.5", ami_port=5039).pbx_identity() == "10.0.0.5:5039"
    named = Settings(ami_host="10.0.0.5", pbx_name="pbx-oslo")
    assert named.pbx_identity() == "pbx-oslo"
