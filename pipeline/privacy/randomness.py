"""What makes a value a secret: entropy, and the words, identifiers, paths and placeholders that are not secrets."""
from __future__ import annotations

import math
import re
from collections import Counter

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


def mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def looks_random(value: str, min_entropy: float, quoted: bool = True, short_share: float = 0.8) -> bool:
    """A value that reads like a generated secret, not a word, identifier, path, placeholder or number.

    A short value cannot reach a high entropy per character (8 characters: at most 3 bits), so a value below
    2 ** (min_entropy / short_share) characters needs only `short_share` of the maximum for its length."""
    if not 8 <= len(value) <= 1000 or not value.isascii() or not value.isprintable() or " " in value:
        return False
    if value.isdigit() or len(set(value)) <= 3 or "://" in value or "\\" in value or is_placeholder(value):
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


def is_placeholder(value: str) -> bool:
    """Template syntax, environment lookups, `$VAR`, and words people put where a secret goes (`changeme`)."""
    return bool(_PLACEHOLDER.search(value)) or (value.startswith("$") and _is_variable(value))

