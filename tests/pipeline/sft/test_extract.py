"""Documented functions as code-comment candidates, per documentation style; and the sft stage on a files batch."""
from __future__ import annotations

import hashlib

import pytest

from pipeline import reasons
from pipeline.config import SftConfig
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.sft.extract import Candidate, clean_comment, extract
from pipeline.sft.stage import PAIRS_SCHEMA, SftExtractor


def _one(text: str, language: str) -> Candidate:
    found = extract(text, language)
    assert len(found) == 1, found
    return found[0]


PYTHON = '''import os


def area(w, h):
    """Area of a rectangle.

    Multiplies width by height.
    """
    # both must be positive
    if w < 0:

        return 0
    return w * h


def nodoc(x):
    return x
'''


def test_python_docstring_is_the_comment_and_left_out_of_the_code():
    c = _one(PYTHON, "Python")
    assert c == Candidate(
        name="area", code="def area(w, h):\n    # both must be positive\n    if w < 0:\n\n        return 0\n"
                          "    return w * h",
        comment="Area of a rectangle.\n\nMultiplies width by height.", comment_style="docstring",
        start_line=4, end_line=13, n_lines=6, effective_lines=4)  # 6 lines less a blank and a comment line


def test_python_method_and_decorated_function():
    text = "class Box:\n    @staticmethod\n    def build(x):\n        '''Build it.'''\n        y = x\n" \
           "        return y\n"
    c = _one(text, "Python")
    assert (c.name, c.comment, c.code, c.n_lines, c.effective_lines) == \
        ("build", "Build it.", "def build(x):\n    y = x\n    return y", 3, 3)


JAVA = '''public class A {
    /**
     * Sums the values.
     * @param xs the values
     */
    public int sum(List<Integer> xs) {
        int s = 0;
        for (int x : xs) s += x;
        return s;
    }

    // Plain comment, not documentation.
    public int other(int x) {
        int y = x;
        return y;
    }

    /* Block comment, not Javadoc. */
    public int third(int x) {
        return x;
    }
}
'''


def test_javadoc_documents_and_plain_comments_do_not():
    c = _one(JAVA, "Java")
    assert (c.name, c.comment, c.comment_style, c.start_line, c.end_line) == \
        ("sum", "Sums the values.\n@param xs the values", "block_doc", 6, 10)
    assert c.code == "public int sum(List<Integer> xs) {\n    int s = 0;\n    for (int x : xs) s += x;\n" \
                     "    return s;\n}"


def test_javadoc_above_an_annotation():
    text = "class A {\n    /** Names it. */\n    @Override\n    public String toString() {\n" \
           "        return \"a\";\n    }\n}\n"
    c = _one(text, "Java")
    assert (c.name, c.comment, c.code) == \
        ("toString", "Names it.", '@Override\npublic String toString() {\n    return "a";\n}')


JS = '''/** Adds two numbers. */
export function add(a, b) {
  const s = a + b;
  return s;
}

/**
 * Multiplies.
 */
const mul = (a, b) => {
  const p = a * b;
  return p;
};

// not jsdoc
function plain(a) {
  return a;
}
'''


def test_jsdoc_on_export_function_and_arrow_constant():
    add, mul = extract(JS, "JavaScript")
    assert (add.name, add.comment, add.comment_style, add.start_line, add.n_lines) == \
        ("add", "Adds two numbers.", "block_doc", 2, 4)
    assert add.code.lstrip() == "function add(a, b) {\n  const s = a + b;\n  return s;\n}"
    assert (mul.name, mul.comment, mul.start_line, mul.end_line) == ("mul", "Multiplies.", 10, 13)
    assert mul.code == "const mul = (a, b) => {\n  const p = a * b;\n  return p;\n};"


def test_exported_function_code_starts_at_its_keyword():
    add = extract(JS, "JavaScript")[0]
    assert add.code.startswith("function add(a, b) {")


def test_typescript_class_method_and_exported_arrow():
    text = "export class Cart {\n  /** Whether the cart is empty. */\n  isEmpty(): boolean {\n" \
           "    const n = this.items.length;\n    return n === 0;\n  }\n}\n\n/** Halves x. */\n" \
           "export const half = (x: number): number => {\n  const h = x / 2;\n  return h;\n};\n"
    is_empty, half = extract(text, "TypeScript")
    assert (is_empty.name, is_empty.comment, is_empty.code) == \
        ("isEmpty", "Whether the cart is empty.",
         "isEmpty(): boolean {\n  const n = this.items.length;\n  return n === 0;\n}")
    assert (half.name, half.comment) == ("half", "Halves x.")
    assert half.code.lstrip().startswith("const half = (x: number): number => {")


GO = '''package main

// Sum adds the values.
// It returns zero for none.
func Sum(xs []int) int {
\tt := 0
\tfor _, x := range xs {
\t\tt += x
\t}
\treturn t
}

// Detached comment.

func Detached() int {
\treturn 1
}
'''


def test_go_comment_lines_directly_above_and_a_blank_line_breaks_them():
    c = _one(GO, "Go")
    assert (c.name, c.comment, c.comment_style, c.start_line, c.end_line, c.n_lines, c.effective_lines) == \
        ("Sum", "Sum adds the values.\nIt returns zero for none.", "above", 5, 11, 7, 7)


RUST = '''/// Parses the input.
///
/// Returns None when empty.
#[inline]
#[must_use]
pub fn parse(s: &str) -> Option<i32> {
    let t = s.trim();
    t.parse().ok()
}

// plain comment
fn plain() -> i32 {
    let a = 1;
    a
}
'''


def test_rust_doc_lines_above_attributes():
    c = _one(RUST, "Rust")
    assert (c.name, c.comment, c.comment_style, c.start_line) == \
        ("parse", "Parses the input.\n\nReturns None when empty.", "line_doc", 6)
    assert c.code == "pub fn parse(s: &str) -> Option<i32> {\n    let t = s.trim();\n    t.parse().ok()\n}"


C = '''#include <stdio.h>

/* Adds two ints. */
int add(int a, int b) {
    int s = a + b;
    return s;
}

// Multiplies
// two ints.
int mul(int a, int b) {
    // step one
    int p = a * b;

    /* step
       two */
    return p;
}

int undocumented(void) {
    return 0;
}
'''


def test_c_comments_directly_above_and_effective_lines():
    add, mul = extract(C, "C")
    assert (add.name, add.comment, add.comment_style, add.n_lines, add.effective_lines) == \
        ("add", "Adds two ints.", "above", 4, 4)
    # 8 lines: a blank one and three comment lines are not effective
    assert (mul.name, mul.comment, mul.start_line, mul.end_line, mul.n_lines, mul.effective_lines) == \
        ("mul", "Multiplies\ntwo ints.", 11, 18, 8, 4)


def test_cpp_comment_above_a_template_and_a_qualified_method():
    text = "// Doubles a value.\ntemplate <typename T>\nT twice(T v) {\n    T r = v + v;\n    return r;\n}\n\n" \
           "/** Widget scale. */\nint Widget::scale(int v) {\n    int r = v * 2;\n    return r;\n}\n"
    twice, scale = extract(text, "C++")
    assert (twice.name, twice.comment, twice.code) == \
        ("twice", "Doubles a value.", "T twice(T v) {\n    T r = v + v;\n    return r;\n}")
    assert (scale.name, scale.comment, scale.start_line) == ("scale", "Widget scale.", 9)


CSHARP = '''public class Calc
{
    /// <summary>
    /// Adds two numbers.
    /// </summary>
    /// <param name="a">the first</param>
    /// <param name="b">the second</param>
    /// <returns>the sum</returns>
    public int Add(int a, int b)
    {
        return a + b;
    }

    // not a doc
    public int Sub(int a, int b)
    {
        return a - b;
    }
}
'''


def test_csharp_xml_docs_are_cleaned():
    c = _one(CSHARP, "C#")
    assert (c.name, c.comment_style, c.start_line, c.n_lines) == ("Add", "line_doc", 9, 4)
    assert c.comment == "Adds two numbers.\n\n@param a the first\n@param b the second\n@return the sum"
    assert c.code == "public int Add(int a, int b)\n{\n    return a + b;\n}"


def test_kotlin_kdoc():
    text = "class A {\n    /** Clamps x. */\n    fun clampIt(x: Int, lo: Int): Int {\n" \
           "        val y = maxOf(lo, x)\n        return y\n    }\n\n    // plain\n    fun other(x: Int): Int {\n" \
           "        return x\n    }\n}\n\nval top = 1\n\n/** Top level. */\nfun topLevel(): Int {\n    val a = 1\n" \
           "    return a\n}\n"
    clamp, top = extract(text, "Kotlin")
    assert (clamp.name, clamp.comment, clamp.comment_style, clamp.n_lines) == ("clampIt", "Clamps x.", "block_doc", 4)
    assert clamp.code == "fun clampIt(x: Int, lo: Int): Int {\n    val y = maxOf(lo, x)\n    return y\n}"
    assert (top.name, top.comment) == ("topLevel", "Top level.")


def test_kotlin_kdoc_after_the_package_header():
    text = "package demo\n\n/** Clamps x. */\nfun clampIt(x: Int, lo: Int): Int {\n    val y = maxOf(lo, x)\n" \
           "    return y\n}\n"
    assert _one(text, "Kotlin").comment == "Clamps x."


def test_scala_scaladoc():
    text = "object Util {\n  /** Safe division.\n    * Returns zero for b == 0.\n    */\n" \
           "  def divide(a: Int, b: Int): Int = {\n    if (b == 0) 0\n    else a / b\n  }\n\n" \
           "  // plain\n  def other(a: Int): Int = a\n}\n"
    c = _one(text, "Scala")
    assert (c.name, c.comment, c.comment_style, c.start_line, c.end_line) == \
        ("divide", "Safe division.\nReturns zero for b == 0.", "block_doc", 5, 8)
    assert c.code == "def divide(a: Int, b: Int): Int = {\n  if (b == 0) 0\n  else a / b\n}"


def test_php_docblocks_on_function_and_method():
    text = "<?php\n/**\n * Finds a user by id.\n */\nfunction find_user($id) {\n    $u = lookup($id);\n" \
           "    return $u;\n}\n\nclass Repo {\n    /** Lists all rows. */\n    public function listAll() {\n" \
           "        $rows = [];\n        return $rows;\n    }\n\n    // plain\n    public function other() {\n" \
           "        return 1;\n    }\n}\n"
    find, list_all = extract(text, "PHP")
    assert (find.name, find.comment, find.start_line) == ("find_user", "Finds a user by id.", 5)
    assert (list_all.name, list_all.comment) == ("listAll", "Lists all rows.")
    assert list_all.code == "public function listAll() {\n    $rows = [];\n    return $rows;\n}"


def test_ruby_comments_above():
    text = "# Greets someone\n# by name.\ndef greet(name)\n  msg = \"hello #{name}\"\n  puts msg\nend\n\n" \
           "def undocumented(x)\n  x + 1\nend\n"
    c = _one(text, "Ruby")
    assert (c.name, c.comment, c.comment_style, c.code) == \
        ("greet", "Greets someone\nby name.", "above", 'def greet(name)\n  msg = "hello #{name}"\n  puts msg\nend')


def test_lua_comments_above():
    text = "-- Adds two numbers.\nlocal function add_two(a, b)\n  local s = a + b\n  return s\nend\n"
    c = _one(text, "Lua")
    assert (c.name, c.comment, c.n_lines, c.effective_lines) == ("add_two", "Adds two numbers.", 4, 4)


def test_lua_module_function():
    text = "-- Helps.\nfunction M.helper(x)\n  local y = x\n  return y\nend\n"
    assert _one(text, "Lua").name == "helper"


def test_shell_comments_above():
    text = "set -e\n\n# Back up a folder\n# into a tarball.\nbackup_dir() {\n  local d=\"$1\"\n" \
           "  tar czf \"$d.tgz\" \"$d\"\n}\n"
    c = _one(text, "Shell")
    assert (c.name, c.comment, c.start_line, c.end_line) == ("backup_dir", "Back up a folder\ninto a tarball.", 5, 8)


def test_shell_shebang_is_not_documentation():
    text = "#!/bin/bash\n# Back up a folder.\nbackup_dir() {\n  tar czf \"$1.tgz\" \"$1\"\n}\n"
    assert _one(text, "Shell").comment == "Back up a folder."


def test_swift_triple_slash_docs():
    text = "/// Clamps a value.\nfunc clampValue(_ x: Int, lo: Int) -> Int {\n    let y = max(x, lo)\n" \
           "    return y\n}\n\n// plain\nfunc other() -> Int {\n    return 1\n}\n"
    c = _one(text, "Swift")
    assert (c.name, c.comment, c.comment_style, c.n_lines) == ("clampValue", "Clamps a value.", "line_doc", 4)


def test_sql_function_with_a_comment_above():
    text = "-- Adds one.\nCREATE FUNCTION add_one(x integer) RETURNS integer AS $$\n  SELECT x + 1;\n" \
           "$$ LANGUAGE sql;\n"
    assert _one(text, "SQL").name == "add_one"


@pytest.mark.parametrize("language, text", [
    ("Python", "def f(x):\n    return x\n"),
    ("Java", "class A {\n    int f(int x) {\n        return x;\n    }\n}\n"),
    ("Go", "package main\n\nfunc f() int {\n\treturn 1\n}\n"),
    ("Markdown", "# not code\n"),
])
def test_undocumented_functions_and_unknown_languages_yield_nothing(language, text):
    assert extract(text, language) == []


@pytest.mark.parametrize("raw, clean", [
    ('"""Doc.\n\n    More.\n    """', "Doc.\n\nMore."),
    ("/**\n * Sums.\n * @param a x\n */", "Sums.\n@param a x"),
    ("/* Plain block. */", "Plain block."),
    ("/// One.\n/// Two.", "One.\nTwo."),
    ("// One.\n// Two.", "One.\nTwo."),
    ("# One.\n## Two.", "One.\nTwo."),
    ("-- One.\n--- Two.", "One.\nTwo."),
    ("--[[ Long\n  comment ]]", "Long\ncomment"),
    ("//! Inner doc.", "Inner doc."),
    ('/// <summary>Sum.</summary>\n/// <param name="a">x</param>\n/// <returns>y</returns>',
     "Sum.\n@param a x\n@return y"),
    ('/// <typeparam name="T">item type</typeparam>', "@typeparam T item type"),
])
def test_clean_comment(raw, clean):
    assert clean_comment(raw) == clean


# ---- the sft stage: files in, one row per candidate pair out ----

MODULE = '''def area(w, h):
    """Area of a rectangle: width times height."""
    if w < 0 or h < 0:
        return 0
    return w * h


def get_size(self):
    """The size."""
    return self.size


def later(x):
    """TODO: fix"""
    y = x + 1
    z = y * 2
    return z


def nodoc(x):
    return x
'''


def _batch():
    return to_files_batch([RawRecord("src", "repo", "pkg/mod.py", MODULE.encode()),
                           RawRecord("src", "repo", "README.md", b"# Title\n")])


def test_every_candidate_becomes_a_kept_or_rejected_row():
    out = SftExtractor(SftConfig(), budget_ms=2000).apply(_batch())
    assert out.schema == PAIRS_SCHEMA
    rows = out.to_pylist()
    assert len(rows) == len(extract(MODULE, "Python")) == 3
    assert [(r["function_name"], r["reject_reason"]) for r in rows] == [
        ("area", None), ("get_size", reasons.SFT_ACCESSOR), ("later", reasons.SFT_TODO_ONLY)]
    area = rows[0]
    file_id = _batch().column("id")[0].as_py()
    assert (area["file_id"], area["source"], area["repo"], area["path"], area["language"]) == \
        (file_id, "src", "repo", "pkg/mod.py", "Python")
    assert (area["start_line"], area["end_line"], area["n_lines"], area["effective_line_frac"]) == (1, 5, 4, 1.0)
    assert (area["comment_style"], area["comment"]) == ("docstring", "Area of a rectangle: width times height.")
    assert area["size_bytes"] == len(area["code"].encode()) + len(area["comment"].encode())
    assert area["id"] == hashlib.blake2b(f"{file_id}:1:area".encode(), digest_size=16).hexdigest()


def test_pair_ids_are_stable_across_calls():
    first = SftExtractor(SftConfig(), budget_ms=2000).apply(_batch())
    second = SftExtractor(SftConfig(), budget_ms=2000).apply(_batch())
    assert first.column("id").to_pylist() == second.column("id").to_pylist()
    assert len(set(first.column("id").to_pylist())) == 3


def test_languages_setting_limits_extraction():
    out = SftExtractor(SftConfig(languages=["Go"]), budget_ms=2000).apply(_batch())
    assert (out.num_rows, out.schema) == (0, PAIRS_SCHEMA)


def test_rules_thresholds_come_from_config():
    cfg = SftConfig(min_code_lines=5)
    rows = SftExtractor(cfg, budget_ms=2000).apply(_batch()).to_pylist()
    assert (rows[0]["reject_reason"], rows[0]["reject_detail"]) == \
        (reasons.SFT_CODE_TOO_SHORT, "4 lines < sft.min_code_lines=5")
