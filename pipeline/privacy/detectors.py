"""Pure detection of personal data and secrets: (start, end, type) spans in a text; scrub.py replaces them.

Token shapes (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, PyPI, SendGrid, Square, npm), the JWT check, the private
key markers and the secret-name keywords come from detect-secrets' plugins (their `denylist` regexes and helpers),
imported lazily once per process. Written here, where no plugin fits or gives spans: e-mails, IPs, PEM block spans,
URL passwords, Google keys, `github_pat_` and `sk-` tokens, and the assignment parser with its randomness test.
Every detector first looks for a cheap literal hint, so text without secrets costs a few fast searches.
"""
from __future__ import annotations

import functools
import importlib
import ipaddress
import math
import re
import urllib.parse
from collections import Counter
from typing import Callable, NamedTuple

EMAIL, IP_ADDRESS, KEY, PASSWORD, PRIVATE_KEY = TYPES = ("EMAIL", "IP_ADDRESS", "KEY", "PASSWORD", "PRIVATE_KEY")


class Span(NamedTuple):
    start: int
    end: int
    type: str


# ---- e-mail addresses -------------------------------------------------------------------------------------------
_LOCAL = re.compile(r"(?<![\w.+%\\-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}\Z")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![\w-])")
_GTLDS = frozenset("""com net org edu gov mil int info biz name pro aero coop museum mobi jobs travel tel asia cat
    io ai app dev cloud tech online site xyz club email mail company global group systems solutions network digital
    studio design agency media software team works zone life live world today space store shop blog news page codes
    tools services center consulting host website one top win fun icu vip berlin london nyc paris tokyo""".split())
_DOC_DOMAIN = re.compile(r"(?i)(?:.*\.)?(?:example\.(?:com|org|net)|[^.]+\.(?:example|test|invalid|localhost))")
_ROLE_LOCAL = re.compile(r"(?i)(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|git)")  # not a person's mailbox


def find_emails(text: str) -> list[Span]:
    """Addresses with a real top-level domain; documentation domains, noreply and `git@host` remotes left alone."""
    spans, at = [], text.find("@")
    while at >= 0:
        local = _LOCAL.search(text, max(0, at - 64), at)
        domain = _DOMAIN.match(text, at + 1)
        if local and domain and _real_tld(domain.group(1)) and not _DOC_DOMAIN.fullmatch(domain.group(0)) \
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


# ---- IP addresses -----------------------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[23][0-9A-Fa-f]{0,3}:[0-9A-Fa-f:]{2,38}(?:\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])")
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d)")  # starts with a literal: fast to scan for
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
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
    while (hint := _IPV6_HINT.search(text, pos)) is not None:
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


# ---- tokens with a known shape ----------------------------------------------------------------------------------
class _TokenRule(NamedTuple):
    hints: tuple[str, ...]      # literal substrings, one of which must be present before the regex runs
    pattern: re.Pattern
    group: int                  # the group holding the secret (0: the whole match)
    extend: bool                # extend the span over following token characters (longer real tokens)
    valid: Callable[[str], bool] | None = None


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
)
_OWN_TOKENS = (  # shapes no detect-secrets 1.5.0 plugin covers
    _TokenRule(("AIza",), re.compile(r"AIza[0-9A-Za-z_-]{35}"), 0, True),                   # Google API key
    _TokenRule(("github_pat_",), re.compile(r"github_pat_[A-Za-z0-9_]{50,}"), 0, True),      # GitHub fine-grained
    _TokenRule(("sk-",), re.compile(r"sk-(?:[a-z]+-(?:[a-z]+\d\d-)?)?[A-Za-z0-9_-]{32,}"), 0, True,
               lambda v: entropy(v[3:]) >= 4.0 and _mixed(v[3:])),                           # OpenAI-style sk-...
    _TokenRule(("AccountKey=",), re.compile(r"AccountKey=([A-Za-z0-9+/=]{88})"), 1, False),  # Azure: value only
)
_TOKEN_HINTS = tuple(sorted({h for p in _PLUGINS for h in p[2]} | {h for r in _OWN_TOKENS for h in r.hints} | {"eyJ"},
                           key=len, reverse=True))
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")  # plugin's regex ranges overreach


@functools.cache
def _token_rules() -> tuple[re.Pattern, tuple[_TokenRule, ...]]:
    """(one regex over every rule's hints, the rules): detect-secrets' denylist regexes plus the shapes it lacks,
    imported on first use, once per process."""
    rules = []
    for module, cls, hints, groups, extend in _PLUGINS:
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls)
        for i, pattern in enumerate(plugin.denylist):
            if groups is None or i in groups:
                rules.append(_TokenRule(hints, pattern, (groups or {}).get(i, 0), extend))
    rules += _OWN_TOKENS
    from detect_secrets.plugins.jwt import JwtTokenDetector
    rules.append(_TokenRule(("eyJ",), _JWT, 0, False, JwtTokenDetector.is_formally_valid))
    assert {h for rule in rules for h in rule.hints} == set(_TOKEN_HINTS)
    return re.compile("|".join(map(re.escape, _TOKEN_HINTS))), tuple(rules)


def find_tokens(text: str) -> list[Span]:
    """Keys and tokens recognisable by their shape alone (prefix, length, alphabet)."""
    any_hint, rules = _token_rules()
    found = set(any_hint.findall(text))
    spans = []
    for rule in rules:
        if found.isdisjoint(rule.hints):
            continue
        for m in rule.pattern.finditer(text):
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


def _placeholder_token(value: str) -> bool:
    return "example" in value.lower() or any(x in value for x in ("xxxx", "XXXX", "****", "<")) or \
        len(set(value[-16:])) < 6


# ---- secrets assigned to telling names --------------------------------------------------------------------------
_KEYWORDS = "pass|pwd|secret|token|key|credential|contrase|authorization"
_PEEK = r"""["'`]?\]?[ \t]*[=:!<>]"""  # something is assigned or compared: `=`, `:`, `=>`, `==`, `!=`, `<-`, `>`
_NAME_HINT = re.compile(rf"(?:{_KEYWORDS})[a-z0-9_$.-]*(?={_PEEK})")  # over lower-cased text
_NAME_HINT_ANY_CASE = re.compile(_NAME_HINT.pattern, re.IGNORECASE)
_DEFINE_NAME = re.compile(r"#define[ \t]+([A-Za-z_]\w*)")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$.-")
_OPERATOR = re.compile(  # the name's closing quote or bracket, a type annotation (`: str`), the operator
    r"""(["'`]?\]?)[ \t]*(?::[ \t]*(?:[a-z]+|(?:[A-Z][a-z]+)+)(?:\[[\w\[\]., |]{0,40}\])?[ \t]*(?==[^=]))?"""
    r"""(:=|=>|===?|!==?|=|:(?!:)|<-)[ \t]*""")
_DEFINE = re.compile(r"[ \t]+")
_STRING_PREFIX = re.compile(r"(?:[rRbBuUL]{1,2}|@)?([\"'`])")
_UNQUOTED = re.compile(r"""[^\s'"`,;&()\[\]{}<>|\\:]+""")
_PASSWORD_NAME = re.compile(r"(?i)passw|passphrase|pwd|contrase|(?:^|[_.-])pass$|db_?pass|key_?pass")
_NOT_VALUE = frozenset("""type types name names id ids file files filename path paths dir url uri env var vars field
    fields prefix suffix header headers len length size regex re pattern format fmt hash hashes label prompt help count
    kind param params attr column col index idx endpoint class cls func fn method mode policy provider store storage
    manager validator required enabled set list dict map mapping placeholder message msg error errors timeout expiry
    expires ttl version algorithm alg scheme source location reset hint min max rules widget input form view text
    char chars""".split())
_KEY_QUALIFIERS = frozenset("""api access secret private auth signing encryption master app client service account
    license subscription admin""".split())


def _segments(name: str) -> list[str]:
    return [s for s in re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip("$@:.-")).lower()
            .replace("-", "_").replace(".", "_").split("_") if s]


def name_kind(name: str) -> str | None:
    """PASSWORD, KEY or None for a variable, key or header name (`db_password`, `SECRET_KEY`, `X-Api-Key`);
    of a dotted name the last part decides (`settings.SECRET_KEY` yes, `token.ADD` no)."""
    name = name.strip(".").rsplit(".", 1)[-1]
    segs = _segments(name)
    if not segs or segs[-1] in _NOT_VALUE or segs[0] in ("get", "set", "is", "has", "check", "validate", "make"):
        return None
    if _PASSWORD_NAME.search(name):
        return PASSWORD
    if _secret_keyword().search(name) or any(s in ("secret", "secrets", "token", "credential", "credentials",
                                                    "authorization", "apikey", "accesskey") for s in segs):
        return KEY
    if segs[-1] == "key" and (len(segs) == 1 or segs[-2] in _KEY_QUALIFIERS):
        return KEY
    return None


def _weak_name(name: str) -> bool:
    """`key`, `token`, `auth...` alone: common in ordinary code, so their values must look more random."""
    return _segments(name.strip(".").rsplit(".", 1)[-1]) in (["key"], ["token"])


@functools.cache
def _secret_keyword() -> re.Pattern:
    """detect-secrets' KeywordDetector name list (api_key, auth_key, secret, ...) as one regex over names."""
    from detect_secrets.plugins.keyword import DENYLIST
    return re.compile("|".join(DENYLIST), re.IGNORECASE)


def find_assigned_secrets(text: str, min_entropy: float) -> list[Span]:
    """Random-looking values assigned to secret names: `api_key = "..."`, `password: ...`, `"token": "..."`,
    `<password>...</password>`, `#define API_KEY "..."`, `Password=...;`; the value alone is the span."""
    lower = text.lower()
    hits = _NAME_HINT.finditer(lower) if len(lower) == len(text) else _NAME_HINT_ANY_CASE.finditer(text)
    names = []
    for hit in hits:
        start = hit.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        names.append((start, hit.end(), False))
    if "#define" in text:
        names += [(*m.span(1), True) for m in _DEFINE_NAME.finditer(text)]
    spans = []
    for start, end, define in names:
        name = text[start:end]
        kind = name_kind(name)
        value = _value_after(text, start, end, define) if kind else None
        if not value:
            continue
        secret = text[value[0]:value[1]]
        literal = value[2] or (start and text[start - 1] in ";&?")  # `...;Password=v;` and `?token=v&`: in a string
        if looks_random(secret, min_entropy, literal, 0.7 if kind == PASSWORD else 0.8) and \
                (not _weak_name(name) or (len(secret) >= 16 and _mixed(secret) and ":" not in secret)):
            spans.append(Span(value[0], value[1], kind))
    return spans


def _value_after(text: str, name_start: int, name_end: int, define: bool) -> tuple[int, int, bool] | None:
    """(start, end, quoted) of the value assigned to the name ending at name_end, or None."""
    if text.startswith(">", name_end) and name_start and text[name_start - 1] == "<":  # <password>v</password>
        close = text.find("<", name_end + 1)
        return (name_end + 1, close, True) if close > 0 and "\n" not in text[name_end:close] else None
    op = (_DEFINE if define else _OPERATOR).match(text, name_end)
    if not op:
        return None
    pos = op.end()
    quote = _STRING_PREFIX.match(text, pos)
    if quote:
        q = quote.group(1)
        begin = quote.end()
        if not define and not op.group(1) and name_start and text[name_start - 1] == q and quote.start() == pos:
            return None  # `'access_token=' + x`: the string that holds the name ends at the operator
        if text.startswith(q * 2, begin):  # a triple-quoted string: prose, not a value
            return None
        line_end = text.find("\n", begin)
        close = text.find(q, begin, line_end if line_end >= 0 else len(text))
        if close < 0:
            return None
        return begin + _auth_scheme(text, begin), close, True
    value = _UNQUOTED.match(text, pos)
    after = text[value.end():value.end() + 1] if value else ""
    if not value or (after and after in "([.{") or (after == ">" and value.group().endswith("-")):
        return None  # a call, an index, an attribute, PHP's `$obj->`
    return value.start(), value.end(), False


_AUTH_SCHEME = re.compile(r"(?i)(?:bearer|basic|token)[ \t]+")


def _auth_scheme(text: str, pos: int) -> int:
    """Characters to skip over an HTTP auth scheme (`Bearer `, `Basic `, `token `) at pos."""
    m = _AUTH_SCHEME.match(text, pos)
    return m.end() - pos if m else 0


# ---- what makes a value a secret --------------------------------------------------------------------------------
_PLACEHOLDER_WORDS = """change your example sample dummy placeholder redacted replace insert enter todo fixme xxxx
    test fake mock secret passw token apikey api_key default foobar none null undefined empty here demo hidden mask
    anonymous""".split()
_PLACEHOLDER = re.compile(  # words in one case (random text rarely spells one), templates, environment lookups
    "|".join(f"{w}|{w.upper()}|{w.capitalize()}" for w in _PLACEHOLDER_WORDS) +
    r"|\*\*\*|\.\.\.|\$\{|\{\{|\}\}|<.*>|%\(|\{\}|\{\d\}|\$\(|process\.env|environ|getenv|"
    r"^%[A-Za-z_]+%$")
_IDENTIFIER = re.compile(r"[a-z]+\d*(?:[_.-](?:[a-z]+\d*|\d+))+|[A-Z]+\d*(?:[_.-](?:[A-Z]+\d*|\d+))+")
_DOTTED = re.compile(r"[A-Za-z_]+(?:\.[A-Za-z_]+)+")
_FILE_NAME = re.compile(r"\.(?:pem|key|json|txt|ya?ml|cfg|ini|env|crt|p12|pfx|der|jks|properties|xml|toml|conf|gpg|"
                        r"asc|pub|ppk|py|js|sh)\Z")
_PATH = re.compile(r"(?:\.{0,2}/|~/)?[\w.-]+(?:/[\w.-]+)+/?")
_HEX = frozenset("0123456789abcdefABCDEF-")
_VARIABLE = re.compile(r"[@$&*:!~-]*[A-Za-z_$][\w.$]*")
_NAME_CHUNK = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_SHORT_WORDS = frozenset("An As At Be By Do Go Id If In Is It Me My No Of Ok On Or So To Up We".split())
_ENTITY = re.compile(r"&#?\w+;")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character over the value's own characters."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values()) if n else 0.0


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def looks_random(value: str, min_entropy: float, quoted: bool = True, short_share: float = 0.8) -> bool:
    """A value that reads like a generated secret, not a word, identifier, path, placeholder or number.

    A short value cannot reach a high entropy per character (8 characters: at most 3 bits), so a value below
    2 ** (min_entropy / short_share) characters needs only `short_share` of the maximum for its length."""
    if not 8 <= len(value) <= 1000 or not value.isascii() or not value.isprintable() or " " in value:
        return False
    if value.isdigit() or len(set(value)) <= 3 or "://" in value or "\\" in value or _placeholder(value):
        return False
    if ("{" in value and "}" in value) or _ENTITY.search(value):
        return False
    if _DOTTED.fullmatch(value) or _FILE_NAME.search(value) or _is_path(value):
        return False
    if (_IDENTIFIER.fullmatch(value) and not set(value) <= _HEX) or (not quoted and _is_variable(value)):
        return False
    if not any(c.isdigit() or not (c.isalnum() or c in "_-.") for c in value):  # letters only: words, camelCase
        changes = sum(a.isupper() != b.isupper() for a, b in zip(value, value[1:]) if a.isalpha() and b.isalpha())
        vowels = sum(c in "aeiouAEIOU" for c in value)
        if len(value) < 10 or all(_name_like(p) for p in re.split(r"[_.-]", value) if p) or \
                (changes < len(value) * 0.35 and vowels >= len(value) * 0.2):
            return False  # random letters change case often and hold few vowels; names do neither
    return entropy(value) >= min(min_entropy, short_share * math.log2(len(value)))


def _name_like(part: str) -> bool:
    """A part of a name (`token2`, `isCompleteFix`, `HTTPServer`, `KEY`): words, not random letters (`XzVoHq`)."""
    core = part.rstrip("0123456789")
    if len(core) <= 1:
        return True
    chunks = _NAME_CHUNK.findall(core)
    return "".join(chunks) == core and all(
        c.islower() or (c.isupper() and len(c) <= 5) or len(c) >= 3 or c in _SHORT_WORDS for c in chunks) and \
        (len(chunks) < 3 or sum(len(c) for c in chunks) / len(chunks) >= 3)


def _is_variable(value: str) -> bool:
    """An unquoted value that names something: `@proxy_pass`, `!isDone`, `KEY$1`, `self.token2`, `n_pass_count`."""
    if not _VARIABLE.fullmatch(value):
        return False
    return all(_name_like(p) for p in re.split(r"[._$]", value.lstrip("@$&*:!~-")) if p)


def _is_path(value: str) -> bool:
    """`/var/run/app`, `./keys`, `/Users/maciej`: slashes between words (random base64 rarely has word parts)."""
    if not _PATH.fullmatch(value):
        return False
    return value.islower() or value.startswith(("./", "../", "~/")) or \
        all(_name_like(p) for p in re.split(r"[/._-]", value) if p)


def _placeholder(value: str) -> bool:
    """Template syntax, environment lookups, `$VAR`, and words people put where a secret goes (`changeme`)."""
    return bool(_PLACEHOLDER.search(value)) or (value.startswith("$") and _is_variable(value))


# ---- passwords in URLs, private keys ----------------------------------------------------------------------------
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
                or _placeholder(password) or _DOC_DOMAIN.fullmatch(host):
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
    "ip": r"\.\d{1,3}\.\d{1,3}\.\d{1,3}|" + _IPV6_HINT.pattern,
    "token": "|".join(re.escape(h) for h in _TOKEN_HINTS),
    "assignment": rf"(?i:{_KEYWORDS})[A-Za-z0-9_$.-]*[\"'`]?\]?[ \t]*(?:[=:!<>][=>-]?=?[ \t]*(?:[rbuRBUL@]{{0,2}}"
                  r"[\"'`]|[^\s\"'`,;&()\[\]{}<>|\\:]{8})|:[ \t]*[A-Za-z_][\w\[\].,| ]{0,40}?[ \t]*=)|#define[ \t]",
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
