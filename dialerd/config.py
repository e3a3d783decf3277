"""Settings, read once from ``DIALERD_*`` environment variables."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DB_CONNECT_TIMEOUT_S = 5.0
DB_COMMAND_TIMEOUT_S = 60.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``127.0.0.1, 10.0.0.0/8, ::1``: addresses or networks, comma-separated; ValueError."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIALERD_", extra="ignore")

    # Secrets (the DSN may hold a password) are left out of the settings' repr and str, so
    # that a logged or printed Settings shows none of them (docs/security.md).
    database_url: str | None = Field(default=None, repr=False)
    """asyncpg DSN. Required by every command that touches the store."""

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Largest accepted request body; larger ones get 413 in the API's own error format."""

    session_idle_s: float = Field(default=12 * 3600, ge=60)
    """A console session ends after this long without a request (a work shift fits in it)."""
    secure_cookies: bool = False
    """Mark the console's session cookie Secure always (it is Secure anyway on a request that
    came over HTTPS, directly or through a trusted proxy)."""
    trusted_proxies: str = ""
    """Addresses or networks (``127.0.0.1,10.0.0.0/8``) of the reverse proxies whose
    X-Forwarded-For, -Proto and -Host are believed; from anyone else they are ignored."""
    assets_dir: str | None = None
    """Where the console's front-end libraries are (npm's node_modules); default: the checkout's."""
    import_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    """Largest spreadsheet or CSV file an import accepts (the console's upload)."""

    metrics_token: str | None = Field(default=None, repr=False)
    """Serve /metrics on the API's listener to requests with ``Authorization: Bearer <it>``."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    """Serve /metrics on a listener of its own (its host: ``metrics_host``)."""

    db_connect_timeout_s: float = Field(default=DB_CONNECT_TIMEOUT_S, gt=0)
    """How long a new database connection may take; then the request gets 503."""
    db_command_timeout_s: float = Field(default=DB_COMMAND_TIMEOUT_S, gt=0)
    """How long one statement may take; then the request gets 503."""
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "info"

    ami_host: str | None = None
    """Without an AMI host, ``dialerd serve`` runs the HTTP API only."""
    ami_port: int = 5038
    ami_username: str = "dialerd"
    ami_secret: str = Field(default="", repr=False)

    instance_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    """Names this process in claims and leases, so that two processes never dial one contact."""
    pbx_name: str | None = None
    """Names the PBX this process dials through; default ``ami_host:ami_port``. Engines of one
    PBX share its campaigns through a lease, one pacing each (docs/dialer.md, "Nodes")."""

    max_calls_in_flight: int = Field(default=200, ge=1)
    """Global cap on calls placed and not yet ended, over all campaigns."""
    max_originate_rate: float = Field(default=100.0, gt=0)
    """Global cap on Originate actions per second."""
    claim_lease_seconds: int = Field(default=120, ge=10)
    tick_seconds: float = Field(default=0.2, gt=0)
    drain_timeout_s: float = Field(default=600.0, ge=0)
    """On SIGTERM, how long calls in progress may take to end before dialerd exits anyway (their
    attempts are then reconciled by the next start)."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # ValueError: pydantic's error names the setting
        return value

    def proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    def node_modules_dir(self) -> Path:
        """The npm libraries the console and the API's docs page serve (scripts/setup.sh)."""
        if self.assets_dir:
            return Path(self.assets_dir)
        return Path(__file__).resolve().parents[1] / "node_modules"

    def pbx_identity(self) -> str:
        """The name of the PBX in the campaigns' pacing leases."""
        return self.pbx_name or f"{self.ami_host}:{self.ami_port}"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SystemExit(
                "DIALERD_DATABASE_URL is not set (e.g. postgresql://user@127.0.0.1:5432/dialerd)"
            )
        return self.database_url
