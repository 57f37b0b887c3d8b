"""The stage's syntax check for every grammar: a valid snippet is kept, the same snippet with a realistic breakage
(a closing bracket dropped, a line deleted, the file cut short) is rejected with reason syntax_error.

Each snippet and each breakage was also put through the language's own compiler where this machine has one
(python, javac, gcc/g++, node, tsc's parser, gofmt, rustfmt, php -l, ruby -c, luac -p, bash -n, PostgreSQL's parser):
the snippets are accepted and the breakages rejected by them too. Breakages are checked with C/C++'s tolerated error
ratio set to 0 (as for every other language); what that tolerance lets through is pinned separately below.
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from pipeline import reasons
from pipeline.config import QualityConfig
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.quality.specs import SPECS
from pipeline.quality.stage import QualityScorer

# min_score 0: only the syntax check may reject. STRICT also drops C/C++'s tolerated error ratio (0.02, for macros).
CFG = dataclasses.replace(QualityConfig(), min_score=0.0)
STRICT = dataclasses.replace(CFG, error_ratio_by_language={})

# path -> (valid snippet, {breakage: (text to find, replacement)}); "truncated" cuts the file before the text found
SNIPPETS = {
    "stats.py": ('''def mean(values):
    """Arithmetic mean."""
    total = 0
    for v in values:
        total += v
    return total / len(values)


def spread(values):
    return max(values) - min(values)
''', {"unbalanced bracket": ("max(values)", "max(values"),
      "deleted line": ("        total += v\n", ""),
      "truncated": ("\n        total += v", "")}),
    "Stack.java": ('''public class Stack {
    private int[] items = new int[16];
    private int size;

    public void push(int x) {
        if (size == items.length) {
            items = java.util.Arrays.copyOf(items, size * 2);
        }
        items[size++] = x;
    }
}
''', {"unbalanced bracket": ("copyOf(items, size * 2);", "copyOf(items, size * 2;"),
      "deleted line": ("        }\n        items", "        items"),
      "truncated": ("\n        items[size++]", "")}),
    "list.c": ('''#include <stdlib.h>

struct node {
    int value;
    struct node *next;
};

int length(const struct node *n) {
    int k = 0;
    while (n != NULL) {
        k++;
        n = n->next;
    }
    return k;
}
''', {"unbalanced bracket": ("while (n != NULL) {", "while (n != NULL {"),
      "deleted line": ("        n = n->next;\n    }\n", "        n = n->next;\n"),
      "truncated": ("\n        n = n->next;", "")}),
    "grid.cpp": ('''#include <vector>

class Grid {
public:
    explicit Grid(int n) : cells_(n * n, 0), n_(n) {}
    int& at(int r, int c) { return cells_[r * n_ + c]; }

private:
    std::vector<int> cells_;
    int n_;
};

int sum(Grid& g, int n) {
    int s = 0;
    for (int i = 0; i < n; ++i) {
        s += g.at(i, i);
    }
    return s;
}
''', {"unbalanced bracket": ("s += g.at(i, i);", "s += g.at(i, i;"),
      "deleted line": ("    }\n    return s;", "    return s;"),
      "truncated": ("\n        s += g.at", "")}),
    "Counter.cs": ('''using System.Collections.Generic;

public class Counter
{
    private readonly Dictionary<string, int> counts = new Dictionary<string, int>();

    public void Add(string word)
    {
        if (counts.ContainsKey(word))
        {
            counts[word]++;
        }
        else
        {
            counts[word] = 1;
        }
    }
}
''', {"unbalanced bracket": ("if (counts.ContainsKey(word))", "if (counts.ContainsKey(word)"),
      "deleted line": ("            counts[word]++;\n        }\n", "            counts[word]++;\n"),
      "truncated": ("\n            counts[word]++;", "")}),
    "queue.go": ('''package queue

type Queue struct {
\titems []int
}

func (q *Queue) Push(x int) {
\tq.items = append(q.items, x)
}

func (q *Queue) Pop() (int, bool) {
\tif len(q.items) == 0 {
\t\treturn 0, false
\t}
\tx := q.items[0]
\tq.items = q.items[1:]
\treturn x, true
}
''', {"unbalanced bracket": ("append(q.items, x)", "append(q.items, x"),
      "deleted line": ("\tif len(q.items) == 0 {\n", ""),
      "truncated": ("\n\t\treturn 0, false", "")}),
    "cart.js": ('''export class Cart {
  constructor() {
    this.items = [];
  }

  total() {
    return this.items.reduce((sum, item) => sum + item.price * item.count, 0);
  }
}
''', {"unbalanced bracket": ("item.count, 0);", "item.count, 0;"),
      "deleted line": ("  }\n\n  total", "\n  total"),
      "truncated": ("\n    this.items = [];", "")}),
    "cache.ts": ('''export interface Entry<T> {
  value: T;
  expires: number;
}

export class Cache<T> {
  private store = new Map<string, Entry<T>>();

  get(key: string, now: number): T | undefined {
    const e = this.store.get(key);
    return e && e.expires > now ? e.value : undefined;
  }
}
''', {"unbalanced bracket": ("this.store.get(key);", "this.store.get(key;"),
      "deleted line": ("  expires: number;\n}\n", "  expires: number;\n"),
      "truncated": ("\n    const e =", "")}),
    "Badge.tsx": ('''import React from "react";

export function Badge(props: { label: string; count: number }) {
  return (
    <span className="badge">
      {props.label}: {props.count}
    </span>
  );
}
''', {"unbalanced bracket": ("{props.count}", "{props.count"),
      "deleted line": ("    </span>\n", ""),
      "truncated": ("\n      {props.label}", "")}),
    "lib.rs": ('''pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    pub fn push(&mut self, x: T) {
        self.items.push(x);
    }

    pub fn pop(&mut self) -> Option<T> {
        self.items.pop()
    }
}
''', {"unbalanced bracket": ("self.items.push(x);", "self.items.push(x;"),
      "deleted line": ("    }\n\n    pub fn pop", "\n    pub fn pop"),
      "truncated": ("\n        self.items.pop()", "")}),
    "cart.php": ('''<?php

class Cart
{
    private array $items = [];

    public function add(string $name, int $count): void
    {
        if ($count > 0) {
            $this->items[$name] = $count;
        }
    }
}
''', {"unbalanced bracket": ("if ($count > 0) {", "if ($count > 0 {"),
      "deleted line": ("        }\n    }\n}", "    }\n}"),
      "truncated": ("\n            $this->items", "")}),
    "stack.rb": ('''class Stack
  def initialize
    @items = []
  end

  def push(x)
    @items.push(x)
    self
  end

  def pop
    raise "empty" if @items.empty?
    @items.pop
  end
end
''', {"unbalanced bracket": ("@items.push(x)", "@items.push(x"),
      "deleted line": ("    @items = []\n  end\n", "    @items = []\n"),
      "truncated": ("\n    @items.push(x)", "")}),
    "Stack.kt": ('''class Stack<T> {
    private val items = mutableListOf<T>()

    fun push(x: T) {
        items.add(x)
    }

    fun pop(): T? {
        return if (items.isEmpty()) null else items.removeAt(items.size - 1)
    }
}
''', {"unbalanced bracket": ("items.add(x)", "items.add(x"),
      "deleted line": ("        items.add(x)\n    }\n", "        items.add(x)\n"),
      "truncated": ("\n        items.add(x)", "")}),
    "Stack.scala": ('''class Stack[T] {
  private var items: List[T] = Nil

  def push(x: T): Unit = {
    items = x :: items
  }

  def pop(): Option[T] = items match {
    case head :: tail =>
      items = tail
      Some(head)
    case Nil => None
  }
}
''', {"unbalanced bracket": ("def push(x: T): Unit = {", "def push(x: T: Unit = {"),
      "deleted line": ("    items = x :: items\n  }\n", "    items = x :: items\n"),
      "truncated": ("\n    items = x :: items", "")}),
    "backup.sh": ('''#!/bin/bash
set -euo pipefail

backup() {
  local src="$1"
  if [ -d "$src" ]; then
    tar czf "$src.tgz" "$src"
  fi
}

for dir in "$@"; do
  backup "$dir"
done
''', {"unbalanced bracket": ("backup() {", "backup( {"),
      "deleted line": ("  fi\n", ""),
      "truncated": ("\n    tar czf", "")}),
    "stack.lua": ('''local Stack = {}
Stack.__index = Stack

function Stack.new()
  return setmetatable({ items = {} }, Stack)
end

function Stack:push(x)
  table.insert(self.items, x)
end

return Stack
''', {"unbalanced bracket": ("table.insert(self.items, x)", "table.insert(self.items, x"),
      "deleted line": ("  table.insert(self.items, x)\nend\n", "  table.insert(self.items, x)\n"),
      "truncated": ("\n  table.insert", "")}),
    "Stack.swift": ('''struct Stack<Element> {
    private var items: [Element] = []

    mutating func push(_ x: Element) {
        items.append(x)
    }

    mutating func pop() -> Element? {
        return items.popLast()
    }
}
''', {"unbalanced bracket": ("items.append(x)", "items.append(x"),
      "deleted line": ("        items.append(x)\n    }\n", "        items.append(x)\n"),
      "truncated": ("\n        items.append(x)", "")}),
    "orders.sql": ('''CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL,
    total numeric(10, 2)
);

SELECT customer_id, sum(total) AS spent
FROM orders
WHERE total > 0
GROUP BY customer_id
ORDER BY spent DESC;
''', {"unbalanced bracket": ("numeric(10, 2)", "numeric(10, 2"),
      "deleted line": ("    total numeric(10, 2)\n", ""),
      "truncated": ("\n    customer_id integer", "")}),
}
GRAMMAR = {"Badge.tsx": "tsx"}  # .tsx files are TypeScript, measured with its TSX dialect


def broken(text: str, edit: tuple[str, str], kind: str) -> str:
    find, replace = edit
    assert text.count(find) == 1, f"breakage anchor {find!r} must occur once"
    return text[:text.index(find)] if kind == "truncated" else text.replace(find, replace)


def score(path: str, text: str, cfg: QualityConfig = CFG) -> dict:
    batch = to_files_batch([RawRecord("s", "r", path, text.encode())])
    (row,) = QualityScorer(cfg).apply(batch).to_pylist()
    return row


def test_every_grammar_has_a_snippet():
    grammars = {SPECS[score(path, text)["language"]].grammar for path, (text, _) in SNIPPETS.items()}
    assert grammars | set(GRAMMAR.values()) == {spec.grammar for spec in SPECS.values()}


@pytest.mark.parametrize("path", sorted(SNIPPETS))
def test_valid_snippet_is_kept(path):
    row = score(path, SNIPPETS[path][0])
    grammar = GRAMMAR.get(path, SPECS[row["language"]].grammar)
    assert (row["reject_reason"], row["syntax_ok"], row["error_ratio"]) == (None, True, 0.0)
    assert row["quality_grammar"] == grammar


@pytest.mark.parametrize("path, kind", [(p, k) for p in sorted(SNIPPETS) for k in sorted(SNIPPETS[p][1])])
def test_broken_snippet_is_rejected_as_a_syntax_error(path, kind):
    text, edits = SNIPPETS[path]
    row = score(path, broken(text, edits[kind], kind), STRICT)
    assert row["reject_reason"] == reasons.SYNTAX_ERROR
    assert (row["quality_scored"], row["syntax_ok"]) == (True, False)
    detail = re.fullmatch(r"error_ratio=(\d\.\d{4}) > quality\.max_error_ratio=0 \((\w+) grammar\)",
                          row["reject_detail"])
    assert detail and float(detail[1]) == round(row["error_ratio"], 4) and detail[2] == row["quality_grammar"]


@pytest.mark.parametrize("path, kind", [("list.c", "unbalanced bracket"), ("list.c", "deleted line"),
                                        ("grid.cpp", "unbalanced bracket"), ("grid.cpp", "deleted line")])
def test_c_tolerance_keeps_one_small_breakage(path, kind):
    """The cost of tolerating macro confusion in C/C++ (gcc accepts valid files whose trees hold ERROR and MISSING
    nodes): one dropped bracket or brace in a function of a few dozen lines stays under 0.02 and is kept."""
    text, edits = SNIPPETS[path]
    row = score(path, broken(text, edits[kind], kind))
    assert (row["reject_reason"], row["syntax_ok"]) == (None, False)
    assert 0.0 < row["error_ratio"] <= 0.02


def test_c_tolerance_still_rejects_a_truncated_file():
    row = score("list.c", broken(SNIPPETS["list.c"][0], SNIPPETS["list.c"][1]["truncated"], "truncated"))
    assert row["reject_reason"] == reasons.SYNTAX_ERROR
    assert row["reject_detail"].endswith(" > quality.error_ratio_by_language.C=0.02 (c grammar)")
