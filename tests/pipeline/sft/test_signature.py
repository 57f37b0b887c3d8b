"""Function heads for the code_generation prompts: everything before the body, per grammar; the first line otherwise."""
from __future__ import annotations

import pytest

from pipeline.sft.signature import signature


@pytest.mark.parametrize("language, code, head", [
    ("Python", "@cache\ndef area(w: int,\n         h: int) -> int:\n    return w * h\n",
     "@cache\ndef area(w: int,\n         h: int) -> int:"),
    ("Java", "@Override\npublic int area(int w, int h) {\n    return w * h;\n}",
     "@Override\npublic int area(int w, int h)"),
    ("Go", "func Area(w, h int) int {\n\treturn w * h\n}", "func Area(w, h int) int"),
    ("Rust", "pub fn area<T>(w: T, h: T) -> T\nwhere T: Mul\n{\n    w * h\n}",
     "pub fn area<T>(w: T, h: T) -> T\nwhere T: Mul"),
    ("JavaScript", "const area = (w, h) => {\n  return w * h;\n};", "const area = (w, h) =>"),
    ("C++", "template <typename T>\nT area(T w, T h) {\n    return w * h;\n}",
     "template <typename T>\nT area(T w, T h)"),
    ("Kotlin", "fun area(w: Int, h: Int): Int {\n    return w * h\n}", "fun area(w: Int, h: Int): Int"),  # no field
    ("Ruby", "def area(w, h)\n  w * h\nend", "def area(w, h)"),
])
def test_the_head_is_what_comes_before_the_body(language, code, head):
    assert signature(code, language) == head


def test_without_a_grammar_or_a_function_the_first_line_stands_in():
    assert signature("area w h = w * h {\n}", "Haskell") == "area w h = w * h"
    assert signature("x = 1\ny = 2\n", "Python") == "x = 1"
    assert signature("", "Python") == ""
