"""Detox word lists and malicious-code patterns (loaded once per process) and the scans of one file's text.

Toxic words count only where people write prose in code: comments and string literals, found with tree-sitter
for the languages in pipeline.quality.specs.SPECS; in every other language (Markdown, Text, ...) the whole text is
prose. Identifiers are never scanned: `def shitty_hash()` is kept, as is `class` (the word, not "ass").
A file whose parse runs over the budget is scanned whole. Malicious patterns always run on the whole text.

English entries match whole words, case-insensitively; Chinese entries match as substrings. The syntax of the
list files is described at the top of lists/en.txt and lists/malicious.yaml.
"""
from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import yaml

from pipeline.quality import grammars
from pipeline.quality.analyze import ParseBudgetExceeded, parse
from pipeline.quality.specs import SPECS

TOXIC_FILES = {"toxic_en": "en.txt", "toxic_zh": "zh.txt"}
MALICIOUS_FILE = "malicious.yaml"
MALICIOUS_CATEGORIES = ("reverse_shell", "credential_stealer", "crypto_miner", "obfuscated_dropper")

# String literal node types per grammar (comments come from SPECS[lang].comments). Kinds a grammar lacks are skipped.
STRING_TYPES: dict[str, tuple[str, ...]] = {
    "python": ("string",),
    "java": ("string_literal",),
    "c": ("string_literal",),
    "cpp": ("string_literal", "raw_string_literal"),
    "csharp": ("string_literal", "verbatim_string_literal", "raw_string_literal", "interpolated_string_expression"),
    "go": ("interpreted_string_literal", "raw_string_literal"),
    "javascript": ("string", "template_string"),
    "typescript": ("string", "template_string"),
    "tsx": ("string", "template_string"),
    "rust": ("string_literal", "raw_string_literal"),
    "php": ("string", "encapsed_string", "heredoc", "nowdoc"),
    "ruby": ("string", "heredoc_body"),
    "kotlin": ("string_literal",),
    "scala": ("string", "interpolated_string_expression"),
    "bash": ("string", "raw_string", "ansi_c_string", "heredoc_body"),
    "lua": ("string",),
    "swift": ("line_string_literal", "multi_line_string_literal", "raw_string_literal"),
    "sql": ("literal",),
}

_HIDDEN = r"[aeiouy0-9*@#$!%]"  # what a `*` in a list entry stands for: one hidden vowel, digit or mask symbol
_MIN_NEEDLE = 3


class Rule(NamedTuple):
    name: str
    pattern: re.Pattern
    needles: tuple[tuple[str, ...], ...]  # any match holds one lower-case string of each group; (): always search


@dataclass(frozen=True)
class Lists:
    toxic: dict[str, re.Pattern | None]       # toxic_en (searched in lower-cased text) / toxic_zh -> one alternation
    malicious: dict[str, tuple[Rule, ...]]    # category -> its rules, in file order
    non_ascii: frozenset[str] = frozenset()   # toxic categories no ASCII-only text can match (never searched there)


def _local_dir(lists_dir: str) -> Path:
    path = Path(lists_dir.removeprefix("file://"))
    if not path.is_dir():
        raise ValueError(f"detox.lists_dir={lists_dir!r} is not a folder; set it to a local folder holding "
                         f"{', '.join(TOXIC_FILES.values())} or {MALICIOUS_FILE}, or leave it empty")
    if not any((path / name).is_file() for name in (*TOXIC_FILES.values(), MALICIOUS_FILE)):
        raise ValueError(f"detox.lists_dir={lists_dir!r} holds none of {', '.join(TOXIC_FILES.values())}, "
                         f"{MALICIOUS_FILE}")
    return path


def read_list_file(name: str, lists_dir: str = "") -> tuple[str, str]:
    """(text, where it came from): the file from `lists_dir` when it has one, else the built-in list. The built-in
    folder is read with importlib.resources, so it works from the zip that spark-submit ships."""
    if lists_dir:
        path = _local_dir(lists_dir) / name
        if path.is_file():
            return path.read_text(encoding="utf-8"), str(path)
    builtin = resources.files("pipeline.detox").joinpath("lists").joinpath(name)
    return builtin.read_text(encoding="utf-8"), f"pipeline/detox/lists/{name}"


def entries(text: str) -> list[str]:
    """Non-empty lines that are not `#` comments, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _en_word(word: str) -> str:
    out = []
    for i, ch in enumerate(word):
        if ch == "*":
            out.append(_HIDDEN)
        elif 0 < i < len(word) - 1 and ch.isalpha():
            out.append(f"[{re.escape(ch)}*]")  # a masked letter in the text: f*ck, sh*t
        else:
            out.append(re.escape(ch))
    return "".join(out)


def english_pattern(terms: list[str]) -> re.Pattern | None:
    """Whole words, for lower-cased text; longest entries first so `fucking` is reported rather than `fuck`.
    A look-ahead on the entries' first letters lets the regex engine skip ahead (about 8x faster than without)."""
    terms = sorted({t.lower() for t in terms}, key=lambda t: (-len(t), t))
    if not terms:
        return None
    alts = [r"\s+".join(_en_word(w) for w in term.split()) for term in terms]
    firsts = {t[0] for t in terms}
    head = "(?=[" + re.escape("".join(sorted(firsts))) + "])" if all(c.isalpha() for c in firsts) else ""
    return re.compile(head + r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)")


def chinese_pattern(terms: list[str]) -> re.Pattern | None:
    if not terms:
        return None
    alts = [re.escape(t) for t in sorted(set(terms), key=lambda t: (-len(t), t))]
    return re.compile("|".join(alts), re.IGNORECASE)


def needle_groups(pattern: str) -> tuple[tuple[str, ...], ...]:
    """Groups of literal strings (lower-cased, 3+ characters): every match of `pattern` contains one string of each
    group, so a cheap `in` test per group on the lower-cased text skips the regex in most files. Groups of few
    and long (likely rare) strings first; () when none is found. A literal run right before an alternation whose every
    branch opens with a literal joins them (`(?:exec|eval)` parses as `e` then `xec|val`: the group is exec, eval)."""
    from re import _constants as c
    from re import _parser

    def lead(seq) -> str:
        out = []
        for op, av in seq:
            if op is not c.LITERAL:
                break
            out.append(chr(av).lower())
        return "".join(out)

    def walk(seq) -> list[list[str]]:
        groups: list[list[str]] = []
        run: list[str] = []
        for op, av in seq:
            if op is c.LITERAL:
                run.append(chr(av).lower())
                continue
            before, run = "".join(run), []
            if op is c.BRANCH and before and all(leads := [lead(b) for b in av[1]]):
                groups.append([before + x for x in leads])
                continue
            groups.append([before])
            if op is c.SUBPATTERN:
                groups.extend(walk(av[-1]))
            elif op is c.BRANCH:
                alts = [walk(b) for b in av[1]]
                if all(alts):  # each branch's longest group: one of them is in any match
                    groups.append([x for a in alts for x in max(a, key=lambda g: min(map(len, g)))])
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
                groups.extend(walk(av[2]))
        groups.append(["".join(run)])
        return [g for g in groups if g and min(map(len, g)) >= _MIN_NEEDLE]

    try:
        found = walk(_parser.parse(pattern, re.IGNORECASE))
    except Exception:  # a private module: never let its changes break loading, only slow the scan
        return ()
    unique = dict.fromkeys(tuple(dict.fromkeys(g)) for g in found)
    return tuple(sorted(unique, key=lambda g: len(g) / min(map(len, g))))  # few scans, long (rare) needles first


def parse_malicious(text: str, where: str) -> dict[str, tuple[Rule, ...]]:
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping of category -> list of {{name, pattern}}")
    out = {}
    for category, items in data.items():
        if category not in MALICIOUS_CATEGORIES:
            raise ValueError(f"{where}: unknown category {category!r}; known: {', '.join(MALICIOUS_CATEGORIES)}")
        rules = []
        for i, item in enumerate(items or []):
            if not isinstance(item, dict) or not item.get("name") or not item.get("pattern"):
                raise ValueError(f"{where}: {category}[{i}] needs a `name` and a `pattern`")
            source = str(item["pattern"])
            try:
                rules.append(Rule(str(item["name"]), re.compile(source, re.IGNORECASE), needle_groups(source)))
            except re.error as e:
                raise ValueError(f"{where}: {category}/{item['name']}: bad regular expression: {e}") from None
        out[category] = tuple(rules)
    return out


@functools.lru_cache(maxsize=8)
def load_lists(lists_dir: str = "") -> Lists:
    """The lists of `lists_dir` (files it lacks come from the built-in folder), once per process."""
    en, _ = read_list_file(TOXIC_FILES["toxic_en"], lists_dir)
    zh, _ = read_list_file(TOXIC_FILES["toxic_zh"], lists_dir)
    mal, where = read_list_file(MALICIOUS_FILE, lists_dir)
    terms = {"toxic_en": entries(en), "toxic_zh": entries(zh)}
    return Lists({"toxic_en": english_pattern(terms["toxic_en"]), "toxic_zh": chinese_pattern(terms["toxic_zh"])},
                 parse_malicious(mal, where),
                 frozenset(name for name, words in terms.items() if words and all(map(_needs_non_ascii, words))))


def _needs_non_ascii(term: str) -> bool:
    """True when `term` has a character outside ASCII with no case (CJK): no ASCII text matches it, even ignoring
    case (a cased one may: the Kelvin sign matches `k`, the long s matches `s`)."""
    return any(ord(ch) > 127 and ch.lower() == ch.upper() == ch.casefold() == ch for ch in term)


def malicious_match(text: str, lists: Lists, categories, lower: str | None = None) -> tuple[str, str] | None:
    """(category, rule name) of the first malicious pattern found in the whole text (`lower`: text.lower())."""
    lower = text.lower() if lower is None else lower
    seen: dict[str, bool] = {}  # rules share needles: each is looked for once per file

    def holds(needle: str) -> bool:
        found = seen.get(needle)
        if found is None:
            found = seen[needle] = needle in lower
        return found

    for category in MALICIOUS_CATEGORIES:
        if category in categories:
            for rule in lists.malicious.get(category, ()):
                if all(any(map(holds, group)) for group in rule.needles) and rule.pattern.search(text):
                    return category, rule.name
    return None


@functools.lru_cache(maxsize=None)
def prose_query(lang: str):
    """`[(comment) (string) ...] @prose` for one language, compiled on first use in each process."""
    from tree_sitter import Query

    spec = SPECS[lang]
    language = grammars.language(spec.grammar)
    kinds = [k for k in dict.fromkeys(spec.comments + STRING_TYPES.get(spec.grammar, ()))
             if language.id_for_node_kind(k, True)]
    return Query(language, "[" + " ".join(f"({k})" for k in kinds) + "] @prose")


def prose_spans(source: bytes, lang: str, budget_ms: float) -> list[tuple[int, int]]:
    """Sorted, merged byte spans of the comments and string literals of `source`.

    Raises ParseBudgetExceeded when parsing runs past the budget."""
    from tree_sitter import QueryCursor

    tree = parse(source, SPECS[lang].grammar, budget_ms)
    nodes = QueryCursor(prose_query(lang)).captures(tree.root_node).get("prose", [])
    merged: list[tuple[int, int]] = []
    for start, end in sorted((n.start_byte, n.end_byte) for n in nodes):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _byte_offsets(text: str, positions: list[int]) -> list[int]:
    """UTF-8 byte offsets of ascending character offsets, in one pass over the text."""
    if text.isascii():
        return positions
    out, done_chars, done_bytes = [], 0, 0
    for p in positions:
        done_bytes += len(text[done_chars:p].encode("utf-8", "surrogatepass"))
        done_chars = p
        out.append(done_bytes)
    return out


def _masked_whole(word: str) -> bool:
    """`s**t`: every letter between the first and last masked, in lower case. In code that is arithmetic (s to the
    power t, in mpmath's docs), so such a word counts only in capitals (`F**K`) or with an inner letter showing."""
    return "*" in word and not any(ch.isalpha() for ch in word[1:-1]) and not word.isupper()


def toxic_matches(text: str, language: str | None, lists: Lists, categories, min_hits: int = 1,
                  budget_ms: float = 2000.0, lower: str | None = None) -> dict[str, list[str]]:
    """{category: matched words in order} for the toxic categories in `categories`, counting only words inside
    comments and strings when the language has a grammar. The whole text is searched first: a file without
    `min_hits` candidates in any category is never parsed."""
    lower = text.lower() if lower is None else lower
    if len(lower) != len(text):  # a few characters lower-case to two (U+0130): keep offsets, fold per character
        lower = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    found = {}
    ascii_only = text.isascii()
    for category, pattern in lists.toxic.items():
        if category in categories and pattern is not None and not (ascii_only and category in lists.non_ascii):
            hits = [(m.start(), m.end(), text[m.start():m.end()])
                    for m in pattern.finditer(lower if category == "toxic_en" else text)
                    if not _masked_whole(text[m.start():m.end()])]
            if len(hits) >= min_hits:
                found[category] = hits
    if not found or language not in SPECS:
        return {c: [w for _, _, w in hits] for c, hits in found.items()}
    source = text.encode("utf-8", "surrogatepass")
    try:
        spans = prose_spans(source, language, budget_ms)
    except ParseBudgetExceeded:  # too slow to parse: treat the whole file as prose
        return {c: [w for _, _, w in hits] for c, hits in found.items()}
    starts = [s for s, _ in spans]
    out = {}
    for category, hits in found.items():
        positions = sorted({p for s, e, _ in hits for p in (s, e)})
        byte_of = dict(zip(positions, _byte_offsets(text, positions)))
        kept = []
        for s, e, word in hits:
            i = bisect.bisect_right(starts, byte_of[s]) - 1
            if i >= 0 and spans[i][1] >= byte_of[e]:
                kept.append(word)
        if kept:
            out[category] = kept
    return out
