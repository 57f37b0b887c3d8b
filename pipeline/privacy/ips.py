"""Public IPv4 and IPv6 addresses, not versions, section numbers or placeholders."""
from __future__ import annotations

import ipaddress
import re

from pipeline.privacy.spans import IP_ADDRESS, Span

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[23][0-9A-Fa-f]{0,3}:[0-9A-Fa-f:]{2,38}(?:\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])")
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d)")  # starts with a literal: fast to scan for
IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_VERSION_BEFORE = re.compile(
    r"(?i)(?:(?:\b|_)(?:v|ver|vers|version|versions|release|rev|revision|oid|build|tag|section|sections|chapter|"
    r"clause|step|rfc|jls|jvms|para|part)(?:_\w*|s|-)?[\"'\]]?[ \t]*(?::[ \t]*\w+[ \t]*)?"  # `version: str`
    r"(?:[:=]=?|=>|is|of)?[ \t]*[(\"'\[{]?[ \t]*"  # `version = "`, `Version: `, `release (`
    r"|(?:==|>=|<=|~=|!=|\^|~|@|§)[ \t]*"  # `pkg==`, `>= `, `@`
    r"|#[\w-]*"  # an anchor: `#section-7.1.1.1`
    r"|^[ \t]*(?://+|#+|\*+|/\*+|--|;+)[ \t]*)\Z",  # first on a comment line: a section heading
    re.MULTILINE)
_VERSION_AFTER = re.compile(r"(?i)[-+~](?:alpha|beta|rc|dev|snapshot|post|pre|final|release|build|\d)")
_ASCENDING = "01234567890123456789"


def find_ips(text: str) -> list[Span]:
    """Public IPv4/IPv6 addresses (the stdlib's `ipaddress` decides), not versions like `version 1.2.3.4`,
    section numbers (`8.2.4.44`: three parts under 10) or placeholders (`1.2.3.4`, `123.45.67.89`, `8.8.8.8`)."""
    spans = []
    for hint in _IPV4_HINT.finditer(text):
        start = hint.start()
        while start > hint.start() - 3 and start and text[start - 1].isdigit():
            start -= 1
        m = _IPV4.match(text, start)
        if m and _is_public(m.group()) and not _v4_placeholder(m.group()) \
                and not _version_context(text, m.start(), m.end()):
            spans.append(Span(m.start(), m.end(), IP_ADDRESS))
    pos = 0
    while (hint := IPV6_HINT.search(text, pos)) is not None:
        start = hint.start()
        while start > hint.start() - 4 and start and text[start - 1] in _HEXDIGITS:
            start -= 1
        m = _IPV6.match(text, start)
        if m and _is_public(m.group()):
            spans.append(Span(m.start(), m.end(), IP_ADDRESS))
        pos = m.end() if m else hint.end() - 1
    return spans


def _v4_placeholder(address: str) -> bool:
    parts = address.split(".")
    return sum(len(p) == 1 for p in parts) >= 3 or len(set(parts)) == 1 or "".join(parts) in _ASCENDING


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_unspecified or ip.is_reserved or getattr(ip, "is_site_local", False))


def _version_context(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", max(0, start - 40), start) + 1
    return bool(_VERSION_BEFORE.search(text, max(line_start, start - 40), start)
                or _VERSION_AFTER.match(text, end))

