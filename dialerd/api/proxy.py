"""Behind a reverse proxy (nginx, Caddy) that terminates TLS: the client's scheme, host and
address come from its ``X-Forwarded-Proto``, ``X-Forwarded-Host`` and ``X-Forwarded-For``, but
only on a connection from one of ``DIALERD_TRUSTED_PROXIES``; anyone else could send those
headers to pass for an https request or another address (docs/security.md)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from dialerd.config import Network

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TRUSTED = web.AppKey("trusted_proxies", tuple[Network, ...])


def _trusted(address: str | None, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:  # a Unix socket has no address
        return False
    return any(ip in net for net in trusted)


def _last(value: str | None) -> str | None:
    """The value the nearest proxy set: each proxy appends to a list."""
    last = (value or "").rsplit(",", 1)[-1].strip()
    return last or None


@dataclass(frozen=True)
class Origin:
    scheme: str | None
    host: str | None
    remote: str | None


def origin(remote: str | None, headers: Mapping[str, str], trusted: tuple[Network, ...]) -> Origin:
    """The request's origin as the proxies saw it; nothing changes unless ``remote`` is a
    trusted proxy. The client's address is the rightmost of X-Forwarded-For that is not a
    trusted proxy (the entries left of it could be made up by the client itself)."""
    if not _trusted(remote, trusted):
        return Origin(None, None, None)
    hops = [h.strip() for h in headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    client = next(
        (h for h in reversed(hops) if not _trusted(h, trusted)), hops[0] if hops else None
    )
    scheme = (_last(headers.get("X-Forwarded-Proto")) or "").lower()
    return Origin(
        scheme if scheme in ("http", "https") else None,
        _last(headers.get("X-Forwarded-Host")),
        client,
    )


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``request.secure``, ``.host`` and ``.remote`` as the client sent them, for every layer
    below (the console's Secure cookie, the sign-in throttle's and the audit log's address)."""
    seen = origin(request.remote, request.headers, request.app[TRUSTED])
    changes = {k: v for k, v in vars(seen).items() if v is not None}
    return await handler(request.clone(**changes) if changes else request)
