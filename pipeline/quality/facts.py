"""The facts later stages need from a file's tree, taken in the quality parse so that segments and sft parse nothing.

The facts are the segment hashes of every function and class (segments filters them by length) and the documented
functions before the sft rules, taken from the tree of the grammar quality chose (`quality_grammar`: C++ for a C
header that parses better as C++, TSX for TypeScript with JSX). They describe the content that was parsed:
`facts_sha256` is that content's sha256, and a stage uses them only while the row's content_sha256 still equals
it. Where privacy will replace a secret in a kept file, quality takes the facts of the rewritten content instead:
in a row pass privacy works out its replacements ahead (`PrivacyScrubber.rewrite_ahead`), the quality tree is told
where the text changes and tree-sitter re-parses only around those edits (`facts_after_edits`). Run stage by stage,
privacy parses the rewritten content once with the same grammar (`facts_of`). A row whose new parse ran past the
budget, and tables written before the facts existed, are parsed again by segments and sft, with the row's
quality_grammar where it has one.
"""
from __future__ import annotations

import hashlib

from pipeline.dedup.segments import segments, segments_of_tree
from pipeline.quality.analyze import ParseBudgetExceeded, Parsed, captures, parse
from pipeline.quality.edits import edit_tree
from pipeline.quality.specs import SPECS, parse_language
from pipeline.sft.extract import Candidate, candidates_of_tree, extract

FACT_COLUMNS = ("facts_sha256", "segment_facts", "sft_candidates")


def facts_of_tree(root, caps: dict, source: bytes, language: str) -> dict:
    """The PARSE_FACTS columns of one file, from its tree and its captures; `language` is the SPECS key of the
    grammar that parsed it."""
    return {
        "facts_sha256": hashlib.sha256(source).hexdigest(),
        "segment_facts": [{"seg_hash": h, "start_line": a, "end_line": b}
                          for h, a, b in sorted(segments_of_tree(root, caps, source, language, 1),
                                                key=lambda s: (s[1], s[2], s[0]))],  # capture order varies
        "sft_candidates": [c._asdict() for c in candidates_of_tree(caps, source, language)],
    }


def facts_of(text: str, language: str, budget_ms: float, grammar: str | None = None) -> dict | None:
    """The PARSE_FACTS columns of a file parsed on its own, with `grammar` (its quality_grammar) when given, else
    its language's; None for a language without a grammar or a parse that runs past the budget."""
    key = parse_language(language, grammar)
    spec = SPECS.get(key)
    if spec is None:
        return None
    source = text.encode("utf-8")
    try:
        root = parse(source, spec.grammar, budget_ms).root_node
    except ParseBudgetExceeded:
        return None
    return facts_of_tree(root, captures(root, key), source, key)


def facts_after_edits(parsed: Parsed, text: str, new_text: str, replacements: list[tuple[int, int, str]],
                      budget_ms: float) -> dict:
    """The PARSE_FACTS columns of `new_text`, which is `text` (the parsed file) with each (start, end, new) character
    span replaced, from an incremental re-parse of `text`'s tree (changed in place). Raises ParseBudgetExceeded."""
    edit_tree(parsed.tree, text, parsed.source, replacements)
    source = new_text.encode("utf-8")
    root = parse(source, SPECS[parsed.spec_key].grammar, budget_ms, parsed.tree).root_node
    return facts_of_tree(root, captures(root, parsed.spec_key), source, parsed.spec_key)


def usable(row: dict) -> bool:
    """The row carries facts taken from the content it holds now."""
    sha = row.get("facts_sha256")
    return sha is not None and sha == row.get("content_sha256")


def row_segments(row: dict, min_lines: int, budget_ms: float) -> list[tuple[int, int, int]]:
    """(hash, first line, last line) of the row's segments of at least min_lines lines, as segments() gives them."""
    if usable(row):
        return [(s["seg_hash"], s["start_line"], s["end_line"]) for s in row["segment_facts"]
                if s["end_line"] - s["start_line"] + 1 >= min_lines]
    return segments(row["content"], parse_language(row["language"], row.get("quality_grammar")), min_lines,
                    budget_ms)


def row_candidates(row: dict, budget_ms: float) -> list[Candidate]:
    """The row's documented functions, as extract() gives them."""
    if usable(row):
        return [Candidate(**c) for c in row["sft_candidates"]]
    return extract(row["content"], parse_language(row["language"], row.get("quality_grammar")), budget_ms)
