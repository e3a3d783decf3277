"""Phone numbers: everything is stored and dialled in E.164.

A number is accepted when phonenumbers can parse it and calls it *possible* (right length for its
country); numbers that are possible but not in a known range are accepted too, because
allocation tables lag behind reality and the network, not us, is the judge of that.

Imports of 100,000 call tasks check 200,000 numbers, and a full ``phonenumbers.parse`` costs
~30 µs. The fast path below gives the same answer for the common input, ``+<digits>``: after the
country code nothing is stripped unless the region's national-prefix pattern matches, and
possibility then depends only on the country code and the length of the national number.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberFormat

_SEPARATORS = str.maketrans("", "", " -.()/\u00a0\t")
_PLUS_DIGITS = re.compile(r"\+[0-9]{3,20}")


def normalize(raw: str, default_region: str | None = None) -> str | None:
    """The E.164 form of ``raw``, or None if it is not a possible phone number.

    Without a leading ``+`` (or ``00``), the number is read as a national number of
    ``default_region`` (ISO 3166 code); without a region such a number is rejected.
    """
    if raw[:1] == "+" and raw.isascii() and raw[1:].isdigit() and 3 <= len(raw) - 1 <= 20:
        compact = raw  # already "+<digits>" (isdigit of ASCII is 0-9): the common case
    else:
        compact = raw.translate(_SEPARATORS)
        if not _PLUS_DIGITS.fullmatch(compact):
            return _slow(raw, default_region)
    fast = _fast_e164(compact)
    if fast is not None:
        return fast or None
    return _slow(raw, default_region)


def _fast_e164(number: str) -> str | None:
    """``number`` if possible, "" if impossible, None where only the full parser can tell."""
    digits = number[1:]
    if digits[0] == "0":
        return None
    # The shortest leading digits that are a country code, as the parser takes them.
    country = _COUNTRIES.get(digits[:1]) or _COUNTRIES.get(digits[:2]) or _COUNTRIES.get(digits[:3])
    if country is None:
        return ""
    cc, length = country
    national = digits[length:]
    if not 2 <= len(national) <= 17:
        return None
    prefix = _national_prefix(cc)
    if prefix is not None and prefix.match(national):
        return None
    return number if _possible_length(cc, len(national)) else ""


_COUNTRIES = {str(cc): (cc, len(str(cc))) for cc in COUNTRY_CODE_TO_REGION_CODE}


@cache
def _metadata(cc: int) -> PhoneMetadata | None:
    region = phonenumbers.region_code_for_country_code(cc)
    return PhoneMetadata.metadata_for_region_or_calling_code(cc, region)


@cache
def _national_prefix(cc: int) -> re.Pattern[str] | None:
    metadata = _metadata(cc)
    pattern = metadata.national_prefix_for_parsing if metadata else None
    return re.compile(pattern) if pattern else None


@cache
def _possible_length(cc: int, length: int) -> bool:
    # A national number of that length with no leading zero: only its length matters here.
    probe = phonenumbers.PhoneNumber(country_code=cc, national_number=int("1" * length))
    return bool(phonenumbers.is_possible_number(probe))


@lru_cache(maxsize=65536)
def _slow(raw: str, default_region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    # A dialler cannot dial an extension after the call is answered: refuse it rather than
    # silently calling the main number.
    if parsed.extension or not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def is_region(code: str) -> bool:
    """True for an ISO 3166 region code that phonenumbers knows (e.g. "NO", "DE")."""
    return code.upper() in phonenumbers.SUPPORTED_REGIONS


def restore_numeric(digits: str, default_region: str | None) -> tuple[str, str]:
    """A phone number that a spreadsheet stored as a number, as the text it was typed as, and
    what was assumed. The number lost its leading ``+`` (or ``00``) or its national prefix
    ``0``: digits that start with the default region's country code and are then of a possible
    length there are read as international, others as a national number of the region; without
    a region every number is international. Only a national prefix ``0`` is put back (a
    number loses leading zeros; the US prefix 1 is not lost). The result is then read by
    ``normalize`` like any other text: this decides what was lost, never whether the number is
    accepted."""
    facts = _numeric_region(default_region) if default_region else None
    if facts is None:
        return "+" + digits, "leading + restored"
    cc, code, region, zero_prefix = facts
    if digits.startswith(code) and _possible_length(cc, len(digits) - len(code)):
        return "+" + digits, "leading + restored"
    if zero_prefix:  # a number drops only zeros
        return "0" + digits, f"leading 0 restored, a national number of {region}"
    return digits, f"a national number of {region}"


@cache
def _numeric_region(default_region: str) -> tuple[int, str, str, bool] | None:
    """(country code, as text, the region, whether its national prefix is 0), None if the region
    is unknown."""
    region = default_region.upper()
    if not is_region(region):
        return None
    cc = phonenumbers.country_code_for_region(region)
    metadata = _metadata(cc)
    return cc, str(cc), region, metadata is not None and metadata.national_prefix == "0"
