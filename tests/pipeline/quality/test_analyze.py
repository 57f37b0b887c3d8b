"""Per-file code metrics from tree-sitter: hand-counted fixtures for every language in SPECS, and broken code.

Every expected number below was counted by hand from the spec's tuples (pipeline/quality/specs.py): cyclomatic
complexity is 1 + the decision nodes inside a function and not inside a function nested in it; comment_ratio is
commented non-blank lines over non-blank lines.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipeline.dedup.segments import segments
from pipeline.quality import grammars
from pipeline.quality.analyze import analyze, captures, error_ratio, max_depth, name_style, parse
from pipeline.quality.specs import CLASSES, FALLBACK, SPECS, grammars_to_try

PYTHON = '''import os
from sys import argv


def check_value(x):
    """Classify x."""
    if x > 0 and x < 10:
        return "small"
    elif x >= 10:
        for i in range(x):
            while i:
                i -= 1
    return [y for y in argv if y]


def tidyPath(path):
    # strip it
    try:
        return os.path.basename(path)
    except OSError:
        return None if path else ""
'''

JAVA = '''import java.util.List;
import java.util.Map;

public class Shapes {
    /** Area of a box. */
    public int area(int w, int h) {
        if (w > 0 && h > 0) {
            return w * h;
        }
        return 0;
    }

    // count items
    public int count(List<Integer> xs) {
        int n = 0;
        for (int x : xs) {
            switch (x) {
                case 1:
                    n++;
                    break;
                default:
                    n += x > 5 ? 2 : 1;
            }
        }
        return n;
    }
}
'''

C = '''#include <stdio.h>
#include "util.h"

/* Sum the positive values. */
int sum_positive(const int *xs, int n) {
    int total = 0;
    for (int i = 0; i < n; i++) {
        if (xs[i] > 0 || xs[i] == -1) {
            total += xs[i];
        }
    }
    return total;
}

int classify(int x) {
    switch (x) {
    case 0:
        return 0;
    case 1:
        return 1;
    default:
        return x > 9 ? 2 : 3;
    }
}

int mainLoop(int k) {
    while (k < 3 && k >= 0) {
        do {
            if (k) {
                k++;
            }
        } while (k < 0);
    }
    return k;
}
'''

CPP = '''#include <vector>
#include <string>
using std::vector;

// Count the even numbers.
int countEven(const vector<int>& xs) {
    int n = 0;
    for (int x : xs) {
        if (x % 2 == 0) {
            n++;
        }
    }
    return n;
}

int Widget::scale(int&& v) {
    auto twice = [](int y) { return y > 0 ? y * 2 : 0; };
    try {
        return twice(v);
    } catch (const std::exception& e) {
        return -1;
    }
}
'''

CSHARP = '''using System;
using System.Linq;

public class Calc
{
    /// <summary>Adds.</summary>
    public int Add(int a, int b)
    {
        if (a > 0 && b > 0)
        {
            return a + b;
        }
        return a ?? b;
    }

    public int pick(int x)
    {
        foreach (var c in new[] { 1, 2 })
        {
            switch (c)
            {
                case 1:
                    return x > 0 ? 1 : 0;
                default:
                    break;
            }
        }
        return x switch { 1 => 10, _ => 0 };
    }

    public int Size { get { return 3; } }
}
'''

GO = '''package main

import (
\t"fmt"
\t"strings"
)

// Greet says hello.
func Greet(name string) string {
\tif name == "" || strings.TrimSpace(name) == "" {
\t\treturn "hi"
\t}
\treturn fmt.Sprintf("hello %s", name)
}

func (c *Counter) add_all(xs []int) {
\tfor _, x := range xs {
\t\tswitch {
\t\tcase x > 0:
\t\t\tc.n += x
\t\tdefault:
\t\t}
\t}
\tf := func() bool { return c.n > 0 && c.n < 9 }
\tf()
}
'''

JAVASCRIPT = '''import fs from "fs";
import { join } from "path";

/** Read a file. */
export function readIt(p) {
  if (!p || p === "") {
    return null;
  }
  return fs.readFileSync(join(".", p));
}

const pick = (x) => {
  // choose
  for (const k in x) {
    switch (k) {
      case "a":
        return x[k] ?? 0;
      default:
        break;
    }
  }
  return x ? 1 : 2;
};

class Box {
  getSize() { while (true) { return 1; } }
}
'''

TYPESCRIPT = '''import { Item } from "./item";

// Total price.
export function total(items: Item[]): number {
  let sum = 0;
  for (const it of items) {
    if (it.price > 0 && it.count > 0) {
      sum += it.price * it.count;
    }
  }
  return sum;
}

export class Cart {
  private items: Item[] = [];

  isEmpty(): boolean {
    return this.items.length === 0 ? true : false;
  }
}
'''

RUST = '''use std::collections::HashMap;
use std::fmt;

// Parse a number.
fn parse_num(s: &str) -> Result<i32, String> {
    let n: i32 = s.parse().map_err(|e| format!("{}", e))?;
    match n {
        0 => Ok(0),
        x if x > 0 && x < 10 => Ok(x),
        _ => Err("big".to_string()),
    }
}

fn count_words<T: ?Sized>(text: &str, _t: &T) -> usize {
    let mut total = 0;
    for line in text.lines() {
        while total < 10 {
            total += 1;
        }
    }
    total
}
'''

PHP = '''<?php
use App\\Models\\User;
require_once "config.php";

/** Find a user. */
function find_user($id) {
    if ($id > 0 && $id < 100) {
        return User::find($id);
    } elseif ($id === 0) {
        return null;
    }
    return $id ?? 1;
}

class Repo {
    // list all
    public function listAll($xs) {
        foreach ($xs as $x) {
            switch ($x) {
                case 1:
                    echo $x ? "a" : "b";
                    break;
                default:
                    break;
            }
        }
    }
}
'''

RUBY = '''require "json"

# Greet someone.
def greet(name)
  if name.nil? || name.empty?
    "hi"
  elsif name == "x"
    "ex"
  else
    "hello #{name}"
  end
end

def count_items(items)
  total = 0
  items.each do |i|
    while total < 3
      total += 1
    end
  end
  total += 1 unless items.empty?
  total > 2 ? total : 0
end
'''

KOTLIN = '''import kotlin.math.max
import kotlin.math.min

/** Clamp a value. */
fun clampIt(x: Int, lo: Int, hi: Int): Int {
    if (x < lo || x > hi) {
        return max(lo, min(x, hi))
    }
    return x
}

fun describe(n: Int?): String {
    val m = n ?: 0
    for (i in 0 until m) {
        while (i > 5 && i < 9) {
            break
        }
    }
    return when (m) {
        0 -> "zero"
        else -> "many"
    }
}
'''

SCALA = '''import scala.util.Try
import scala.collection.mutable

object Util {
  /** Safe division. */
  def divide(a: Int, b: Int): Int = {
    if (b == 0) 0 else a / b
  }

  def label(x: Int): String = x match {
    case 0 => "zero"
    case n if n > 0 => "pos"
    case _ => "neg"
  }

  def loop(xs: List[Int]): Int = {
    var s = 0
    for (x <- xs) {
      while (s < x && s > -1) { s += 1 }
    }
    try { s } catch { case e: Exception => 0 }
  }
}
'''

SHELL = '''#!/bin/bash
# Back up a folder.
backup_dir() {
  if [ -d "$1" ] && [ -w "$1" ]; then
    tar czf "$1.tgz" "$1"
  elif [ -f "$1" ]; then
    cp "$1" "$1.bak"
  fi
}

function count_files {
  local n=0
  for f in "$@"; do
    case "$f" in
      *.txt) n=$((n + 1)) ;;
      *) ;;
    esac
  done
  echo "$n"
}
'''

LUA = '''local json = require("json")

-- Add two numbers.
local function add_two(a, b)
  if a > 0 and b > 0 then
    return a + b
  elseif a < 0 or b < 0 then
    return 0
  end
  return nil
end

function sumAll(xs)
  local s = 0
  for i = 1, #xs do
    while s < i do
      s = s + 1
    end
  end
  repeat s = s - 1 until s < 10
  return s
end
'''

SWIFT = '''import Foundation
import UIKit

/// Clamp a value.
func clampValue(_ x: Int, lo: Int, hi: Int) -> Int {
    guard lo <= hi else { return x }
    if x < lo || x > hi {
        return lo
    }
    return x
}

struct Counter {
    var items: [Int]?

    func countAll() -> Int {
        let xs = items ?? []
        var n = 0
        for x in xs {
            switch x {
            case 0:
                n += 1
            default:
                n += x > 5 ? 2 : 1
            }
        }
        return n
    }
}
'''

# This grammar parses PostgreSQL-style CREATE FUNCTION ... AS $$ ... $$ LANGUAGE sql (and `RETURNS t RETURN expr;`)
# as create_function nodes, so SQL functions are counted; their names (sign_of, active_count: snake_case) come from
# the object_reference inside.
SQL = '''-- Sign of a number.
CREATE FUNCTION sign_of(x integer) RETURNS integer AS $$
  SELECT CASE WHEN x > 0 THEN 1 WHEN x < 0 AND x > -9 THEN -1 ELSE 0 END;
$$ LANGUAGE sql;

CREATE FUNCTION active_count() RETURNS bigint AS $$
  SELECT count(*) FROM users WHERE active = 1 OR admin = 1;
$$ LANGUAGE sql;

/* report */
SELECT id FROM users WHERE id IN (SELECT user_id FROM orders);
'''

# language: (text, n_functions, cc_max, cc_mean, max_nesting, n_imports, comment_ratio, naming_consistency)
CASES = {
    # check_value: if, and, elif, for, while, for_in_clause, if_clause = 7 -> 8; tidyPath: except, ternary -> 3.
    # Nesting if > for > while (the elif belongs to the if). Docstring and `#` line over 17 non-blank lines.
    # tidyPath is camelCase where Python wants snake_case.
    "Python": (PYTHON, 2, 8, 11 / 2, 3, 2, 2 / 17, 1 / 2),
    # area: if, && -> 3; count: enhanced for, 2 switch_labels (`default:` is a switch_label too), ternary -> 5
    "Java": (JAVA, 2, 5, 8 / 2, 2, 2, 2 / 25, 1.0),
    # sum_positive: for, if, || -> 4; classify: 3 case_statements (default included), ternary -> 5;
    # mainLoop: while, &&, do, if -> 5. Nesting while > do > if. One comment line of 32.
    "C": (C, 3, 5, 14 / 3, 3, 2, 1 / 32, 1.0),
    # countEven: range for, if -> 3; scale: catch -> 2 (`int&& v` is a reference, not a decision; the ternary is the
    # lambda's); the lambda: ternary -> 2. Imports: 2 includes and a using declaration.
    "C++": (CPP, 3, 3, 7 / 3, 2, 3, 1 / 21, 1.0),
    # Add: if, &&, ?? -> 4; pick: foreach, 2 switch_sections, ternary, 2 switch arms -> 7; the get accessor -> 1.
    # The accessor has no name; `pick` is not PascalCase.
    "C#": (CSHARP, 3, 7, 12 / 3, 2, 2, 1 / 29, 1 / 2),
    # Greet: if, || -> 3; add_all: for, expression_case (default_case is not counted) -> 3; func literal: && -> 2.
    # add_all is snake_case where Go wants camelCase/PascalCase.
    "Go": (GO, 3, 3, 8 / 3, 2, 2, 1 / 23, 1 / 2),
    # readIt: if, || -> 3; pick (arrow): for-in, switch_case (not default), ??, ternary -> 5; getSize: while -> 2
    "JavaScript": (JAVASCRIPT, 3, 5, 10 / 3, 2, 2, 2 / 24, 1.0),
    # total: for-of, if, && -> 4; isEmpty: ternary -> 2
    "TypeScript": (TYPESCRIPT, 2, 4, 6 / 2, 2, 1, 1 / 17, 1.0),
    # parse_num: `?`, 3 match arms, && -> 6 (the closure is its own function: 1); count_words: for, while -> 3
    # (the `?Sized` bound is not a decision)
    "Rust": (RUST, 3, 6, 10 / 3, 2, 2, 1 / 20, 1.0),
    # find_user: if, &&, elseif, ?? -> 5; listAll: foreach, case (default_statement is not counted), ternary -> 4.
    # Imports: a use declaration and require_once.
    "PHP": (PHP, 2, 5, 9 / 2, 2, 2, 2 / 26, 1.0),
    # greet: if, ||, elsif -> 4; count_items: while, unless modifier, ternary -> 4 (the do block is no function).
    # Ruby's spec has no import nodes: `require` is a method call.
    "Ruby": (RUBY, 2, 4, 8 / 2, 1, 0, 1 / 21, 1.0),
    # clampIt: if, || -> 3; describe: elvis, for, while, &&, 2 when entries -> 7
    "Kotlin": (KOTLIN, 2, 7, 10 / 2, 2, 2, 1 / 21, 1.0),
    # divide: if -> 2; label: 3 case clauses -> 4; loop: for, while, &&, the catch's one case clause -> 5
    "Scala": (SCALA, 3, 5, 11 / 3, 2, 2, 1 / 20, 1.0),
    # backup_dir: if, &&, elif -> 4; count_files: for, 2 case items -> 4. The shebang line is a comment too.
    "Shell": (SHELL, 2, 4, 8 / 2, 2, 0, 2 / 19, 1.0),
    # add_two: if, and, elseif, or -> 5; sumAll: for, while, repeat -> 4
    "Lua": (LUA, 2, 5, 9 / 2, 2, 0, 1 / 20, 1.0),
    # clampValue: guard, if, || -> 4; countAll: ??, for, 2 switch entries (default included), ternary -> 6
    "Swift": (SWIFT, 2, 6, 10 / 2, 2, 2, 1 / 26, 1.0),
    # sign_of: 2 WHENs, AND -> 4; active_count: OR -> 2. Nesting: the CASE and the subquery, each 1 deep.
    "SQL": (SQL, 2, 4, 6 / 2, 1, 0, 2 / 9, 1.0),
}


def test_every_language_has_a_fixture():
    assert set(CASES) == set(SPECS) - {"TSX"}  # TSX is TypeScript's fallback dialect, measured below
    assert FALLBACK == {"C": "C++", "TypeScript": "TSX"}


@pytest.mark.parametrize("lang", sorted(SPECS))
def test_metrics_query_compiles(lang):
    query = grammars.metrics_query(lang)
    assert query.pattern_count >= 1


@pytest.mark.parametrize("lang", sorted(CASES))
def test_hand_counted_metrics(lang):
    text, n_fn, cc_max, cc_mean, nesting, n_imports, comment_ratio, naming = CASES[lang]
    m = analyze(text, lang, budget_ms=2000)
    assert (m["syntax_ok"], m["error_ratio"], m["quality_grammar"]) == (True, 0.0, SPECS[lang].grammar)
    assert m["n_functions"] == n_fn
    assert m["cc_max"] == cc_max
    assert m["cc_mean"] == pytest.approx(cc_mean)
    assert m["max_nesting"] == nesting
    assert m["n_imports"] == n_imports
    assert m["comment_ratio"] == pytest.approx(comment_ratio)
    assert m["naming_consistency"] == naming


@pytest.mark.parametrize("lang, text, cc", [
    # `&&` in a C++ declarator is an rvalue reference, not a short-circuit operator
    ("C++", "void take(std::string&& s, int&& n) {\n    use(s);\n}\n", 1),
    ("C++", "bool both(int a, int b) {\n    return a && b || !a;\n}\n", 3),
    # Rust: the `?` operator is a decision; the `?` of a `?Sized` bound is not
    ("Rust", "fn f<T: ?Sized>(x: &T) -> usize {\n    0\n}\n", 1),
    ("Rust", "fn g() -> Result<i32, E> {\n    let a = h()?;\n    let b = k()?;\n    Ok(a + b)\n}\n", 3),
    # Scala: one handler is one decision (a catch block's case clause), && and || are decisions
    ("Scala", "object O {\n  def f(x: Int): Int = try { x } catch { case e: Exception => 0 }\n}\n", 2),
    ("Scala", "object O {\n  def g(a: Boolean, b: Boolean): Boolean = a && b || a\n}\n", 3),
    # SQL: each WHEN of a CASE is one decision, the CASE itself none (like case labels and their switch)
    ("SQL", "CREATE FUNCTION s(x integer) RETURNS integer AS $$\n"
            "  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n$$ LANGUAGE sql;\n", 2),
    ("SQL", "CREATE FUNCTION s(x integer) RETURNS integer AS $$\n"
            "  SELECT CASE x WHEN 1 THEN 1 WHEN 2 THEN 4 ELSE 0 END;\n$$ LANGUAGE sql;\n", 3),
])
def test_decision_points_are_the_defined_ones(lang, text, cc):
    m = analyze(text, lang, budget_ms=2000)
    assert (m["syntax_ok"], m["n_functions"], m["cc_max"]) == (True, 1, cc)


def test_python_call_and_redundancy_metrics():
    m = analyze(PYTHON, "Python", budget_ms=2000)
    # range(...) and os.path.basename(...): neither is defined in the file
    assert (m["n_calls"], m["external_call_frac"], m["redundancy"]) == (2, 1.0, 0.0)
    assert m["fn_mean_lines"] == (9 + 6) / 2


def test_file_without_functions_has_no_complexity_or_naming():
    m = analyze("x = 1\ny = x + 1\n", "Python", budget_ms=2000)
    assert (m["n_functions"], m["cc_max"], m["cc_mean"], m["fn_mean_lines"], m["naming_consistency"]) == \
        (0, None, None, None, None)
    assert (m["comment_ratio"], m["max_nesting"]) == (0.0, 0)


def test_redundancy_counts_repeated_substantial_lines_only():
    text = "total = total + 1\ntotal = total + 1\ntotal = total + 1\nx = 1\nx = 1\nprint(total)\n"
    # substantial (8+ chars): 3 x "total = total + 1" and "print(total)"; 2 of the 4 repeat an earlier line
    assert analyze(text, "Python", budget_ms=2000)["redundancy"] == 2 / 4


@pytest.mark.parametrize("name, style", [
    ("parse_num", "snake_case"), ("parseNum", "camelCase"), ("ParseNum", "PascalCase"), ("parse", "lower"),
    ("MAX_SIZE", "UPPER_CASE"), ("Process_Data_now", "mixed"), ("__init__", "lower"), ("_", None), ("9x", None),
])
def test_name_style(name, style):
    assert name_style(name) == style


def test_max_depth_of_spans():
    assert max_depth([]) == 0
    assert max_depth([(0, 10), (2, 8), (3, 4), (5, 6), (11, 12)]) == 3
    assert max_depth([(0, 5), (5, 9)]) == 1  # touching spans are siblings


@pytest.mark.parametrize("lang, text", [
    ("Python", "def f(:\n    return 1\n"),
    ("Java", "class A { void f( { } }"),
    ("Go", "package main\nfunc f( {\n}\n"),
    ("JavaScript", "function f( {\n  return 1;\n"),
    ("Rust", "fn f( -> {\n}\n"),
])
def test_broken_code_has_errors(lang, text):
    m = analyze(text, lang, budget_ms=2000)
    assert m["syntax_ok"] is False
    assert 0.0 < m["error_ratio"] <= 1.0


@pytest.mark.parametrize("lang, broken, valid", [
    # CPython: "expected an indented block" (a file cut after a line ending in `:`, or its body line deleted)
    ("Python", "def f(xs):\n    for x in xs:\n    return 1\n",
     "def f(xs):\n    for x in xs:\n        pass\n    return 1\n"),
    ("Python", "class A:\n    # only a comment\n", "class A:\n    # a comment\n    x = 1\n"),
    # CPython: "expected 'except' or 'finally' block"
    ("Python", "try:\n    x = 1\ny = 2\n", "try:\n    x = 1\nfinally:\n    y = 2\n"),
    # ruby -c: "unexpected `end'" once a `do`/`def`/`if` line is deleted; `end` as a method or a key is fine
    ("Ruby", "xs.each do |x|\n  puts x\nend\nend\n", "r = (1..5).end\nf(end: 3)\nxs.each do |x|\n  puts x\nend\n"),
    # node --check: "Missing initializer in const declaration"; TypeScript declares constants without values
    ("JavaScript", "const limit;\n", "const limit = 3;\nlet later;\nfor (const x of xs) {}\n"),
])
def test_errors_the_grammar_accepts_silently_are_counted(lang, broken, valid):
    assert analyze(valid, lang, budget_ms=2000)["syntax_ok"] is True
    m = analyze(broken, lang, budget_ms=2000)
    assert m["syntax_ok"] is False and 0.0 < m["error_ratio"] <= 1.0


def test_typescript_ambient_const_needs_no_value():
    assert analyze("declare const limit: number;\n", "TypeScript", budget_ms=2000)["syntax_ok"] is True


HEADER = '''#pragma once
#include <string>

namespace geo {
class Point {
 public:
  Point(double x, double y) : x_(x), y_(y) {}
  double norm() const;
 private:
  double x_, y_;
};
}  // namespace geo
'''


def test_cpp_header_given_as_c_falls_back_to_the_cpp_grammar():
    m = analyze(HEADER, "C", budget_ms=2000)
    assert (m["quality_grammar"], m["syntax_ok"], m["error_ratio"]) == ("cpp", True, 0.0)
    assert m["n_functions"] == 1  # the inline constructor


def test_tsx_falls_back_to_the_tsx_grammar():
    text = 'import React from "react";\n\nexport function Hello(props: { name: string }) {\n' \
           '  return <div className="hi">Hello {props.name}</div>;\n}\n'
    m = analyze(text, "TypeScript", budget_ms=2000)
    assert (m["quality_grammar"], m["syntax_ok"], m["n_functions"], m["n_imports"]) == ("tsx", True, 1, 1)


def test_plain_c_stays_on_the_c_grammar():
    assert analyze(C, "C", budget_ms=2000)["quality_grammar"] == "c"


def _grammars_parsed(monkeypatch) -> list[str]:
    import pipeline.quality.analyze as analyze_module

    tried, real = [], analyze_module.parse
    monkeypatch.setattr(analyze_module, "parse", lambda src, grammar, budget: tried.append(grammar) or
                        real(src, grammar, budget))
    return tried


def test_the_related_grammar_goes_first_where_the_file_shows_it(monkeypatch):
    tried = _grammars_parsed(monkeypatch)
    tsx = 'export function Hello(props: { name: string }) {\n  return <div>Hello {props.name}</div>;\n}\n'
    header = analyze(HEADER, "C", budget_ms=2000, path="geo/point.h")
    assert tried == ["cpp"]  # once, where the C grammar first would have stumbled and C++ followed
    assert header == analyze(HEADER, "C++", budget_ms=2000)
    tried.clear()
    assert analyze(tsx, "TypeScript", budget_ms=2000, path="ui/Hello.tsx")["quality_grammar"] == "tsx"
    as_ts = analyze(tsx, "TypeScript", budget_ms=2000, path="ui/hello.ts")
    assert tried == ["tsx", "typescript"]  # a .ts file is TypeScript alone, as for tsc: JSX there is an error
    assert (as_ts["quality_grammar"], as_ts["syntax_ok"]) == ("typescript", False)
    tried.clear()
    assert analyze(C, "C", budget_ms=2000, path="plain.c")["quality_grammar"] == "c" and tried == ["c"]


def test_a_c_file_with_a_cpp_line_is_parsed_as_cpp_only(monkeypatch):
    # C++'s grammar stumbles on `new` as a name, C's cannot parse the namespace: no C try without `__cplusplus`
    text = "namespace compat {\nint bump(int new) {\n    return new + 1;\n}\n}\n"
    tried = _grammars_parsed(monkeypatch)
    m = analyze(text, "C", budget_ms=2000, tolerated_errors=0.02, path="compat.h")
    assert tried == ["cpp"] and (m["quality_grammar"], m["syntax_ok"]) == ("cpp", False)


def test_a_c_file_cpp_stumbles_on_falls_back_to_c(monkeypatch):
    # a C++ line under #ifdef __cplusplus, and C that C++ rejects (`new` and `class` as names)
    text = "#ifdef __cplusplus\nnamespace compat {\n#endif\nint bump(int new, int class) {\n" \
           "    return new + class;\n}\n#ifdef __cplusplus\n}\n#endif\n"
    tried = _grammars_parsed(monkeypatch)
    m = analyze(text, "C", budget_ms=2000, path="compat.h")
    assert tried == ["cpp", "c"]
    ratios = {g: analyze(text, lang, budget_ms=2000)["error_ratio"] for g, lang in (("c", "C"), ("cpp", "C++"))}
    assert ratios["c"] < ratios["cpp"] and m["quality_grammar"] == "c" and m["error_ratio"] == ratios["c"]


@pytest.mark.parametrize("line, cpp", [
    ("namespace shop {", True), ("namespace a::b\n{", True), ("namespace {", True),
    ("\t namespace but it is not so far, prepare", False), ("  template <typename T>", True), (" public:", True),
    ("using namespace std;", True),
    ("class Bag : public Base {", True), ("class Bag\n{", True), ("struct bag { int n; };", False),
    (" * class Bag { is documented here", False), ("std::vector<int> v;", False), ("int public_count;", False),
    ("  private::reset();", False), ('extern "C" {', False)])
def test_a_line_only_cpp_has_marks_a_c_file_as_cpp(line, cpp):
    assert grammars_to_try("C", "x.h", f"int a;\n{line}\n".encode()) == (("C++",) if cpp else ("C", "C++"))
    assert grammars_to_try("C", "x.h", f"#ifdef __cplusplus\n{line}\n#endif\n".encode()) == \
        (("C++", "C") if cpp else ("C", "C++"))
    assert grammars_to_try("C++", "x.h", f"{line}\n".encode()) == ("C++",)


def test_typescript_takes_its_dialect_from_the_extension():
    paths = ("a.tsx", "a.TSX", "a.ts", "a.mts", "a.cts", "a.d.ts", None)
    assert [grammars_to_try("TypeScript", p, b"") for p in paths] == \
        [("TSX",), ("TSX",), ("TypeScript",), ("TypeScript",), ("TypeScript",), ("TypeScript",), ("TypeScript", "TSX")]


def test_rust_doc_comment_marks_only_its_own_line():
    text = "/// Doc.\nfn f() -> i32 {\n    1\n}\n"
    assert analyze(text, "Rust", budget_ms=2000)["comment_ratio"] == 1 / 4


def test_else_if_chain_is_not_nesting():
    c = "int f(int a) {\n    if (a == 1) {\n        return 1;\n    } else if (a == 2) {\n        return 2;\n" \
        "    } else if (a == 3) {\n        return 3;\n    }\n    return 0;\n}\n"
    py = "def f(a):\n    if a == 1:\n        return 1\n    elif a == 2:\n        return 2\n" \
         "    elif a == 3:\n        return 3\n    return 0\n"
    assert analyze(py, "Python", budget_ms=2000)["max_nesting"] == 1
    assert analyze(c, "C", budget_ms=2000)["max_nesting"] == 1


def _error(start, end, descendants):
    return SimpleNamespace(start_byte=start, end_byte=end, descendant_count=descendants)


def test_of_two_error_nodes_with_one_span_the_outer_counts_in_either_capture_order():
    # nested ERROR nodes can share a span; the query's capture order of such ties differed between processes, and
    # with it the error ratio (0.7903 / 0.7907 / 0.7910 / 0.7914 for one C header parsed as C++)
    root = SimpleNamespace(has_error=True, descendant_count=10)
    outer, inner, later = _error(0, 4, 3), _error(0, 4, 1), _error(6, 8, 2)
    for order in ([outer, inner, later], [inner, outer, later], [later, inner, outer]):
        assert error_ratio(root, {"error": order}) == pytest.approx(0.5)


def test_the_metrics_query_captures_the_class_like_nodes_segments_hash():
    source = b"class A:\n    def f(self):\n        return 1\n\n\nclass B:\n    pass\n"
    caps = captures(parse(source, "python", 1000).root_node, "Python")
    assert [(n.type, n.start_point[0]) for n in caps["class"]] == [("class_definition", 0), ("class_definition", 5)]
    assert [line for _, line, _ in segments(source.decode(), "Python", 1, 1000)] == [2, 1, 6]  # f, then A, B
    assert all(spec.grammar in CLASSES for lang, spec in SPECS.items() if lang in ("Python", "Java", "Go", "C++"))
