"""Pure detection of personal data and secrets: (start, end, type) spans in a text; scrub.py replaces them.

One module per detector family: emails.py, ips.py, tokens.py (shapes from detect-secrets' plugins plus the few
they lack), assignments.py (secret names and their values, judged by randomness.py), credentials.py (URL passwords,
private-key blocks). This module is their registry: which detector fills which types, the RE2 hint that screens a
batch for each, and `detect`, which runs them. Every detector first looks for a cheap literal hint, so text without
secrets costs a few fast searches.
"""
from __future__ import annotations

from typing import Callable

from pipeline.privacy.assignments import KEYWORDS, find_assigned_secrets, name_kind
from pipeline.privacy.credentials import find_private_keys, find_url_passwords
from pipeline.privacy.emails import find_emails
from pipeline.privacy.ips import IPV6_HINT, find_ips
from pipeline.privacy.randomness import entropy, looks_random
from pipeline.privacy.spans import EMAIL, IP_ADDRESS, KEY, PASSWORD, PRIVATE_KEY, TYPES, Span
from pipeline.privacy.tokens import TOKEN_SCREEN, find_tokens

__all__ = ["DETECTORS", "EMAIL", "HINTS", "IP_ADDRESS", "KEY", "PASSWORD", "PRIVATE_KEY", "TYPES", "Span", "detect",
           "detectors_for", "entropy", "find_assigned_secrets", "find_emails", "find_ips", "find_private_keys",
           "find_tokens", "find_url_passwords", "looks_random", "name_kind"]

# Which detectors fill which types, and for each an RE2 pattern (pyarrow.compute.match_substring_regex) that matches
# every text in which it could find anything: scrub.py runs these over a whole batch in C++ first, so rows that match
# none skip Python entirely. Each detector also checks its own hint, so `detect` alone is complete.
DETECTORS: dict[str, tuple[tuple[str, ...], Callable]] = {
    "email": ((EMAIL,), lambda text, _: find_emails(text)),
    "ip": ((IP_ADDRESS,), lambda text, _: find_ips(text)),
    "token": ((KEY,), lambda text, _: find_tokens(text)),
    "assignment": ((KEY, PASSWORD), find_assigned_secrets),
    "url_password": ((PASSWORD,), lambda text, _: find_url_passwords(text)),
    "private_key": ((PRIVATE_KEY,), lambda text, _: find_private_keys(text)),
}
HINTS = {
    "email": r"[A-Za-z0-9._%+-]@[A-Za-z0-9]",
    "ip": r"\.\d{1,3}\.\d{1,3}\.\d{1,3}|" + IPV6_HINT.pattern,
    "token": TOKEN_SCREEN,
    "assignment": rf"(?i:{KEYWORDS})[A-Za-z0-9_$.-]*[\"'`]?\]?[ \t]*(?:[=:!<>][=>-]?=?[ \t]*(?:[rbuRBUL@]{{0,2}}"
                  r"[\"'`]|[^\s\"'`,;&()\[\]{}<>|\\:]{8})|:[ \t]*[A-Za-z_][\w\[\].,| ]{0,40}?[ \t]*=|"
                  r"[\"'][ \t]*,[ \t]*[\"']|\"[ \t]+value=\")|#define[ \t]",
    "url_password": r"://[^\s/@]*:[^\s/@]+@",
    "private_key": r"PRIVATE KEY|PuTTY-User-Key-File",
}


def detectors_for(types) -> tuple[str, ...]:
    return tuple(name for name, (fills, _) in DETECTORS.items() if set(fills) & set(types))


def detect(text: str, types=TYPES, min_entropy: float = 3.0, only=None) -> list[Span]:
    """Every span of the requested types; spans may overlap (scrub resolves them). `only`: the detectors to run
    (names in DETECTORS, e.g. those whose HINTS matched the text); None runs all that fill `types`."""
    wanted = set(types)
    spans: list[Span] = []
    for name in detectors_for(wanted):
        if only is None or name in only:
            spans += [s for s in DETECTORS[name][1](text, min_entropy) if s.type in wanted]
    return spans
