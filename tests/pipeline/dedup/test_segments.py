"""Segments: functions and classes per language, normalised hashes, and the duplicated share of each file."""
from __future__ import annotations

import pytest

from pipeline.dedup.segments import duplicated_share, normalise, segments


def _spans(text: str, language: str, min_lines: int = 3) -> list[tuple[int, int]]:
    return sorted((a, b) for _, a, b in segments(text, language, min_lines, 2000.0))


def _hashes(text: str, language: str, min_lines: int = 3) -> list[int]:
    return [h for h, _, _ in sorted(segments(text, language, min_lines, 2000.0), key=lambda s: s[1])]


def test_normalise_drops_comments_and_all_whitespace():
    text = "x = 1  # one\n\ty\t=\r\n 2 # two\n"
    start = 100  # offsets are absolute bytes; the text starts at byte 100
    comments = [(100 + text.index("# two"), 100 + text.index("# two") + 5),
                (100 + text.index("# one"), 100 + text.index("# one") + 5)]  # any order
    assert normalise(text, comments, start) == "x=1y=2"
    assert normalise(text, [], start) == "x=1#oney=2#two"
    # byte offsets, not characters: the comment after a 2-byte 'é' is still cut exactly
    accented = "é = 1 /* c */ + 2"
    c0 = accented.encode().index(b"/*")
    assert normalise(accented, [(c0, c0 + 7)], 0) == "é=1+2"


PYTHON = '''import os


class Box:
    """A box."""

    def __init__(self, w):
        self.w = w

    def area(self):
        # square
        return self.w * self.w


def tiny():
    return 1


def helper(a, b):
    total = a + b
    if total > 10:
        total -= 10
    return total
'''

JAVA = '''package p;

public class Greeter {
    private String name;

    public Greeter(String name) {
        this.name = name;
    }

    public String greet() {
        // say hello
        String s = "Hello, " + name;
        return s;
    }

    int one() { return 1; }
}

interface Shape {
    double area();
    double perimeter();
    String name();
}
'''

JAVASCRIPT = '''class Counter {
  constructor() {
    this.n = 0;
  }
  inc() {
    this.n += 1;
    return this.n;
  }
}

function add(a, b) {
  const s = a + b;
  return s;
}

const sq = (x) => x * x;
'''

GO = '''package main

type Point struct {
\tX int
\tY int
}

func (p Point) Sum() int {
\ts := p.X
\ts += p.Y
\treturn s
}

func main() {
\tp := Point{1, 2}
\tprintln(p.Sum())
}
'''

RUST = '''struct Point {
    x: i32,
    y: i32,
}

impl Point {
    fn sum(&self) -> i32 {
        let s = self.x;
        s + self.y
    }
}

fn main() {
    let p = Point { x: 1, y: 2 };
    println!("{}", p.sum());
}
'''

CPP = '''#include <vector>

class Stack {
 public:
  void push(int v) {
    data_.push_back(v);
  }
 private:
  std::vector<int> data_;
};

int add(int a, int b) {
  int s = a + b;
  return s;
}
'''


@pytest.mark.parametrize("language,text,expected", [
    # class Box, area, helper; __init__ (2 lines) and tiny (2 lines) are under min_lines=3
    ("Python", PYTHON, [(4, 12), (10, 12), (19, 23)]),
    # class, constructor, greet, interface; one() (1 line) is too short
    ("Java", JAVA, [(3, 17), (6, 8), (10, 14), (19, 23)]),
    # class, constructor, inc, add; the one-line arrow function is too short
    ("JavaScript", JAVASCRIPT, [(1, 9), (2, 4), (5, 8), (11, 14)]),
    # the struct's type declaration, the method, main
    ("Go", GO, [(3, 6), (8, 12), (14, 17)]),
    # struct, impl, fn in the impl, main
    ("Rust", RUST, [(1, 4), (6, 11), (7, 10), (13, 16)]),
    # class (to its closing `};`), the inline method, add
    ("C++", CPP, [(3, 10), (5, 7), (12, 15)]),
])
def test_segments_per_language(language, text, expected):
    assert _spans(text, language) == expected


def test_min_lines_and_languages_without_a_grammar():
    assert _spans(PYTHON, "Python", min_lines=4) == [(4, 12), (19, 23)]
    assert _spans(PYTHON, "Python", min_lines=1) == [(4, 12), (7, 8), (10, 12), (15, 16), (19, 23)]
    assert segments("a: 1\nb: 2\nc: 3\n", "YAML", 1, 2000.0) == []


HELPER = '''def helper(a, b):
    total = a + b
    if total > 10:
        total -= 10
    return total
'''


def test_equal_hashes_for_reformatted_and_recommented_code_different_for_changed_code():
    reformatted = '''def helper(a,b):
  # add them up
  total=a+b
  if total>10:   # wrap around
      total -= 10

  return total
'''
    changed = HELPER.replace("total -= 10", "total -= 9")
    renamed = HELPER.replace("def helper", "def helper2")
    (base,) = _hashes(HELPER, "Python")
    assert _hashes(reformatted, "Python") == [base]
    assert _hashes(changed, "Python") != [base]
    assert _hashes(renamed, "Python") != [base]
    java_a = "class A {\n  int f(int x) {\n    return x + 1; // inc\n  }\n}\n"
    java_b = "class A\n{\n  /* doc */\n  int f(int x)\n  {\n    return x+1;\n  }\n}\n"
    assert _hashes(java_a, "Java", 3) == _hashes(java_b, "Java", 3)
    assert len(_hashes(java_a, "Java", 3)) == 2


# f1 holds the originals; f2 copies helper (reformatted) and adds a function of its own; f3 copies class Box
F1 = PYTHON
F2 = '''import math


def helper(a,b):
    # add them
    total=a+b
    if total>10:  # wrap
        total -= 10
    return total


def other(x):
    y = math.sqrt(x)
    return y
'''
F3 = '''class Box:
    """A box, copied."""

    def __init__(self, w):
        self.w = w

    def area(self):
        # side squared
        return self.w * self.w
print(Box(2).area())
'''


@pytest.mark.spark
def test_duplicated_share_counts_lines_of_segments_first_seen_elsewhere(spark):
    rows = [("f3", "Python", F3), ("f2", "Python", F2), ("f1", "Python", F1), ("g1", "Go", GO), ("n0", "Python", None)]
    df = spark.createDataFrame(rows, "id string, language string, content string")
    lines, segs = duplicated_share(df, min_lines=3, budget_ms=2000.0)
    got = sorted((r["id"], r["dup_lines"], r["code_lines"], r["first_copy"]) for r in lines.collect())
    assert got == [
        ("f2", 6, 10, "f1"),  # helper, lines 4-9, of 10 non-blank lines
        # class Box 1-9 and area 7-9 (nested: counted once), less its 2 blank lines; print() is outside
        ("f3", 7, 8, "f1"),
    ]
    per_segment = sorted((r["id"], r["start_line"], r["end_line"], r["dup"], r["first_copy"]) for r in segs.collect())
    assert [s for s in per_segment if s[0] in ("f1", "f2")] == [
        ("f1", 4, 12, False, "f1"), ("f1", 10, 12, False, "f1"), ("f1", 19, 23, False, "f1"),
        ("f2", 4, 9, True, "f1"), ("f2", 12, 14, False, "f2"),
    ]
    assert [s for s in per_segment if s[0] == "f3"] == [("f3", 1, 9, True, "f1"), ("f3", 7, 9, True, "f1")]
    assert sum(1 for s in per_segment if s[0] == "g1") == 3
