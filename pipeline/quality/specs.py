"""Per-language tree-sitter node types: what counts as a function, a decision, nesting, a comment, an import, a call."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

SNAKE, CAMEL, PASCAL = "snake_case", "camelCase", "PascalCase"


@dataclass(frozen=True)
class Spec:
    grammar: str                 # name in tree-sitter-language-pack
    functions: tuple[str, ...]   # nodes whose body is one function (cyclomatic complexity is per function)
    decisions: tuple[str, ...]   # branch points; quoted entries are anonymous tokens such as "&&"
    nesting: tuple[str, ...]     # control structures whose nesting depth is measured
    comments: tuple[str, ...]
    imports: tuple[str, ...]
    calls: tuple[str, ...]
    identifiers: tuple[str, ...]
    naming: tuple[str, ...]      # conventions a function name may follow in this language
    doc: str                     # how documentation attaches: docstring | block_doc | line_doc | above
    doc_prefix: str = ""         # for line_doc: the marker of a documentation line (`///`)
    extra_queries: tuple[str, ...] = field(default=())  # raw patterns (e.g. Python docstrings as @comment)
    offside: bool = False        # indentation is syntax: statements of a block must share one column


C_DECISIONS = ("if_statement", "for_statement", "while_statement", "do_statement", "case_statement",
               "conditional_expression", '"&&"', '"||"')
C_NESTING = ("if_statement", "for_statement", "while_statement", "do_statement", "switch_statement")

SPECS: dict[str, Spec] = {
    "Python": Spec(
        "python", ("function_definition",),
        ("if_statement", "elif_clause", "for_statement", "while_statement", "except_clause", "conditional_expression",
         "for_in_clause", "if_clause", "case_clause", '"and"', '"or"'),
        ("if_statement", "for_statement", "while_statement", "try_statement", "with_statement", "match_statement"),
        ("comment",), ("import_statement", "import_from_statement", "future_import_statement"), ("call",),
        ("identifier",), (SNAKE,), "docstring",
        extra_queries=(
            "(module . (string) @comment)",
            "(function_definition body: (block . (string) @comment))",
            "(class_definition body: (block . (string) @comment))",
        ), offside=True),
    "Java": Spec(
        "java", ("method_declaration", "constructor_declaration", "compact_constructor_declaration"),
        ("if_statement", "for_statement", "enhanced_for_statement", "while_statement", "do_statement", "catch_clause",
         "ternary_expression", "switch_label", '"&&"', '"||"'),
        ("if_statement", "for_statement", "enhanced_for_statement", "while_statement", "do_statement",
         "switch_expression", "try_statement", "try_with_resources_statement"),
        ("line_comment", "block_comment"), ("import_declaration",), ("method_invocation", "object_creation_expression"),
        ("identifier",), (CAMEL,), "block_doc"),
    "C": Spec(
        "c", ("function_definition",), C_DECISIONS, C_NESTING, ("comment",), ("preproc_include",),
        ("call_expression",), ("identifier", "field_identifier"), (SNAKE, CAMEL, PASCAL), "above"),
    "C++": Spec(
        "cpp", ("function_definition", "lambda_expression"),
        # "&&" is also the rvalue-reference declarator (T&& x): only the binary operators are decisions
        tuple(d for d in C_DECISIONS if not d.startswith('"')) + ("for_range_loop", "catch_clause"),
        C_NESTING + ("for_range_loop", "try_statement"),
        ("comment",), ("preproc_include", "using_declaration"), ("call_expression",),
        ("identifier", "field_identifier"), (SNAKE, CAMEL, PASCAL), "above",
        extra_queries=('(binary_expression operator: ["&&" "||"] @dec)',)),
    "C#": Spec(
        "csharp", ("method_declaration", "constructor_declaration", "local_function_statement", "operator_declaration",
                   "accessor_declaration"),
        ("if_statement", "for_statement", "foreach_statement", "while_statement", "do_statement", "catch_clause",
         "conditional_expression", "switch_section", "switch_expression_arm", '"&&"', '"||"', '"??"'),
        ("if_statement", "for_statement", "foreach_statement", "while_statement", "do_statement", "switch_statement",
         "try_statement", "using_statement"),
        ("comment",), ("using_directive",), ("invocation_expression", "object_creation_expression"), ("identifier",),
        (PASCAL,), "line_doc", "///"),
    "Go": Spec(
        "go", ("function_declaration", "method_declaration", "func_literal"),
        ("if_statement", "for_statement", "expression_case", "type_case", "communication_case", '"&&"', '"||"'),
        ("if_statement", "for_statement", "expression_switch_statement", "type_switch_statement", "select_statement"),
        ("comment",), ("import_spec",), ("call_expression",), ("identifier", "field_identifier"), (CAMEL, PASCAL),
        "above"),
    "JavaScript": Spec(
        "javascript", ("function_declaration", "function_expression", "arrow_function", "method_definition",
                       "generator_function", "generator_function_declaration"),
        ("if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement", "catch_clause",
         "ternary_expression", "switch_case", '"&&"', '"||"', '"??"'),
        ("if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement", "switch_statement",
         "try_statement"),
        ("comment",), ("import_statement",), ("call_expression", "new_expression"),
        ("identifier", "property_identifier"), (CAMEL, PASCAL), "block_doc",
        # `const x;` (a file cut after the name) is a syntax error the grammar accepts
        extra_queries=('(lexical_declaration kind: "const" (variable_declarator !value) @missing)',)),
    "Rust": Spec(
        "rust", ("function_item", "closure_expression"),
        ("if_expression", "for_expression", "while_expression", "loop_expression", "match_arm", '"&&"', '"||"',
         "try_expression"),  # the `?` operator (a bare "?" token also matches ?Sized bounds)
        ("if_expression", "for_expression", "while_expression", "loop_expression", "match_expression"),
        ("line_comment", "block_comment"), ("use_declaration", "extern_crate_declaration"),
        ("call_expression", "macro_invocation"), ("identifier", "field_identifier"), (SNAKE,), "line_doc", "///"),
    "PHP": Spec(
        "php", ("function_definition", "method_declaration", "anonymous_function", "arrow_function"),
        ("if_statement", "else_if_clause", "for_statement", "foreach_statement", "while_statement", "do_statement",
         "catch_clause", "conditional_expression", "case_statement", "match_conditional_expression", '"&&"', '"||"',
         '"and"', '"or"', '"??"'),
        ("if_statement", "for_statement", "foreach_statement", "while_statement", "do_statement", "switch_statement",
         "try_statement", "match_expression"),
        ("comment",), ("namespace_use_declaration", "include_expression", "include_once_expression",
                       "require_expression", "require_once_expression"),
        ("function_call_expression", "member_call_expression", "scoped_call_expression", "object_creation_expression"),
        ("name",), (CAMEL, SNAKE), "block_doc"),
    "Ruby": Spec(
        "ruby", ("method", "singleton_method"),
        ("if", "elsif", "unless", "while", "until", "for", "when", "rescue", "conditional", "if_modifier",
         "unless_modifier", "while_modifier", "until_modifier", '"&&"', '"||"', '"and"', '"or"'),
        ("if", "unless", "while", "until", "for", "case", "begin"),
        ("comment",), (), ("call",), ("identifier",), (SNAKE,), "above",
        # a stray `end` (its `def`/`if`/`do` line deleted) parses as a bare identifier statement, not an error:
        # count it with the MISSING nodes (`x.end`, `def end` and `end:` are other node kinds or fields)
        extra_queries=("([" + " ".join(f"({parent} (identifier) @missing)" for parent in (
            "program", "body_statement", "then", "else", "do", "begin", "ensure", "block_body",
            "parenthesized_statements")) + '] (#eq? @missing "end"))',)),
    "Kotlin": Spec(
        "kotlin", ("function_declaration", "anonymous_function", "secondary_constructor"),
        ("if_expression", "for_statement", "while_statement", "do_while_statement", "catch_block", "when_entry",
         "elvis_expression", '"&&"', '"||"'),
        ("if_expression", "for_statement", "while_statement", "do_while_statement", "when_expression",
         "try_expression"),
        ("line_comment", "multiline_comment"), ("import_header",), ("call_expression",), ("simple_identifier",),
        (CAMEL,), "block_doc"),
    "Scala": Spec(
        "scala", ("function_definition",),
        # no catch_clause: each handler is a case_clause of the catch block (counting both counted it twice)
        ("if_expression", "for_expression", "while_expression", "do_while_expression", "case_clause"),
        ("if_expression", "for_expression", "while_expression", "do_while_expression", "match_expression",
         "try_expression"),
        ("comment", "block_comment"), ("import_declaration",), ("call_expression",), ("identifier",), (CAMEL,),
        "block_doc",
        # && and || are operator_identifier nodes in Scala, not anonymous tokens
        extra_queries=('((infix_expression operator: (operator_identifier) @dec) (#any-of? @dec "&&" "||"))',)),
    "Shell": Spec(
        "bash", ("function_definition",),
        ("if_statement", "elif_clause", "for_statement", "c_style_for_statement", "while_statement", "case_item",
         '"&&"', '"||"'),
        ("if_statement", "for_statement", "c_style_for_statement", "while_statement", "case_statement"),
        ("comment",), (), ("command",), ("variable_name", "word"), (SNAKE,), "above"),
    "Lua": Spec(
        "lua", ("function_declaration", "function_definition"),
        ("if_statement", "elseif_statement", "for_statement", "while_statement", "repeat_statement", '"and"', '"or"'),
        ("if_statement", "for_statement", "while_statement", "repeat_statement", "do_statement"),
        ("comment",), (), ("function_call",), ("identifier",), (SNAKE, CAMEL), "above"),
    "Swift": Spec(
        "swift", ("function_declaration", "init_declaration", "lambda_literal"),
        ("if_statement", "guard_statement", "for_statement", "while_statement", "repeat_while_statement",
         "catch_block", "switch_entry", "ternary_expression", '"&&"', '"||"', '"??"'),
        ("if_statement", "guard_statement", "for_statement", "while_statement", "repeat_while_statement",
         "switch_statement", "do_statement"),
        ("comment", "multiline_comment"), ("import_declaration",), ("call_expression",), ("simple_identifier",),
        (CAMEL,), "line_doc", "///"),
    "SQL": Spec(
        "sql", ("create_function",),
        # when_clause is MERGE's WHEN [NOT] MATCHED; a CASE holds bare keyword_when children, one per branch
        ("when_clause", "keyword_and", "keyword_or"),
        ("subquery", "case"),
        ("comment", "marginalia"), (), ("invocation",), ("identifier",), (SNAKE,), "above",
        extra_queries=("(case (keyword_when) @dec)",)),
}

# same node types, typed dialect; `declare const x: T;` is valid TypeScript, so not JavaScript's const rule
SPECS["TypeScript"] = replace(SPECS["JavaScript"], grammar="typescript", extra_queries=())

# A related grammar for files whose dialect the language leaves open: a .h file is C++ as often as C. The grammar
# with fewer error nodes wins.
SPECS["TSX"] = replace(SPECS["TypeScript"], grammar="tsx")
FALLBACK = {"C": "C++", "TypeScript": "TSX"}
# A line only C++ has (a namespace, a template, an access label, a class with a body): a C file showing one is C++.
_CPP_LINE = re.compile(rb"^[ \t]*(?:namespace(?:\s+\w+(?:::\w+)*)?\s*\{|template\s*<|"
                       rb"(?:public|private|protected)\s*:(?!:)|using\s+namespace\s|class\s+\w+\s*(?::[^;{}]*)?\{)",
                       re.M)
_TS_EXTENSIONS = (".ts", ".mts", ".cts", ".tsx")


def grammars_to_try(language: str, path: str | None, source: bytes) -> tuple[str, ...]:
    """The SPECS keys quality parses a file with, in order; the second, where there is one, only when the first
    finds errors. TypeScript's dialect is its extension's, as for tsc (JSX only in .tsx): one grammar. A C file with
    a line only C++ has is C++ (C's grammar cannot parse that line), and C only where it guards C++ with
    `__cplusplus`; other C files try C, then C++ (tree-sitter-c stumbles on kernel macros that tree-sitter-cpp
    takes). A file without a path tries its language's grammar, then the related one."""
    lower = path.lower() if path is not None else None
    if language == "TypeScript" and lower is not None and lower.endswith(_TS_EXTENSIONS):
        return ("TSX",) if lower.endswith(".tsx") else ("TypeScript",)
    if language == "C" and _CPP_LINE.search(source):
        return ("C++", "C") if b"__cplusplus" in source else ("C++",)
    return (language, FALLBACK[language]) if language in FALLBACK else (language,)


# the SPECS key of each tree-sitter grammar (no grammar serves two keys): a row's quality_grammar back to its spec
SPEC_OF_GRAMMAR = {spec.grammar: name for name, spec in SPECS.items()}


def parse_language(language: str | None, grammar: str | None = None) -> str | None:
    """The SPECS key to parse a row with: that of the grammar quality chose for it (`quality_grammar`: a C header
    that C++ parsed better is C++), else its language's own."""
    return SPEC_OF_GRAMMAR.get(grammar, language)


# class-like nodes per grammar: with the functions they are segment dedup's segments (captured as @class by the
# metrics query, so that one walk of the tree finds them)
CLASSES = {
    "python": ("class_definition",), "java": ("class_declaration", "interface_declaration", "enum_declaration"),
    "cpp": ("class_specifier", "struct_specifier"),
    "csharp": ("class_declaration", "struct_declaration", "interface_declaration"),
    "javascript": ("class_declaration",), "typescript": ("class_declaration", "interface_declaration"),
    "tsx": ("class_declaration", "interface_declaration"), "rust": ("impl_item", "struct_item", "trait_item"),
    "php": ("class_declaration",), "ruby": ("class", "module"), "kotlin": ("class_declaration",),
    "scala": ("class_definition", "object_definition", "trait_definition"), "swift": ("class_declaration",),
    "go": ("type_declaration",),
}
