"""Which forwarded headers are believed: only a trusted proxy's, and of X-Forwarded-For the
rightmost hop that is not a trusted proxy."""

from __future__ import annotations

from dialerd.api.proxy import Origin, origin
from dialerd.config import parse_networks

TRUSTED = parse_networks("127.0.0.1, 10.0.0.0/8")
HEADERS = {
    "X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.1.2.3",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "dialer.example",
}


def test_a_trusted_proxys_headers_give_the_clients_origin() -> None:
    # 6.6.6.6 is what the client itself wrote; 203.0.113.7 is what the outer proxy saw
    assert origin("127.0.0.1", HEADERS, TRUSTED) == Origin("https", "dialer.example", "203.0.113.7")


def test_anyone_elses_are_ignored() -> None:
    assert origin("203.0.113.9", HEADERS, TRUSTED) == Origin(None, None, None)
    assert origin("127.0.0.1", HEADERS, ()) == Origin(None, None, None)
    assert origin(None, HEADERS, TRUSTED) == Origin(None, None, None)


def test_the_nearest_proxys_value_counts_and_only_http_or_https() -> None:
    headers = {"X-Forwarded-Proto": "https, HTTP", "X-Forwarded-Host": "a.example, b.example"}
    assert origin("10.0.0.5", headers, TRUSTED) == Origin("http", "b.example", None)
    assert origin("10.0.0.5", {"X-Forwarded-Proto": "gopher"}, TRUSTED).scheme is None
    # every hop a trusted proxy: the first is the client
    assert origin("10.0.0.5", {"X-Forwarded-For": "10.0.0.9"}, TRUSTED).remote == "10.0.0.9"
