"""Functions with their documentation comments, found with tree-sitter (docstrings, Javadoc/JSDoc, ///, // above)."""
from __future__ import annotations

import bisect
import inspect
import re
import textwrap
from typing import NamedTuple

from pipeline.quality.analyze import captures, function_name, last_row, parse
from pipeline.quality.specs import SPECS

# nodes that may stand between a doc comment and its function
_BETWEEN = {"attribute_item", "decorator", "annotation", "marker_annotation", "attribute_list"}
# nodes that wrap a function without changing what documents it
_WRAPPERS = {"statement", "export_statement", "template_declaration", "decorated_definition", "variable_declarator",
             "lexical_declaration", "variable_declaration", "field_definition", "public_field_definition"}
_HEADERS = {"package_header", "import_list"}
_DECLARATIONS = {"variable_declarator", "lexical_declaration", "variable_declaration"}
_ANONYMOUS = {"arrow_function", "function_expression", "func_literal", "closure_expression", "lambda_expression",
              "lambda_literal", "anonymous_function"}


class Candidate(NamedTuple):
    name: str
    code: str               # the function's text (a Python docstring removed)
    comment: str            # the documentation, markers stripped
    comment_style: str      # docstring | block_doc | line_doc | above
    start_line: int         # 1-based
    end_line: int
    n_lines: int
    effective_lines: int    # lines that are neither blank nor comment


def _text(source: bytes, node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


_MARKER = re.compile(r"^\s*(///?!?|#+|--+|\*(?!/))\s?")  # a comment line's marker, at its start
_XML_PARAM = re.compile(r'<(param|typeparam)\s+name="([^"]*)"\s*>(.*?)</\1>', re.S)
_XML_RETURNS = re.compile(r"<returns>(.*?)</returns>", re.S)
_XML_TAG = re.compile(r"</?(summary|remarks|para|c|code|example|value|see[^>]*|exception[^>]*)\s*/?>")


def clean_comment(raw: str) -> str:
    """Documentation text without comment markers (/** */, leading *, ///, //, #, --, quotes, C# XML tags)."""
    text = raw.strip()
    for opener, closer in (('"""', '"""'), ("'''", "'''"), ("--[[", "]]"), ("/**", "*/"), ("/*", "*/")):
        if text.startswith(opener) and text.endswith(closer) and len(text) >= len(opener) + len(closer):
            text = text[len(opener):len(text) - len(closer)]
            break
    text = inspect.cleandoc("\n".join(_MARKER.sub("", line).rstrip() for line in text.split("\n")))
    if "<" in text:  # C# XML documentation
        text = _XML_PARAM.sub(lambda m: f"@{m.group(1)} {m.group(2)} {m.group(3).strip()}", text)
        text = _XML_RETURNS.sub(lambda m: f"@return {m.group(1).strip()}", text)
        text = _XML_TAG.sub("", text)
    return inspect.cleandoc(text)


def _doc_above(node, source: bytes, spec, comment_types) -> str | None:
    """Comment nodes directly above `node` (or above the wrapper that holds it), adjacent line by line."""
    target = node
    while target.parent is not None and target.parent.type in _WRAPPERS:
        target = target.parent
    found = []
    line = target.start_point[0]
    sib = target.prev_named_sibling
    while sib is not None and sib.type in _BETWEEN:
        line = sib.start_point[0]
        sib = sib.prev_named_sibling
    if sib is not None and sib.type in _HEADERS and sib.named_child_count:
        sib = sib.named_children[-1]  # Kotlin files the comment after `package`/imports inside that header
    while sib is not None and sib.type in comment_types and last_row(sib) >= line - 1 \
            and not _text(source, sib).startswith("#!"):  # a shebang is not documentation
        found.append(sib)
        line = sib.start_point[0]
        sib = sib.prev_named_sibling
    if not found:
        return None
    found.reverse()
    raw = [_text(source, c).rstrip() for c in found]
    if spec.doc == "block_doc":
        raw = raw[-1:] if raw[-1].lstrip().startswith("/**") else []
    elif spec.doc == "line_doc":
        raw = [r for r in raw if r.lstrip().startswith(spec.doc_prefix)]  # plain // lines are not documentation
    return "\n".join(raw) if raw else None


def _indent_of_line(source: bytes, offset: int) -> str:
    """The whitespace that starts the line `offset` is on (`export ` before a function is not indentation)."""
    line = source[source.rfind(b"\n", 0, offset) + 1:offset].decode("utf-8", "replace")
    return line[: len(line) - len(line.lstrip())]


def _docstring(node, source: bytes):
    body = node.child_by_field_name("body")
    first = body.named_children[0] if body is not None and body.named_child_count else None
    if first is not None and first.type == "string":
        return first
    return None


def _name(node, source: bytes) -> str | None:
    name = function_name(node, source)
    if name is None and node.type in _ANONYMOUS and node.parent is not None:
        holder = node.parent.child_by_field_name("name")  # const f = () => ...
        if holder is not None:
            name = _text(source, holder)
    return name


def extract(text: str, language: str, budget_ms: float = 2000.0) -> list[Candidate]:
    """Every named function of `text` that carries documentation, as a candidate pair (nothing filtered yet)."""
    spec = SPECS.get(language)
    if spec is None:
        return []
    source = text.encode("utf-8")
    root = parse(source, spec.grammar, budget_ms).root_node
    return candidates_of_tree(captures(root, language), source, language)


def candidates_of_tree(caps: dict, source: bytes, language: str) -> list[Candidate]:
    """extract() from the metrics-query captures of a tree (`language`: the SPECS key of its grammar)."""
    spec = SPECS[language]
    comment_rows = sorted((c.start_point[0], last_row(c), c.start_byte) for c in caps.get("comment", []))
    comment_types = set(spec.comments)
    out = []
    for fn in sorted(caps.get("fn", []), key=lambda n: n.start_byte):
        name = _name(fn, source)
        if not name:
            continue
        skip = None
        if spec.doc == "docstring":
            doc = _docstring(fn, source)
            raw, skip = (_text(source, doc), doc) if doc is not None else (None, None)
        else:
            raw = _doc_above(fn, source, spec, comment_types)
        if raw is None:
            continue
        start, end = fn.start_point[0], fn.end_point[0]
        holder = fn
        if skip is not None:  # the code of a Python pair leaves its docstring out (it is the answer)
            code_bytes = source[fn.start_byte:skip.start_byte].rstrip(b" \t") + source[skip.end_byte:fn.end_byte]
            code = re.sub(r"\n\s*\n", "\n", code_bytes.decode("utf-8", "replace"), count=1)
        else:
            while fn.type in _ANONYMOUS and holder.parent is not None and holder.parent.type in _DECLARATIONS:
                holder = holder.parent  # `const f = () => ...` is code with its name
            code = _text(source, holder)
            start = holder.start_point[0]
        code = textwrap.dedent(_indent_of_line(source, holder.start_byte) + code)
        commented = set()
        for first, last, at in comment_rows[bisect.bisect_left(comment_rows, (start,)):]:
            if first > end:
                break
            if last <= end and (skip is None or at != skip.start_byte):
                commented.update(range(first, last + 1))
        code_lines = code.split("\n")
        n_lines = len(code_lines)
        blank = sum(1 for line in code_lines if not line.strip())
        effective = max(0, n_lines - blank - len(commented))
        out.append(Candidate(name, code, clean_comment(raw), spec.doc, start + 1, end + 1, n_lines, effective))
    return out
