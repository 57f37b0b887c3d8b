"""Parsers and compiled queries, built lazily once per worker process (never at import, never pickled)."""
from __future__ import annotations

import functools

from pipeline.quality.specs import CLASSES, SPECS, Spec

CAPTURES = ("fn", "dec", "nest", "comment", "import", "call", "ident", "error", "missing", "block",
            "class")


def _alternation(kinds: tuple[str, ...]) -> str:
    """`[(a) (b) "&&"]`: named kinds in parentheses, quoted anonymous tokens as they are."""
    return "[" + " ".join(k if k.startswith('"') else f"({k})" for k in kinds) + "]"


def query_source(spec: Spec) -> str:
    groups = {"fn": spec.functions, "dec": spec.decisions, "nest": spec.nesting, "comment": spec.comments,
              "import": spec.imports, "call": spec.calls, "ident": spec.identifiers}
    parts = [f"{_alternation(kinds)} @{name}" for name, kinds in groups.items() if kinds]
    parts += ["(ERROR) @error", "(MISSING) @missing"]  # one walk of the tree finds the syntax errors too
    if spec.offside:
        parts.append("(block) @block")
    if spec.grammar in CLASSES:
        parts.append(f"{_alternation(CLASSES[spec.grammar])} @class")
    return "\n".join(parts + list(spec.extra_queries))


@functools.lru_cache(maxsize=None)
def language(grammar: str):
    from tree_sitter_language_pack import get_language

    return get_language(grammar)


@functools.lru_cache(maxsize=None)
def parser(grammar: str):
    from tree_sitter import Parser

    return Parser(language(grammar))


@functools.lru_cache(maxsize=None)
def metrics_query(lang_name: str):
    from tree_sitter import Query

    spec = SPECS[lang_name]
    return Query(language(spec.grammar), query_source(spec))
