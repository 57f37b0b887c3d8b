"""Passwords in URLs (`scheme://user:PASSWORD@host`) and whole private-key blocks (PEM, PuTTY)."""
from __future__ import annotations

import functools
import re
import urllib.parse

from pipeline.privacy.emails import DOC_DOMAIN
from pipeline.privacy.randomness import is_placeholder
from pipeline.privacy.spans import PASSWORD, PRIVATE_KEY, Span

_URL_PLACEHOLDER = re.compile(r"(?i)pass(?:word|wd)?\d*|pwd|pw|secret|changeme|x+|\*+|\.\.\.|p|admin|root|user|guest|"
                              r"test|foo|bar|\{.*\}|<.*>|%s")
_URL_PLACEHOLDER_PART = re.compile(r"pass|Pass|PASS|ssword|SSWORD|pwd|PWD")  # `p@ssword`, `MyPass1`
_HOST = re.compile(r"[A-Za-z0-9.-]*")


# detect-secrets' BasicAuthDetector pattern (`://[^R]+:([^R]+)@`, R = URL delimiters) misses a password holding a
# sub-delimiter (`!$&'()*+,;=`, all legal in RFC 3986 userinfo) and `scheme://:password@host` (no user, as redis
# URLs are written), so the rule is written here: an optional user, then a password up to the `@` before the host.
_URL_CREDENTIALS = re.compile(r"""://[^\s:/?#\[\]@"'`<>]*:([^\s:/?#\[\]@"'`<>]+)@(?=[A-Za-z0-9\[])""")


def find_url_passwords(text: str) -> list[Span]:
    """`scheme://user:PASSWORD@host`: the password alone (placeholders such as `user:password@`, and any password
    for a documentation host such as example.com, left alone)."""
    if "://" not in text or "@" not in text:
        return []
    spans = []
    for m in _URL_CREDENTIALS.finditer(text):
        password = urllib.parse.unquote(m.group(1))
        host = _HOST.match(text, m.end()).group()
        if len(password) < 3 or _URL_PLACEHOLDER.fullmatch(password) or _URL_PLACEHOLDER_PART.search(password) \
                or is_placeholder(password) or DOC_DOMAIN.fullmatch(host):
            continue
        spans.append(Span(*m.span(1), PASSWORD))
    return spans


_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{32,}")
_PEM_BODY_LINE = re.compile(r"(?:[^\S\n]*[\"'`]?[A-Za-z0-9+/=]{40,}(?:\\n)?[\"'`]?[^\S\n]*[+,]?[^\S\n]*\n)+")
_PUTTY = re.compile(r"PuTTY-User-Key-File-\d: .*?Private-MAC: [0-9a-fA-F]+", re.DOTALL)
_MAX_PEM_CHARS = 64_000


@functools.cache
def _private_key_markers() -> tuple[str, ...]:
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    return tuple(p.pattern for p in PrivateKeyDetector.denylist)


def find_private_keys(text: str) -> list[Span]:
    """Whole `-----BEGIN ... PRIVATE KEY-----` .. `-----END ...-----` blocks (also split over string literals);
    a header with no END keeps its base64 lines in the span; a header alone (a parser's constant) is no key."""
    if "PRIVATE KEY" not in text and "PuTTY-User-Key-File" not in text:
        return []
    if not any(marker in text for marker in _private_key_markers()) and "PRIVATE KEY-----" not in text:
        return []
    spans = []
    for m in _PEM_BEGIN.finditer(text):
        end_marker = f"-----END {m.group(1)}-----"
        stop = text.find(end_marker, m.end(), m.end() + _MAX_PEM_CHARS)
        if stop >= 0 and _BASE64_RUN.search(text, m.end(), stop) and text.find("-----BEGIN ", m.end(), stop) < 0:
            spans.append(Span(m.start(), stop + len(end_marker), PRIVATE_KEY))
            continue
        line_end = text.find("\n", m.end())
        rest = text[m.end():line_end].strip() if line_end >= 0 else "?"
        if rest and not rest.startswith("\\n"):
            continue  # `PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----"`: a string that ends with the header
        body = _PEM_BODY_LINE.match(text, line_end + 1)
        if body and body.end() - body.start() >= 80:
            spans.append(Span(m.start(), body.end() - 1, PRIVATE_KEY))
    spans += [Span(*m.span(), PRIVATE_KEY) for m in _PUTTY.finditer(text)]
    return spans
