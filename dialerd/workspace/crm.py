"""The link into a CRM from the screen pop: a URL template per calling system, filled with the
contact's keys. Pure.

``https://crm.example/customer?id={systemLookupCode}``: each placeholder is a calltask API
field name (or ``contactId``); the value is URL-encoded whole (``/``, ``&``, ``?`` and ``#``
too), so a value can never change the link's host, path or other parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

PLACEHOLDERS = ("systemLookupCode", "extCustId", "systemCode", "callCode", "contactId")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_TEMPLATE_LENGTH = 1000


def template_error(template: str) -> str | None:
    """Why ``template`` cannot be a CRM link, or None."""
    if len(template) > MAX_TEMPLATE_LENGTH:
        return f"A CRM link is {MAX_TEMPLATE_LENGTH} characters at most"
    if any(ch.isspace() or ord(ch) < 32 for ch in template):
        return "A CRM link has no spaces or control characters"
    unknown = [n for n in _PLACEHOLDER.findall(template) if n not in PLACEHOLDERS]
    if unknown:
        known = ", ".join("{" + n + "}" for n in PLACEHOLDERS)
        return f"Unknown placeholder {{{unknown[0]}}}: the known ones are {known}"
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        return "A CRM link's braces must enclose a placeholder"
    parts = urlsplit(_PLACEHOLDER.sub("x", template))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "A CRM link starts with https:// (or http://) and a host"
    if "{" in urlsplit(template).netloc:
        return "A CRM link's host cannot be a placeholder"
    return None


def crm_url(template: str, values: Mapping[str, str | int | None]) -> str | None:
    """The link with every placeholder replaced by its URL-encoded value; None when the
    template uses a value the contact does not have (a link to nobody helps no one)."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return quote(str(value), safe="")

    filled = _PLACEHOLDER.sub(fill, template)
    return None if missing else filled
