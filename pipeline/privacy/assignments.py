"""Random-looking values assigned to telling names (`api_key = "..."`, `<password>...</password>`, `#define`)."""
from __future__ import annotations

import functools
import re

from pipeline.privacy.randomness import looks_random, mixed
from pipeline.privacy.spans import KEY, PASSWORD, Span

KEYWORDS = "pass|pwd|secret|token|key|credential|contrase|authorization"
_PEEK = r"""["'`]?\]?[ \t]*[=:!<>]"""  # something is assigned or compared: `=`, `:`, `=>`, `==`, `!=`, `<-`, `>`
# ... or the name and its value are two strings: `define('API_KEY', 'v')`, `props.put("password", "v")`, and
# .NET's `<add key="ApiKey" value="v" />`
_PAIR_PEEK = r"""["'][ \t]*,[ \t]*["']|"[ \t]+value=\""""
_PAIR = re.compile(r"""["'][ \t]*,[ \t]*(?=["'])|"[ \t]+value=(?=")""")  # up to the value's opening quote
_NAME_HINT = re.compile(rf"(?:{KEYWORDS})[a-z0-9_$.-]*(?={_PEEK}|{_PAIR_PEEK})")  # over lower-cased text
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
    license subscription admin storage""".split())


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
                (not _weak_name(name) or (len(secret) >= 16 and mixed(secret) and ":" not in secret)):
            spans.append(Span(value[0], value[1], kind))
    return spans


def _value_after(text: str, name_start: int, name_end: int, define: bool) -> tuple[int, int, bool] | None:
    """(start, end, quoted) of the value assigned to the name ending at name_end, or None."""
    if text.startswith(">", name_end) and name_start and text[name_start - 1] == "<":  # <password>v</password>
        close = text.find("<", name_end + 1)
        return (name_end + 1, close, True) if close > 0 and "\n" not in text[name_end:close] else None
    pair = None if define else _PAIR.match(text, name_end)
    op = pair or (_DEFINE if define else _OPERATOR).match(text, name_end)
    if not op:
        return None
    pos = op.end()
    quote = _STRING_PREFIX.match(text, pos)
    if quote:
        q = quote.group(1)
        begin = quote.end()
        if not define and not pair and not op.group(1) and name_start and text[name_start - 1] == q \
                and quote.start() == pos:
            return None  # `'access_token=' + x`: the string that holds the name ends at the operator
        if text.startswith(q * 2, begin):  # a triple-quoted string: prose, not a value
            return None
        line_end = text.find("\n", begin)
        close = text.find(q, begin, line_end if line_end >= 0 else len(text))
        if close < 0:
            return None
        return begin + _auth_scheme(text, begin), close, True
    value = _UNQUOTED.match(text, pos + _auth_scheme(text, pos))  # `Authorization: Bearer v` in a header line
    after = text[value.end():value.end() + 1] if value else ""
    if not value or (after and after in "([.{") or (after == ">" and value.group().endswith("-")):
        return None  # a call, an index, an attribute, PHP's `$obj->`
    return value.start(), value.end(), False


_AUTH_SCHEME = re.compile(r"(?i)(?:bearer|basic|token)[ \t]+")


def _auth_scheme(text: str, pos: int) -> int:
    """Characters to skip over an HTTP auth scheme (`Bearer `, `Basic `, `token `) at pos."""
    m = _AUTH_SCHEME.match(text, pos)
    return m.end() - pos if m else 0

