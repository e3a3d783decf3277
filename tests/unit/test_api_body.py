"""The one JSON body reader: what it refuses, and in whose words."""

from __future__ import annotations

import pytest

from dialerd.api.body import BadBody, BodyTexts, parse_object

TEXTS = BodyTexts(missing="missing", malformed="malformed", not_object="not an object")


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", "missing"),
        (b"  \n", "missing"),
        (b"{", "malformed: "),
        (b'{"a": "\\ud800"}', "malformed: "),  # a lone surrogate is no character
        (b"\xff", "malformed: "),  # not UTF-8
        (b"[]", "not an object"),
        (b"1", "not an object"),
    ],
)
def test_unreadable_bodies_are_refused_in_the_apis_words(raw: bytes, text: str) -> None:
    with pytest.raises(BadBody) as caught:
        parse_object(raw, TEXTS)
    assert str(caught.value).startswith(text)


def test_an_object_is_read() -> None:
    assert parse_object(b'{"a": 1}', TEXTS) == {"a": 1}
