"""A function's head (decorators, name, parameters, return type: everything before its body), found by tree-sitter."""
from __future__ import annotations

from schemas.chatml import head_line

# body nodes of grammars that give the body no `body` field (Kotlin)
_BODIES = {"function_body", "block", "compound_statement", "statement_block"}


def _body(fn):
    body = fn.child_by_field_name("body")
    if body is not None:
        return body
    return next((c for c in fn.named_children if c.type in _BODIES), None)


def signature(code: str, language: str, budget_ms: float = 200.0) -> str:
    """The text of `code` before the body of its first function (trailing blanks cut); the first line without a
    trailing `{` when the language has no grammar here, nothing parses as a function, or parsing runs past the
    budget. Python pairs carry no docstring, so their head is the `def` line(s) with any decorators."""
    from pipeline.quality.specs import SPECS

    spec = SPECS.get(language)
    if spec is None or not code.strip():
        return head_line(code)
    from tree_sitter import QueryCursor

    from pipeline.quality import grammars
    from pipeline.quality.analyze import ParseBudgetExceeded, parse

    source = code.encode("utf-8", "surrogatepass")
    try:
        tree = parse(source, spec.grammar, budget_ms)
    except ParseBudgetExceeded:
        return head_line(code)
    fns = QueryCursor(grammars.metrics_query(language)).captures(tree.root_node).get("fn", [])
    for fn in sorted(fns, key=lambda n: n.start_byte):
        body = _body(fn)
        if body is not None and body.start_byte > 0:
            head = source[:body.start_byte].decode("utf-8", "replace").rstrip()
            if head.strip():
                return head
    return head_line(code)
