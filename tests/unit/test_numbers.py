"""Number normalisation: E.164 out, impossible numbers rejected, fast path == full parser."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.numbers import _slow, normalize


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+4712345678", None, "+4712345678"),  # the calltask spec's example numbers
        ("+47 876 54 321", None, "+4787654321"),
        ("0047 87654321", "NO", "+4787654321"),
        ("87654321", "NO", "+4787654321"),
        ("(+49) 89 4614-950703", None, "+49894614950703"),
        ("+44 07911 123456", None, "+447911123456"),  # national prefix after the country code
        ("+1 212 555 0100", None, "+12125550100"),
        ("87654321", None, None),  # national number, no region to read it in
        ("PhoneNumber1", None, None),
        ("+47123", None, None),  # too short for Norway
        ("+999123456789", None, None),  # no such country code
        ("", None, None),
        ("+47 91234567 ext. 12", None, None),  # an extension cannot be dialled
        ("+4791234567;ext=12", None, None),
    ],
)
def test_normalize(raw: str, region: str | None, expected: str | None) -> None:
    assert normalize(raw, region) == expected


country_codes = st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))


@settings(max_examples=3000, deadline=None)
@given(cc=country_codes, national=st.text("0123456789", min_size=1, max_size=18))
def test_fast_path_agrees_with_the_full_parser(cc: int, national: str) -> None:
    raw = f"+{cc}{national}"
    assert normalize(raw) == _slow(raw, None)
