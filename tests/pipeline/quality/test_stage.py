"""The quality stage on Arrow batches: syntax errors, low scores, pass-through rows, budgets, column order."""
from __future__ import annotations

import dataclasses
import re
import time

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import QualityConfig
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.quality import grammars
from pipeline.quality.stage import QualityScorer
from pipeline.stage import mark
from schemas import QUALITY_COLUMNS


def _files(*named: tuple[str, str]) -> pa.RecordBatch:
    return to_files_batch([RawRecord("s", "r", path, text.encode()) for path, text in named])


def _rows(batch: pa.RecordBatch, cfg: QualityConfig = QualityConfig()) -> list[dict]:
    return QualityScorer(cfg).apply(batch).to_pylist()


@pytest.fixture
def fresh_parsers():
    """Reset the cached parsers after a test that cancels a parse, so no later test inherits a half-done parse."""
    yield
    for grammar in ("python", "javascript", "c", "cpp"):
        grammars.parser(grammar).reset()


GOOD = '''"""Small helpers for temperatures."""


def to_celsius(fahrenheit):
    """Convert degrees Fahrenheit to Celsius."""
    return (fahrenheit - 32) * 5 / 9


def to_fahrenheit(celsius):
    """Convert degrees Celsius to Fahrenheit."""
    return celsius * 9 / 5 + 32
'''


def terrible() -> str:
    """One function: 9 nested ifs with `and`/`or`, 12 loops of duplicated lines, no comments, a mixed-style name."""
    lines = ["def Process_Data_now(a, b, c, d):"]
    for depth in range(9):
        lines.append("    " * (depth + 1) + f"if a > {depth} and b < {depth} or c == {depth}:")
    lines.append("    " * 10 + "x = a + b + c + d")
    for i in range(12):
        lines += [f"    while a > {i} and b > {i}:", "        x = a + b + c + d", "        total = total + x"]
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def test_good_code_is_kept_with_a_high_score():
    (row,) = _rows(_files(("temps.py", GOOD)))
    assert (row["reject_reason"], row["reject_detail"]) == (None, None)
    assert (row["quality_scored"], row["quality_grammar"], row["syntax_ok"]) == (True, "python", True)
    assert (row["n_functions"], row["cc_max"], row["max_nesting"], row["naming_consistency"]) == (2, 1, 0, 1.0)
    assert row["quality_score"] >= 0.8


def test_terrible_code_is_low_quality_and_names_its_weakest_aspects():
    (row,) = _rows(_files(("bad.py", terrible())))
    # 9 x (if, and, or) + 12 x (while, and) + 1; nesting 9; 23 of 48 substantial lines repeat; no comments
    assert (row["cc_max"], row["max_nesting"], row["comment_ratio"], row["naming_consistency"]) == (52, 9, 0.0, 0.0)
    assert row["redundancy"] == pytest.approx(23 / 48)
    assert row["reject_reason"] == reasons.LOW_QUALITY
    # comments, complexity, naming and nesting all score 0; ties are named alphabetically
    assert row["reject_detail"] == f"quality_score={row['quality_score']:.3f} < quality.min_score=0.6; " \
                                   "weakest: comments=0.00, complexity=0.00"
    assert row["quality_scored"] is True and 0.0 < row["quality_score"] < 0.6


def test_thresholds_and_weights_come_from_config():
    syntax_only = dataclasses.replace(QualityConfig(), weights={"syntax": 1.0})
    (row,) = _rows(_files(("bad.py", terrible())), syntax_only)
    assert (row["quality_score"], row["reject_reason"]) == (1.0, None)
    strict = dataclasses.replace(QualityConfig(), min_score=1.0)
    (row,) = _rows(_files(("t.py", "def f(x):\n    return x\n")), strict)  # no comments: comments subscore 0
    assert row["reject_reason"] == reasons.LOW_QUALITY
    assert row["reject_detail"].startswith(f"quality_score={row['quality_score']:.3f} < quality.min_score=1; weakest: ")


@pytest.mark.parametrize("path, text, grammar, key", [
    ("a.py", "def f(:\n    return 1\n", "python", "quality.max_error_ratio=0"),
    ("A.java", "class A { void f( { } }", "java", "quality.max_error_ratio=0"),
    ("a.go", "package main\nfunc f( {\n}\n", "go", "quality.max_error_ratio=0"),
    ("a.c", "int f( { return 1 }\n", None, "quality.error_ratio_by_language.C=0.02"),
])
def test_syntax_errors_are_rejected_naming_the_config_key(path, text, grammar, key):
    (row,) = _rows(_files((path, text)))
    assert row["reject_reason"] == reasons.SYNTAX_ERROR
    assert (row["quality_scored"], row["syntax_ok"]) == (True, False)
    assert row["error_ratio"] > 0
    grammar = grammar or row["quality_grammar"]  # C tries the C++ grammar too; the one with fewer errors is named
    assert re.fullmatch(rf"error_ratio=0\.\d{{4}} > {re.escape(key)} \({grammar} grammar\)", row["reject_detail"])


def test_per_language_error_ratio_overrides_the_default():
    cfg = dataclasses.replace(QualityConfig(), error_ratio_by_language={"Python": 0.01})
    (row,) = _rows(_files(("a.py", "def f(:\n    return 1\n")), cfg)
    assert row["reject_reason"] == reasons.SYNTAX_ERROR
    assert "> quality.error_ratio_by_language.Python=0.01 (python grammar)" in row["reject_detail"]
    lenient = dataclasses.replace(QualityConfig(), error_ratio_by_language={"Python": 1.0}, min_score=0.0)
    assert _rows(_files(("a.py", "def f(:\n    return 1\n")), lenient)[0]["reject_reason"] is None


MACRO_C = '''#include <stdio.h>

static int count = 0;

int bump(int x) {
    count += x;
    return count;
}

int twice(int x) {
    return x * 2;
}

int triple(int x) {
    return x * 3;
}

int add(int a, int b) {
    return a + b;
}

DECLARE_HANDLER(on_event)

int sub(int a, int b) {
    return a - b;
}
'''


def test_c_with_an_unknown_macro_is_within_the_c_tolerance():
    (row,) = _rows(_files(("m.c", MACRO_C)))
    assert (row["syntax_ok"], row["quality_grammar"], row["n_functions"]) == (False, "c", 5)
    assert 0.0 < row["error_ratio"] <= QualityConfig().error_ratio_by_language["C"]
    assert row["reject_reason"] != reasons.SYNTAX_ERROR


HEADER = '''#pragma once
#include <string>

namespace geo {
// A point in the plane.
class Point {
 public:
  Point(double x, double y) : x_(x), y_(y) {}
  double norm() const;
 private:
  double x_, y_;
};
}  // namespace geo
'''


def test_cpp_header_named_h_is_parsed_with_the_cpp_grammar():
    batch = _files(("geo.h", HEADER))
    assert batch.column("language").to_pylist() == ["C"]
    (row,) = _rows(batch)
    assert (row["quality_grammar"], row["syntax_ok"], row["error_ratio"], row["reject_reason"]) == \
        ("cpp", True, 0.0, None)


def test_tsx_is_parsed_with_the_tsx_grammar():
    text = 'import React from "react";\n\n// Greets.\nexport function Hello(props: { name: string }) {\n' \
           '  return <div className="hi">Hello {props.name}</div>;\n}\n'
    batch = _files(("hello.tsx", text))
    assert batch.column("language").to_pylist() == ["TypeScript"]
    (row,) = _rows(batch)
    assert (row["quality_grammar"], row["syntax_ok"], row["reject_reason"]) == ("tsx", True, None)


def test_languages_without_a_grammar_pass_through_unscored():
    rows = _rows(_files(("README.md", "# Title\n\nSome text.\n"), ("data.json", '{"a": 1}\n'), ("t.py", GOOD)))
    assert [r["language"] for r in rows] == ["Markdown", "JSON", "Python"]
    for row in rows[:2]:
        assert row["quality_scored"] is False
        assert all(row[f.name] is None for f in QUALITY_COLUMNS if f.name != "quality_scored")
        assert (row["reject_reason"], row["reject_detail"]) == (None, None)
    assert rows[2]["quality_scored"] is True


def test_rows_rejected_upstream_are_left_untouched():
    batch = to_files_batch([RawRecord("s", "r", "empty.py", b""), RawRecord("s", "r", "big.py", b"def f(:\n"),
                            RawRecord("s", "r", "ok.py", GOOD.encode())])
    batch = mark(batch, pa.array([False, True, False]), reasons.FILE_TOO_LARGE, "upstream detail")
    rows = _rows(batch)
    assert [(r["reject_reason"], r["reject_detail"]) for r in rows] == [
        (reasons.EMPTY, batch.column("reject_detail")[0].as_py()), (reasons.FILE_TOO_LARGE, "upstream detail"),
        (None, None)]
    assert [r["quality_scored"] for r in rows] == [False, False, True]
    assert rows[1]["syntax_ok"] is None and rows[1]["quality_score"] is None


def test_output_columns_follow_output_schema():
    scorer = QualityScorer(QualityConfig())
    batch = _files(("t.py", GOOD), ("README.md", "# x\n"), ("a.py", "def f(:\n"))
    out = scorer.apply(batch)
    expected = scorer.output_schema(batch.schema)
    assert out.schema.names == expected.names
    assert out.schema.types == expected.types
    assert out.schema.names[-2:] == ["reject_reason", "reject_detail"]
    again = scorer.apply(out)  # a batch that already has the quality columns: replaced, same order
    assert again.schema.names == scorer.output_schema(out.schema).names == expected.names
    assert again.column("reject_reason").to_pylist() == [None, None, reasons.SYNTAX_ERROR]
    assert again.column("quality_score").to_pylist()[0] == out.column("quality_score").to_pylist()[0] == 1.0


def test_deep_nesting_past_the_parse_budget_is_rejected_quickly(fresh_parsers):
    cfg = dataclasses.replace(QualityConfig(), parse_budget_ms=20)
    batch = _files(("deep.py", "x = [" * 200_000))
    start = time.monotonic()
    (row,) = _rows(batch, cfg)
    assert time.monotonic() - start < 1.0
    assert (row["reject_reason"], row["reject_detail"]) == \
        (reasons.PARSE_BUDGET_EXCEEDED, "parse stopped after quality.parse_budget_ms=20 ms")
    assert row["quality_scored"] is False


def test_a_cancelled_parse_does_not_spoil_the_next_file(fresh_parsers):
    cfg = dataclasses.replace(QualityConfig(), parse_budget_ms=20)
    rows = _rows(_files(("deep.py", "x = [" * 200_000), ("ok.py", GOOD)), cfg)
    assert [r["reject_reason"] for r in rows] == [reasons.PARSE_BUDGET_EXCEEDED, None]
    assert (rows[1]["syntax_ok"], rows[1]["n_functions"]) == (True, 2)


def test_files_over_max_parse_bytes_are_rejected_unparsed(monkeypatch):
    def no_parse(*_args, **_kwargs):
        raise AssertionError("parsed a file over quality.max_parse_bytes")

    monkeypatch.setattr("pipeline.quality.stage.analyze", no_parse)
    cfg = dataclasses.replace(QualityConfig(), max_parse_bytes=100)
    (row,) = _rows(_files(("long.py", "x = 1\n" * 20)), cfg)
    assert (row["reject_reason"], row["reject_detail"]) == \
        (reasons.PARSE_BUDGET_EXCEEDED, "120 bytes > quality.max_parse_bytes=100")
    assert row["quality_scored"] is False


def test_a_huge_single_line_of_valid_code_is_scored():
    line = "values = [" + ", ".join(str(i) for i in range(20_000)) + "]\n"
    (row,) = _rows(_files(("one_line.py", line)))
    assert (row["quality_scored"], row["syntax_ok"], row["n_functions"], row["reject_reason"]) == \
        (True, True, 0, None)
    # no functions and no names: syntax 1, nesting 1, comments 0, redundancy 1, readability
    # (line length 0 + identifier `values` 1) / 2, over the weights .20 + .10 + .10 + .15 + .10
    assert row["quality_score"] == pytest.approx((0.20 + 0.10 + 0.15 + 0.10 * 0.5) / 0.65)
