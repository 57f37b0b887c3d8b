"""One file's code metrics from its tree-sitter tree: syntax, complexity, size, nesting, comments, naming, coupling.

Definitions (all per file):
- error_ratio: nodes inside ERROR subtrees plus MISSING nodes, plus errors tree-sitter accepts silently (a stray
  Ruby `end`, a JavaScript `const` without a value; in Python, statements off their block's indentation, blocks
  with no statement and a `try` with no handler), over all nodes;
  syntax_ok: none of them.
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
from operator import attrgetter
from typing import NamedTuple

from pipeline.quality import grammars
from pipeline.quality.specs import CAMEL, PASCAL, SNAKE, SPECS, grammars_to_try

_WORD_BACKWARDS = re.compile(rb"[A-Za-z0-9_$]+")
_FIRST_WORD = re.compile(rb"[A-Za-z_$][A-Za-z0-9_$]*")
_NAME_TYPES = ("identifier", "field_identifier", "simple_identifier", "name", "word", "property_identifier",
               "constant", "operator_name", "destructor_name")


_START_BYTE, _END_BYTE = attrgetter("start_byte"), attrgetter("end_byte")  # summed over many nodes in C
_DOTTED = ("dot_index_expression", "method_index_expression")
_NAMED_BY_CHILD = ("function_declaration", "secondary_constructor", "create_function")


class ParseBudgetExceeded(Exception):
    """Parsing took longer than quality.parse_budget_ms."""


class Parsed(NamedTuple):
    """A file's winning parse, kept for the facts: its tree, the metrics-query captures, its bytes, the SPECS key."""
    tree: object
    captures: dict
    source: bytes
    spec_key: str


def parse(source: bytes, grammar: str, budget_ms: float, old_tree=None):
    """The tree of `source`; a progress callback cancels parsing past the time budget (grammar blow-ups).
    `old_tree`: the tree of an earlier text with `Tree.edit` told what changed; tree-sitter then reuses its
    unchanged subtrees and re-parses only around the edits (incremental parsing)."""
    deadline = time.monotonic() + budget_ms / 1000.0

    def read(offset, _point):
        return source[offset:offset + 65536]

    def over_budget(_offset, _has_error):
        return time.monotonic() > deadline

    parser = grammars.parser(grammar)
    try:
        if old_tree is None:  # py-tree-sitter takes no None for it
            return parser.parse(read, progress_callback=over_budget)
        return parser.parse(read, old_tree, progress_callback=over_budget)
    except ValueError:  # py-tree-sitter raises "Parsing failed" when the callback cancels
        parser.reset()  # or the next parse would resume this abandoned one
        raise ParseBudgetExceeded(f"parse stopped after quality.parse_budget_ms={budget_ms:g} ms") from None


def misindented(root, blocks) -> int:
    """Statements not at their block's column: errors CPython reports (IndentationError) that tree-sitter's
    Python grammar accepts silently. Comments and a second statement on the same line are exempt."""
    bad = 0
    for block in [root] + blocks:
        column, last_row = None, -1
        for stmt in block.named_children:
            if stmt.type == "comment" or stmt.start_point[0] == last_row:
                continue
            last_row = stmt.end_point[0]
            if column is None:
                column = 0 if block is root else stmt.start_point[1]
            if stmt.start_point[1] != column:
                bad += 1
    return bad


def empty_blocks(blocks) -> int:
    """Blocks with no statement (`if x:` then nothing, or only a comment): CPython's "expected an indented block",
    which tree-sitter's Python grammar parses as an empty block without an error or MISSING node (a file cut
    after a line ending in `:` looks like this)."""
    return sum(1 for block in blocks if all(stmt.type == "comment" for stmt in block.named_children))


_HANDLERS = ("except_clause", "except_group_clause", "finally_clause")


def unhandled_tries(blocks) -> int:
    """`try:` bodies with no except or finally clause after them (CPython: "expected 'except' or 'finally'
    block"); tree-sitter's Python grammar accepts them."""
    return sum(1 for block in blocks
               if block.parent is not None and block.parent.type == "try_statement"
               and block.parent.child_by_field_name("body") == block
               and not any(c.type in _HANDLERS for c in block.parent.named_children))


def error_ratio(root, caps: dict, offside: bool = False) -> float:
    """Share of nodes in ERROR subtrees, MISSING, or (offside languages) off their block's indentation, in an
    empty block or in a try with no handler."""
    blocks = caps.get("block", [])
    misplaced = misindented(root, blocks) + empty_blocks(blocks) + unhandled_tries(blocks) if offside else 0
    if not root.has_error and not misplaced and not caps.get("missing"):  # a grammar may add its own @missing
        return 0.0
    inside, end = 0, -1
    # outermost ERROR nodes only (their subtrees include the inner ones); of nested ones with the same span the
    # outer, which has more descendants, comes first whatever order the query captured them in
    for node in sorted(caps.get("error", []), key=lambda n: (n.start_byte, -n.end_byte, -n.descendant_count)):
        if node.start_byte >= end:
            inside += node.descendant_count
            end = node.end_byte
    return min(1.0, (inside + len(caps.get("missing", [])) + misplaced) / max(1, root.descendant_count))


def last_row(node) -> int:
    """The last line a node covers: a node ending at column 0 (a Rust `///` comment takes its newline) ends on
    the line before."""
    row, col = node.end_point
    return row - 1 if col == 0 and row > node.start_point[0] else row


def is_else_if(node) -> bool:
    """`else if`: an if inside an else branch continues its chain rather than nesting deeper."""
    parent = node.parent
    if parent is None:
        return False
    if parent.type in ("else_clause", "else"):
        return True
    alternative = parent.child_by_field_name("alternative")
    if alternative is not None and alternative.id == node.id:
        return True
    prev = node.prev_sibling  # Swift: (if_statement ... (else) (if_statement))
    return prev is not None and prev.type == "else"


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
        if name is not None and name.type in _DOTTED:  # Lua `function M.f()`, `function M:g()`
            name = name.child_by_field_name("field") or name.child_by_field_name("method")
        if name is not None and name.type in _NAME_TYPES:
            return source[name.start_byte:name.end_byte].decode("utf-8", "replace")
        nxt = current.child_by_field_name("declarator") if name is None else name
        if nxt is None:
            break
        if nxt.type in _NAME_TYPES:
            return source[nxt.start_byte:nxt.end_byte].decode("utf-8", "replace")
        current = nxt
    for child in node.named_children:  # grammars without a name field: Kotlin's first simple name, SQL's object
        if child.type == "object_reference":
            child = child.child_by_field_name("name") or child
        if child.type in ("simple_identifier", "identifier") and node.type in _NAMED_BY_CHILD:
            return source[child.start_byte:child.end_byte].decode("utf-8", "replace")
    return None


def redundancy(stripped: list[str]) -> float:
    """Share of substantial lines (8+ characters, already stripped) that repeat an earlier line."""
    lines = [line for line in stripped if len(line) >= 8]
    return (len(lines) - len(set(lines))) / len(lines) if lines else 0.0


def _callee(source: bytes, node) -> bytes | None:
    """The called name: the identifier right before the first '(' (`obj.method(` -> method), else the first word;
    both looked for in the call's first 120 bytes."""
    start = node.start_byte
    stop = min(node.end_byte, start + 120)
    cut = source.find(b"(", start, stop)
    seg = source[start:cut].rstrip(b" \t\n!") if cut > start else b""
    if seg.endswith(b">") and b"<" in seg:  # generic arguments: Foo::bar<int>(
        seg = seg[:seg.rfind(b"<")].rstrip()
    m = _WORD_BACKWARDS.match(seg[::-1]) if seg else None
    if m:
        return m.group(0)[::-1]
    m = _FIRST_WORD.search(source, start, stop)
    return m.group(0) if m else None


def complexities(caps: dict) -> list[int]:
    """Cyclomatic complexity of each captured function, in capture order."""
    spans = [(n.start_byte, n.end_byte) for n in caps.get("fn", [])]
    return [1 + c for c in innermost_counts(spans, [n.start_byte for n in caps.get("dec", [])])]


def captures(root, lang: str) -> dict:
    from tree_sitter import QueryCursor

    return QueryCursor(grammars.metrics_query(lang)).captures(root)


def function_complexities(text: str, lang: str, budget_ms: float = 5000.0) -> list[tuple[str | None, int, int, int]]:
    """(name, first line, last line, cyclomatic complexity) per function, lines 1-based: for validation."""
    source = text.encode("utf-8")
    caps = captures(parse(source, SPECS[lang].grammar, budget_ms).root_node, lang)
    return [(function_name(n, source), n.start_point[0] + 1, n.end_point[0] + 1, cc)
            for n, cc in zip(caps.get("fn", []), complexities(caps))]


def measure_tree(caps: dict, source: bytes, text: str, lang: str) -> dict:
    """All metrics of one parsed file from its query captures (see the module docstring)."""
    fns = caps.get("fn", [])
    cc = complexities(caps)
    fn_lines = [n.end_point[0] - n.start_point[0] + 1 for n in fns]
    names = [nm for nm in (function_name(n, source) for n in fns) if nm]
    allowed = SPECS[lang].naming
    stripped = list(map(str.strip, text.split("\n")))
    n_nonblank = len(stripped) - stripped.count("")
    comment_rows = set()
    for n in caps.get("comment", []):
        comment_rows.update(range(n.start_point[0], last_row(n) + 1))
    calls = caps.get("call", [])
    defined = {nm.encode() for nm in names}
    callees = [_callee(source, n) for n in calls]
    idents = caps.get("ident", [])
    return {
        "n_functions": len(fns),
        "fn_mean_lines": sum(fn_lines) / len(fn_lines) if fn_lines else None,
        "cc_mean": sum(cc) / len(cc) if cc else None,
        "cc_max": max(cc) if cc else None,
        "max_nesting": max_depth([(n.start_byte, n.end_byte) for n in caps.get("nest", []) if not is_else_if(n)]),
        "comment_ratio": sum(map(bool, map(stripped.__getitem__, comment_rows))) / n_nonblank if n_nonblank
        else 0.0,
        "redundancy": redundancy(stripped),
        "naming_consistency": (sum(follows(name_style(nm), allowed) for nm in names) / len(names)) if names else None,
        "n_imports": len(caps.get("import", [])),
        "n_calls": len(calls),
        "external_call_frac": sum(c is not None and c not in defined for c in callees) / len(calls) if calls else None,
        "ident_mean_len": ((sum(map(_END_BYTE, idents)) - sum(map(_START_BYTE, idents))) / len(idents)) if idents
        else None,
    }


def analyze(text: str, lang: str, budget_ms: float, tolerated_errors: float = 0.0, path: str | None = None,
            keep_tree: bool = False) -> dict:
    """Parse and measure one file with the grammars `grammars_to_try` gives (its language's, or the dialect its
    `path` and lines show: TSX for a .tsx file, C++ for a C file with a line only C++ has). Where it gives two and
    the first one's error ratio is above `tolerated_errors`, the second gets a try and the grammar with fewer errors
    wins (the first on a tie). With `keep_tree`, the winning grammar's parse (the one whose name `quality_grammar`
    records) comes back under "parsed" (`Parsed`), for the facts.

    Raises ParseBudgetExceeded when parsing runs past the budget."""
    source = text.encode("utf-8")
    order = grammars_to_try(lang, path, source)
    lang = order[0]
    tree = parse(source, SPECS[lang].grammar, budget_ms)
    caps = captures(tree.root_node, lang)
    ratio = error_ratio(tree.root_node, caps, SPECS[lang].offside)
    if ratio > tolerated_errors and len(order) > 1:
        alt = order[1]
        alt_tree = parse(source, SPECS[alt].grammar, budget_ms)
        alt_caps = captures(alt_tree.root_node, alt)
        alt_ratio = error_ratio(alt_tree.root_node, alt_caps, SPECS[alt].offside)
        if alt_ratio < ratio:
            lang, tree, caps, ratio = alt, alt_tree, alt_caps, alt_ratio
    out = measure_tree(caps, source, text, lang)
    out.update(syntax_ok=ratio == 0.0, error_ratio=ratio, quality_grammar=SPECS[lang].grammar)
    if keep_tree:
        out["parsed"] = Parsed(tree, caps, source, lang)
    return out
