"""E-mail addresses with a real top-level domain (documentation domains, noreply and git remotes left alone)."""
from __future__ import annotations

import re

from pipeline.privacy.spans import EMAIL, Span

_LOCAL = re.compile(r"(?<![\w.+%\\-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}\Z")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![\w-])")
_GTLDS = frozenset("""com net org edu gov mil int info biz name pro aero coop museum mobi jobs travel tel asia cat
    io ai app dev cloud tech online site xyz club email mail company global group systems solutions network digital
    studio design agency media software team works zone life live world today space store shop blog news page codes
    tools services center consulting host website one top win fun icu vip berlin london nyc paris tokyo""".split())
DOC_DOMAIN = re.compile(r"(?i)(?:.*\.)?(?:example\.(?:com|org|net)|[^.]+\.(?:example|test|invalid|localhost))")
_ROLE_LOCAL = re.compile(r"(?i)(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|git)")  # not a person's mailbox


def find_emails(text: str) -> list[Span]:
    """Addresses with a real top-level domain; documentation domains, noreply and `git@host` remotes left alone."""
    spans, at = [], text.find("@")
    while at >= 0:
        local = _LOCAL.search(text, max(0, at - 64), at)
        domain = _DOMAIN.match(text, at + 1)
        if local and domain and _real_tld(domain.group(1)) and not DOC_DOMAIN.fullmatch(domain.group(0)) \
                and not _ROLE_LOCAL.fullmatch(local.group(0)) and not _in_url_authority(text, local.start()):
            spans.append(Span(local.start(), domain.end(), EMAIL))
        at = text.find("@", at + 1)
    return spans


def _real_tld(tld: str) -> bool:
    tld = tld.lower()
    return len(tld) == 2 or tld in _GTLDS


def _in_url_authority(text: str, start: int) -> bool:
    """`scheme://user@host` and `scheme://user:pw@host` hold a user name, not a mailbox (`mailto:` does)."""
    prev = text[start - 1] if start else "^"  # ("" would be `in` any string)
    return prev in ":/" and not text[max(0, start - 7):start].lower() == "mailto:"

