"""Keys and tokens with a known shape (prefix, length, alphabet), from detect-secrets' plugins plus a few shapes
they lack; each plugin's regexes are imported lazily, once per process."""
from __future__ import annotations

import base64
import functools
import importlib
import re
from typing import Callable, NamedTuple

from pipeline.privacy.randomness import entropy, mixed
from pipeline.privacy.spans import KEY, Span


class _TokenRule(NamedTuple):
    hints: tuple[str, ...]      # literal substrings, one of which must be present before the regex runs
    pattern: re.Pattern
    group: int                  # the group holding the secret (0: the whole match)
    extend: bool                # extend the span over following token characters (longer real tokens)
    valid: Callable[[str], bool] | None = None
    back: int = 0               # > 0: the shape starts up to this many characters before its hint (`<digits>:AA`);
                                # such a rule runs only in a window around each hint, never over the whole text


_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_-]*")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_PLUGINS = (  # detect-secrets module, class, hints, {denylist index: value group}, extend
    ("aws", "AWSKeyDetector", ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"), {0: 0}, False),
    ("aws", "AWSKeyDetector", ("aws", "AWS", "Aws"), {1: 1}, False),
    ("github_token", "GitHubTokenDetector", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), None, True),
    ("gitlab_token", "GitLabTokenDetector", ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "GR1348941", "glcbt-",
                                             "glimt-", "glptt-", "glagent-", "gloas-"), None, True),
    ("slack", "SlackDetector", ("xox", "XOX", "hooks.slack.com"), None, True),
    ("stripe", "StripeDetector", ("k_live_",), None, True),
    ("openai", "OpenAIDetector", ("T3BlbkFJ",), None, True),
    ("pypi_token", "PypiTokenDetector", ("pypi-",), None, True),
    ("sendgrid", "SendGridDetector", ("SG.",), None, True),
    ("square_oauth", "SquareOAuthDetector", ("sq0csp-",), None, True),
    ("npm", "NpmDetector", ("_authToken",), {0: 1}, False),
    ("telegram_token", "TelegramBotTokenDetector", (":AA",), None, False, 10),
    ("mailchimp", "MailchimpDetector", ("-us",), None, False, 32),
)
_OWN_TOKENS = (  # shapes no detect-secrets 1.5.0 plugin covers
    _TokenRule(("AIza",), re.compile(r"AIza[0-9A-Za-z_-]{35}"), 0, True),                   # Google API key
    _TokenRule(("github_pat_",), re.compile(r"github_pat_[A-Za-z0-9_]{50,}"), 0, True),      # GitHub fine-grained
    _TokenRule(("sk-",), re.compile(r"sk-(?:[a-z]+-(?:[a-z]+\d\d-)?)?[A-Za-z0-9_-]{32,}"), 0, True,
               lambda v: entropy(v[3:]) >= 4.0 and mixed(v[3:])),                           # OpenAI-style sk-...
    _TokenRule(("AccountKey=",), re.compile(r"AccountKey=([A-Za-z0-9+/=]{88})"), 1, False),  # Azure: value only
    _TokenRule(('"auth"',), re.compile(r'"auth"[ \t]*:[ \t]*"([A-Za-z0-9+/]{12,}={0,2})"'), 1, False,
               lambda v: _basic_credentials(v)),                                           # Docker config.json
) + tuple(  # providers' documented prefixes (bench/secret_formats.py cites each provider's documentation)
    _TokenRule(hints if isinstance(hints, tuple) else (hints,), re.compile(pattern), 0, extend, valid, back)
    for hints, pattern, extend, valid, back in (
        ("GOCSPX-", r"GOCSPX-[A-Za-z0-9_-]{28}", True, None, 0),  # Google OAuth client secret
        ("_v1_", r"do[opr]_v1_[a-f0-9]{64}", False, None, 0),  # DigitalOcean
        ("Q~", r"[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}", False, None, 4),  # Azure AD client secret
        ("ATBB", r"ATBB[A-Za-z0-9_=.-]{32,}", True, None, 0),  # Bitbucket app password
        ("CCIPAT_", r"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}", False, None, 0),  # CircleCI
        ("bkua_", r"bkua_[a-f0-9]{40}", False, None, 0),  # Buildkite
        ("dckr_pat_", r"dckr_pat_[A-Za-z0-9_-]{27}", True, None, 0),  # Docker Hub
        ("hvs.", r"hv[sb]\.[A-Za-z0-9_-]{90,}", False, None, 0),  # HashiCorp Vault
        (".atlasv1.", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}", False, None, 14),  # Terraform Cloud
        ("npm_", r"npm_[A-Za-z0-9]{36}", False, None, 0),  # npm
        ("rubygems_", r"rubygems_[a-f0-9]{48}", False, None, 0),  # RubyGems
        ("oy2", r"oy2[a-z0-9]{43}", False, lambda v: entropy(v) >= 4.0, 0),  # NuGet
        ("EAAA", r"EAAA[A-Za-z0-9_-]{60}", False, lambda v: entropy(v) >= 4.0, 0),  # Square access token
        ("access_token$", r"access_token\$production\$[a-z0-9]{16}\$[a-f0-9]{32}", False, None, 0),  # Braintree
        (("shpat_", "shpss_", "shpca_", "shppa_"), r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", False, None, 0),  # Shopify
        ("hf_", r"hf_[A-Za-z]{34}", False, lambda v: entropy(v) >= 4.0 and _cases(v[3:]), 0),  # Hugging Face
        ("r8_", r"r8_[A-Za-z0-9]{37}", False, lambda v: entropy(v) >= 4.0, 0),  # Replicate
        ("gsk_", r"gsk_[A-Za-z0-9]{52}", False, None, 0),  # Groq
        ("pplx-", r"pplx-[A-Za-z0-9]{48}", False, None, 0),  # Perplexity
        ("xai-", r"xai-[A-Za-z0-9]{80}", False, None, 0),  # xAI
        ("PMAK-", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", False, None, 0),  # Postman
        ("dapi", r"dapi[a-f0-9]{32}", False, lambda v: mixed(v[4:]), 0),  # Databricks
        ("glsa_", r"glsa_[A-Za-z0-9]{32}_[a-f0-9]{8}", False, None, 0),  # Grafana service account
        ("NRAK-", r"NRAK-[A-Z0-9]{27}", False, None, 0),  # New Relic user key
        ("sntr", r"sntry[us]_[A-Za-z0-9_=+/.-]{40,}", False, None, 0),  # Sentry auth token
        ("lin_api_", r"lin_api_[A-Za-z0-9]{40}", False, None, 0),  # Linear
        ("ntn_", r"ntn_[A-Za-z0-9]{46}", False, None, 0),  # Notion
        ("AGE-SECRET-KEY-1", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", False, None, 0),  # age
    ))
TOKEN_HINTS = tuple(sorted({h for p in _PLUGINS for h in p[2]} | {h for r in _OWN_TOKENS for h in r.hints} | {"eyJ"},
                           key=len, reverse=True))
# The batch screen (RE2, scrub.py) takes each hint literally, except hints common in ordinary code (`-us` in
# `en-us`, `:AA`), which it takes with the characters their shapes require around them.
_SCREEN_OVERRIDES = {"-us": r"[0-9a-f]-us[0-9]", ":AA": r"[0-9]:AA", "Q~": r"[0-9]Q~"}
TOKEN_SCREEN = "|".join(_SCREEN_OVERRIDES.get(h) or re.escape(h) for h in TOKEN_HINTS)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")  # plugin's regex ranges overreach


@functools.cache
def _token_rules() -> tuple[re.Pattern, tuple[_TokenRule, ...]]:
    """(one regex over every rule's hints, the rules): detect-secrets' denylist regexes plus the shapes it lacks,
    imported on first use, once per process."""
    rules = []
    for module, cls, hints, groups, extend, *back in _PLUGINS:
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls)
        for i, pattern in enumerate(plugin.denylist):
            if groups is None or i in groups:
                rules.append(_TokenRule(hints, pattern, (groups or {}).get(i, 0), extend, None, *back))
    rules += _OWN_TOKENS
    from detect_secrets.plugins.jwt import JwtTokenDetector
    rules.append(_TokenRule(("eyJ",), _JWT, 0, False, JwtTokenDetector.is_formally_valid))
    assert {h for rule in rules for h in rule.hints} == set(TOKEN_HINTS)
    return re.compile(_trie_pattern(TOKEN_HINTS)), tuple(rules)


def _trie_pattern(words) -> str:
    """One regex for literals factored by common prefixes (`a(?:ws|ccess_token)`): each position of a text then
    tries one branch per character instead of every literal (a flat alternation of 70 hints is twice as slow)."""
    trie: dict = {}
    for word in words:
        node = trie
        for c in word:
            node = node.setdefault(c, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(c) + emit(node[c]) for c in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and "" not in node else "(?:" + "|".join(alts) + ")"
        return body + ("?" if "" in node else "")
    return emit(trie)


def find_tokens(text: str) -> list[Span]:
    """Keys and tokens recognisable by their shape alone (prefix, length, alphabet)."""
    any_hint, rules = _token_rules()
    found = set(any_hint.findall(text))
    spans = []
    for rule in rules:
        if found.isdisjoint(rule.hints):
            continue
        for m in (_near_hints(rule, text) if rule.back else rule.pattern.finditer(text)):
            start, end = m.span(rule.group)
            if start < 0 or (start and text[start - 1] in _ALNUM and rule.group == 0):
                continue
            if rule.extend:
                end = _TOKEN_CHAR.match(text, end).end()
            elif rule.group == 0 and end < len(text) and text[end] in _ALNUM:
                continue  # a fixed-length shape inside a longer word
            value = text[start:end]
            if _placeholder_token(value) or (rule.valid and not rule.valid(value)):
                continue
            spans.append(Span(start, end, KEY))
    return spans


def _near_hints(rule: _TokenRule, text: str):
    """The rule's matches that cover one of its hints, searched in a window around each hint occurrence."""
    seen = set()
    for hint in rule.hints:
        pos = text.find(hint)
        while pos >= 0:
            m = rule.pattern.search(text, max(0, pos - rule.back), pos + len(hint) + 512)
            if m and m.start() <= pos < m.end() and m.span() not in seen:
                seen.add(m.span())
                yield m
            pos = text.find(hint, pos + 1)


def _basic_credentials(value: str) -> bool:
    """Base64 of `user:password`, as Docker's config.json stores registry logins."""
    try:
        plain = base64.b64decode(value, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return False
    return plain.isprintable() and ":" in plain.strip(":")


def _cases(value: str) -> bool:
    return any(c.isupper() for c in value) and any(c.islower() for c in value)


def _placeholder_token(value: str) -> bool:
    return "example" in value.lower() or any(x in value for x in ("xxxx", "XXXX", "****", "<")) or \
        len(set(value[-16:])) < 6

