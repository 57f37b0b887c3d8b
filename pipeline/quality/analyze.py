"""One file's code metrics from its tree-sitter tree: syntax, complexity, size, nesting, comments, naming, coupling.

Definitions (all per file):
- error_ratio: nodes inside ERROR subtrees plus MISSING nodes, over all nodes; syntax_ok: no such node.
- cc_mean / cc_max: cyclomatic complexity of each function, 1 + its decision points (branches, loops, cases,
  catches, ternaries, short-circuit operators) not inside a nested function; mean and max over functions.
- fn_mean_lines: mean lines per function; n_functions.
- max_nesting: deepest nesting of control structures (if, loops, switch/match, try, with).
- comment_ratio: non-blank lines that hold a comment (or a Python docstring), over non-blank lines.
- redundancy: share of substantial lines (8+ characters after stripping) repeating an earlier line of the file.
- naming_consistency: share of named functions whose name follows one of the language's conventions.
- n_imports, n_calls, external_call_frac: imports/includes, call sites, and the share of calls to names the file
  does not define.
- ident_mean_len: mean identifier length in bytes.
"""
from __future__ import annotations

import re
import time

from pipeline.quality import grammars
from pipeline.quality.specs import CAMEL, FALLBACK, PASCAL, SNAKE, SPECS

_CALLEE = re.compile(rb"([A-Za-z_$][A-Za-z0-9_$]*)\s*(?:!\s*)?(?:<[^()]*>\s*)?\(")
_FIRST_WORD = re.compile(rb"[A-Za-z_$][A-Za-z0-9_$]*")
_NAME_TYPES = ("identifier", "field_identifier", "simple_identifier", "name", "word", "property_identifier",
               "constant", "operator_name", "destructor_name")


class ParseBudgetExceeded(Exception):
    """Parsing took longer than quality.parse_budget_ms."""


def parse(source: bytes, grammar: str, budget_ms: float):
    """The tree of `source`; a progress callback cancels parsing past the time budget (grammar blow-ups)."""
    deadline = time.monotonic() + budget_ms / 1000.0

    def read(offset, _point):
        return source[offset:offset + 65536]

    def over_budget(_offset, _has_error):
        return time.monotonic() > deadline

    try:
        return grammars.parser(grammar).parse(read, progress_callback=over_budget)
    except ValueError:  # py-tree-sitter raises "Parsing failed" when the callback cancels
        raise ParseBudgetExceeded(f"parse stopped after quality.parse_budget_ms={budget_ms:g} ms") from None


def error_ratio(root, grammar: str) -> float:
    if not root.has_error:
        return 0.0
    from tree_sitter import QueryCursor

    caps = QueryCursor(grammars.error_query(grammar)).captures(root)
    inside, end = 0, -1
    for node in sorted(caps.get("error", []), key=lambda n: (n.start_byte, -n.end_byte)):
        if node.start_byte >= end:  # outermost ERROR nodes only; their subtrees include the inner ones
            inside += node.descendant_count
            end = node.end_byte
    return min(1.0, (inside + len(caps.get("missing", []))) / max(1, root.descendant_count))


def innermost_counts(spans: list[tuple[int, int]], points: list[int]) -> list[int]:
    """For each span (function), how many points fall in it and in no span nested inside it."""
    counts = [0] * len(spans)
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], -spans[i][1]))
    stack: list[int] = []
    j = 0
    for p in sorted(points):
        while j < len(order) and spans[order[j]][0] <= p:
            i = order[j]
            while stack and spans[stack[-1]][1] <= spans[i][0]:
                stack.pop()
            stack.append(i)
            j += 1
        while stack and spans[stack[-1]][1] <= p:
            stack.pop()
        if stack:
            counts[stack[-1]] += 1
    return counts


def max_depth(spans: list[tuple[int, int]]) -> int:
    """Deepest nesting among byte spans."""
    stack: list[int] = []
    deepest = 0
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        while stack and stack[-1] <= start:
            stack.pop()
        stack.append(end)
        deepest = max(deepest, len(stack))
    return deepest


def name_style(name: str) -> str | None:
    core = name.strip("_$")
    if not core or not core[0].isalpha():
        return None
    if "_" in core:
        return SNAKE if core == core.lower() else ("UPPER_CASE" if core == core.upper() else "mixed")
    if core == core.lower():
        return "lower"  # one lower-case word fits snake_case and camelCase alike
    if core == core.upper():
        return "UPPER_CASE" if len(core) > 1 else PASCAL
    return PASCAL if core[0].isupper() else CAMEL


def follows(style: str | None, allowed: tuple[str, ...]) -> bool:
    if style == "lower":
        return SNAKE in allowed or CAMEL in allowed
    return style in allowed


def function_name(node, source: bytes) -> str | None:
    """The declared name of a function node (C declarators are followed down to their identifier)."""
    current = node
    for _ in range(8):
        name = current.child_by_field_name("name")
        if name is not None and name.type in _NAME_TYPES:
            return source[name.start_byte:name.end_byte].decode("utf-8", "replace")
        nxt = current.child_by_field_name("declarator") if name is None else name
        if nxt is None:
            break
        if nxt.type in _NAME_TYPES:
            return source[nxt.start_byte:nxt.end_byte].decode("utf-8", "replace")
        current = nxt
    for child in node.named_children:  # grammars without a name field (Kotlin): the first simple name
        if child.type == "simple_identifier":
            return source[child.start_byte:child.end_byte].decode("utf-8", "replace")
    return None


def redundancy(text: str) -> float:
    lines = [s for s in (line.strip() for line in text.split("\n")) if len(s) >= 8]
    return (len(lines) - len(set(lines))) / len(lines) if lines else 0.0


def _callee(source: bytes, node) -> bytes | None:
    head = source[node.start_byte:min(node.end_byte, node.start_byte + 200)]
    m = _CALLEE.search(head)
    if m:
        return m.group(1)
    m = _FIRST_WORD.search(head)
    return m.group(0) if m else None


def measure_tree(root, source: bytes, text: str, lang: str) -> dict:
    """All metrics of one parsed file (see the module docstring)."""
    from tree_sitter import QueryCursor

    caps = QueryCursor(grammars.metrics_query(lang)).captures(root)
    fns = caps.get("fn", [])
    spans = [(n.start_byte, n.end_byte) for n in fns]
    cc = [1 + c for c in innermost_counts(spans, [n.start_byte for n in caps.get("dec", [])])]
    fn_lines = [n.end_point[0] - n.start_point[0] + 1 for n in fns]
    names = [nm for nm in (function_name(n, source) for n in fns) if nm]
    allowed = SPECS[lang].naming
    lines = text.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    commented = bytearray(len(lines) + 1)
    for n in caps.get("comment", []):
        commented[n.start_point[0]:n.end_point[0] + 1] = b"\x01" * (n.end_point[0] - n.start_point[0] + 1)
    calls = caps.get("call", [])
    defined = {nm.encode() for nm in names}
    callees = [_callee(source, n) for n in calls]
    idents = caps.get("ident", [])
    return {
        "n_functions": len(fns),
        "fn_mean_lines": sum(fn_lines) / len(fn_lines) if fn_lines else None,
        "cc_mean": sum(cc) / len(cc) if cc else None,
        "cc_max": max(cc) if cc else None,
        "max_nesting": max_depth([(n.start_byte, n.end_byte) for n in caps.get("nest", [])]),
        "comment_ratio": sum(commented[i] for i in nonblank) / len(nonblank) if nonblank else 0.0,
        "redundancy": redundancy(text),
        "naming_consistency": (sum(follows(name_style(nm), allowed) for nm in names) / len(names)) if names else None,
        "n_imports": len(caps.get("import", [])),
        "n_calls": len(calls),
        "external_call_frac": sum(c is not None and c not in defined for c in callees) / len(calls) if calls else None,
        "ident_mean_len": (sum(n.end_byte - n.start_byte for n in idents) / len(idents)) if idents else None,
    }


def analyze(text: str, lang: str, budget_ms: float) -> dict:
    """Parse (falling back to a related grammar when the first one stumbles) and measure one file.

    Raises ParseBudgetExceeded when parsing runs past the budget."""
    source = text.encode("utf-8")
    grammar = SPECS[lang].grammar
    tree = parse(source, grammar, budget_ms)
    ratio = error_ratio(tree.root_node, grammar)
    if ratio > 0 and lang in FALLBACK:
        alt = FALLBACK[lang]
        alt_tree = parse(source, SPECS[alt].grammar, budget_ms)
        alt_ratio = error_ratio(alt_tree.root_node, SPECS[alt].grammar)
        if alt_ratio < ratio:
            lang, grammar, tree, ratio = alt, SPECS[alt].grammar, alt_tree, alt_ratio
    out = measure_tree(tree.root_node, source, text, lang)
    out.update(syntax_ok=ratio == 0.0 and not tree.root_node.has_error, error_ratio=ratio, quality_grammar=grammar)
    return out
