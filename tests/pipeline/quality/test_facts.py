"""The quality parse's facts: segments and sft get from them what their own parse gives, without parsing; privacy
takes them afresh for content it rewrites; stale facts and tables without facts fall back to a parse."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pyarrow as pa

from pipeline.config import PrivacyConfig, QualityConfig
from pipeline.dedup import segments as segments_module
from pipeline.dedup.segments import segment_batches, segments
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.privacy.stage import PrivacyScrubber
from pipeline.quality import facts
from pipeline.quality.stage import QualityScorer
from pipeline.sft import extract as extract_module
from pipeline.sft.extract import extract

JAVA = '''package p;

/** A counter that only goes up. */
public class Counter {
    private int n;

    /**
     * Adds one.
     * @return the new count
     */
    public int inc() {
        n += 1;
        // never negative
        return n;
    }

    int get() { return n; }
}
'''
JS = '''/** Adds two numbers. */
export function add(a, b) {
  const s = a + b;
  return s;
}

// Doubles a value.
const twice = (x) => {
  return x * 2;
};

class Box {
  constructor(w) {
    this.w = w;
  }
}
'''
GO = '''package main

// Sum adds the numbers.
func Sum(xs []int) int {
\tt := 0
\tfor _, x := range xs {
\t\tt += x
\t}
\treturn t
}

type point struct {
\tx, y int
}
'''
RUST = '''/// Parses the input.
#[inline]
fn parse(s: &str) -> i32 {
    let v = s.trim();
    v.parse().unwrap_or(0)
}

struct P {
    x: i32,
}

impl P {
    /// The x.
    fn x(&self) -> i32 {
        self.x
    }
}
'''
C = '''#include <stdio.h>

/* Prints a greeting
   to standard output. */
static void greet(const char *who) {
    printf("hi %s\\n", who);
    /* done */
}

int main(void) {
    greet("you");
    return 0;
}
'''
CPP = '''#include <vector>

// A bag of ints.
class Bag {
  public:
    // Adds one item.
    void add(int x) {
        items.push_back(x);
    }
  private:
    std::vector<int> items;
};
'''
PYTHON = '''"""Temperatures."""


class Thermo:
    """Reads a sensor."""

    def read(self, raw):
        """Raw counts to degrees."""
        # the sensor is offset
        value = raw * 0.5

        return value - 40


def helper(a, b):
    total = a + b
    if total > 10:
        total -= 10
    return total
'''


def _stdlib(name: str) -> str:
    return (Path(json.__file__).parent / name).read_text()


FILES = [("A.java", JAVA), ("a.js", JS), ("main.go", GO), ("lib.rs", RUST), ("hello.c", C), ("bag.cpp", CPP),
         ("thermo.py", PYTHON), ("decoder.py", _stdlib("decoder.py")), ("encoder.py", _stdlib("encoder.py"))]
PERMISSIVE = QualityConfig(min_score=0.0, max_error_ratio=1.0)


def _quality(named=FILES, cfg: QualityConfig = PERMISSIVE) -> pa.RecordBatch:
    batch = to_files_batch([RawRecord("s", "r", path, text.encode()) for path, text in named])
    return QualityScorer(cfg).apply(batch)


def _refuse_parsing(monkeypatch):
    """From here on segments and sft may not parse: any parse they would make fails the test."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(segments_module, "parse", refuse)
    monkeypatch.setattr(extract_module, "parse", refuse)


def test_facts_give_what_each_stage_parse_gives_without_parsing(monkeypatch):
    rows = _quality().to_pylist()
    assert all(r["reject_reason"] is None and facts.usable(r) for r in rows)
    own = {(r["path"], n): segments(r["content"], r["language"], n, 2000.0) for r in rows for n in (1, 3, 5)}
    pairs = {r["path"]: extract(r["content"], r["language"]) for r in rows}
    _refuse_parsing(monkeypatch)
    for row in rows:
        for n in (1, 3, 5):
            assert sorted(facts.row_segments(row, n, 2000.0)) == sorted(own[row["path"], n]), row["path"]
        assert facts.row_candidates(row, 2000.0) == pairs[row["path"]], row["path"]
    names = {r["path"]: [c["name"] for c in r["sft_candidates"]] for r in rows}
    assert names["A.java"] == ["inc"] and names["a.js"] == ["add"] and names["thermo.py"] == ["read"]
    assert names["lib.rs"] == ["parse", "x"] and names["hello.c"] == ["greet"] and names["main.go"] == ["Sum"]
    assert "raw_decode" in names["decoder.py"] and "iterencode" in names["encoder.py"]
    written = [p for p, _ in FILES if not p.endswith("coder.py")]
    assert sum(len(own[p, 1]) for p in written) == 20 and sum(len(pairs[p]) for p in written) == 8


def test_segment_rows_come_from_the_facts(monkeypatch):
    batch = _quality()
    before = pa.Table.from_batches(segment_batches([batch], 3, 2000.0))
    _refuse_parsing(monkeypatch)
    after = pa.Table.from_batches(segment_batches([batch], 3, 2000.0))
    order = [("id", "ascending"), ("start_line", "ascending"), ("end_line", "ascending")]
    assert after.sort_by(order).equals(before.sort_by(order)) and after.num_rows > 20


def test_rejected_rows_and_files_without_a_grammar_carry_no_facts():
    batch = to_files_batch([RawRecord("s", "r", "x.py", b"def f(:\n  pass\n"),
                            RawRecord("s", "r", "notes.yaml", b"a: 1\n"),
                            RawRecord("s", "r", "ok.py", PYTHON.encode())])
    rows = QualityScorer(QualityConfig()).apply(batch).to_pylist()
    assert [r["reject_reason"] for r in rows] == ["syntax_error", None, None]
    assert [r["facts_sha256"] is None for r in rows] == [True, True, False]
    assert rows[2]["facts_sha256"] == rows[2]["content_sha256"]


SECRET = textwrap.dedent('''
    def connect(host):
        """Opens the client."""
        key = "AKIAIOSFODNN7EXAMPLQ"
        secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKQ"
        return client(host, key, secret)
    ''')


def test_content_rewritten_by_privacy_gets_fresh_facts_from_one_parse(monkeypatch):
    kept = _quality([("creds.py", SECRET), ("thermo.py", PYTHON)])
    scrubbed = PrivacyScrubber(PrivacyConfig()).apply(kept)
    assert scrubbed.schema == PrivacyScrubber(PrivacyConfig()).output_schema(kept.schema)
    changed, same = scrubbed.to_pylist()
    assert changed["content"] != SECRET and "AKIAIOSFODNN7EXAMPLQ" not in changed["content"]
    assert facts.usable(changed) and facts.usable(same)
    assert {k: changed[k] for k in facts.FACT_COLUMNS} == facts.facts_of(changed["content"], "Python", 2000.0)
    assert {k: same[k] for k in facts.FACT_COLUMNS} == {k: v for k, v in kept.to_pylist()[1].items()
                                                        if k in facts.FACT_COLUMNS}  # untouched row: as it was
    pair_parsed = extract(changed["content"], "Python")[0]
    segments_parsed = segments(changed["content"], "Python", 1, 2000.0)
    _refuse_parsing(monkeypatch)
    (pair,) = facts.row_candidates(changed, 2000.0)
    assert pair == pair_parsed and "AKIAIOSFODNN7EXAMPLQ" not in pair.code
    assert facts.row_segments(changed, 1, 2000.0) == segments_parsed


def test_content_rewritten_by_privacy_whose_parse_runs_out_of_budget_is_parsed_again(monkeypatch):
    from pipeline.privacy import stage as privacy_stage

    kept = _quality([("creds.py", SECRET)])
    monkeypatch.setattr(privacy_stage, "facts_of", lambda *_args: None)  # the parse ran past the budget
    (changed,) = PrivacyScrubber(PrivacyConfig()).apply(kept).to_pylist()
    assert "AKIAIOSFODNN7EXAMPLQ" not in changed["content"] and not facts.usable(changed)
    (pair,) = facts.row_candidates(changed, 2000.0)
    assert pair == extract(changed["content"], "Python")[0] and "AKIAIOSFODNN7EXAMPLQ" not in pair.code
    assert facts.row_segments(changed, 1, 2000.0) == segments(changed["content"], "Python", 1, 2000.0)


def _full_parses(monkeypatch) -> list[bytes]:
    """The sources tree-sitter parses from scratch from here on (an incremental re-parse, given the old tree, is
    not one)."""
    from pipeline.quality import analyze as analyze_module

    full, real = [], analyze_module.parse

    def counted(source, grammar, budget_ms, old_tree=None):
        if old_tree is None:
            full.append(source)
        return real(source, grammar, budget_ms, old_tree)

    monkeypatch.setattr(analyze_module, "parse", counted)
    monkeypatch.setattr(facts, "parse", counted)
    return full


def test_in_a_row_pass_the_facts_of_rewritten_content_come_from_the_quality_tree(monkeypatch):
    from pipeline.privacy import stage as privacy_stage
    from pipeline.row_pass import KEPT_BY_ALL, LEFT_AT, RowPass

    rows = [("creds.py", SECRET), ("thermo.py", PYTHON), ("A.java", JAVA.replace("Adds one.", "Adds one (ann@x.org)."))]
    batch = to_files_batch([RawRecord("s", "r", p, t.encode()) for p, t in rows])
    stages = [QualityScorer(QualityConfig(min_score=0.0)), PrivacyScrubber(PrivacyConfig())]
    expected = stages[1].apply(stages[0].apply(batch)).to_pylist()  # one by one: privacy parses what it rewrote
    full = _full_parses(monkeypatch)
    monkeypatch.setattr(privacy_stage, "facts_of", lambda *_a: (_ for _ in ()).throw(AssertionError("parsed")))
    out = RowPass(stages).apply(batch).to_pylist()
    assert len(full) == 3  # one parse per file; the two rewritten ones re-parsed incrementally only
    assert all(r[LEFT_AT] == KEPT_BY_ALL for r in out)
    assert [{k: v for k, v in r.items() if k != LEFT_AT} for r in out] == expected
    creds, _, java = out
    assert "<KEY>" in creds["content"] and "<EMAIL>" in java["content"] and facts.usable(creds) and facts.usable(java)
    assert [c["comment"] for c in java["sft_candidates"]] == ["Adds one (<EMAIL>).\n@return the new count"]
    assert stages[0].rewrite is None and stages[1]._ahead == {}  # the callers' stages were not linked


def test_incremental_facts_equal_a_fresh_parse_across_multibyte_text_and_new_lines():
    from pipeline.quality.analyze import analyze

    text = 'def f(x):\n    """Mail bøb@exämple.com — or ✉ bob@example.com."""\n    return "k" + x\n\n\n' \
           'class A:\n    def g(self):\n        """Doc."""\n        return "s3cr3t"\n'
    spans = [(text.index("bøb"), text.index("bøb") + 15, "<EMAIL>"),
             (text.index("bob@"), text.index("bob@") + 15, "<A\nB>"),  # a placeholder with a new line
             (text.index("s3cr3t"), text.index("s3cr3t") + 6, "<KEY>")]
    new = text
    for start, end, placeholder in reversed(spans):
        new = new[:start] + placeholder + new[end:]
    parsed = analyze(text, "Python", 2000.0, keep_tree=True)["parsed"]
    got = facts.facts_after_edits(parsed, text, new, spans, 2000.0)
    assert got == facts.facts_of(new, "Python", 2000.0)
    assert [(s["start_line"], s["end_line"]) for s in got["segment_facts"]] == [(1, 4), (7, 10), (8, 10)]


def test_facts_of_a_file_without_a_grammar_or_over_the_budget_are_none():
    assert facts.facts_of("a: 1\n", "YAML", 2000.0) is None
    assert facts.facts_of(_stdlib("decoder.py") * 50, "Python", 0.001) is None


def test_tables_written_before_the_facts_are_parsed():
    row = {k: v for k, v in _quality([("thermo.py", PYTHON)]).to_pylist()[0].items() if k not in facts.FACT_COLUMNS}
    assert not facts.usable(row)
    assert facts.row_segments(row, 3, 2000.0) == segments(PYTHON, "Python", 3, 2000.0)
    assert facts.row_candidates(row, 2000.0) == extract(PYTHON, "Python")


HEADER = '''#ifndef BAG_H
#define BAG_H
#include <vector>

namespace shop {

// A bag of ints.
class Bag {
  public:
    // Adds one item.
    void add(int x) {
        items.push_back(x);
        const char *key = "AKIAIOSFODNN7EXAMPLQ";
    }
  private:
    std::vector<int> items;
};

}  // namespace shop
#endif
'''
TSX = '''import React from "react";

/** Lists the items. */
export function Items(props: { items: string[] }) {
  return (
    <ul>
      {props.items.map((item) => <li key={item}>{item}</li>)}
    </ul>
  );
}

/** Counts the items. */
export function count(items: string[]): number {
  let n = 0;
  for (const item of items) {
    n += 1;
  }
  return n;
}
'''


def test_a_file_another_grammar_parses_better_takes_its_facts_from_that_grammar_s_tree():
    # the second grammar is tried only on files over their language's tolerated error ratio (here the defaults)
    rows = _quality([("bag.h", HEADER), ("hello.tsx", TSX)], QualityConfig(min_score=0.0)).to_pylist()
    assert [(r["language"], r["quality_grammar"]) for r in rows] == [("C", "cpp"), ("TypeScript", "tsx")]
    for row, key, own in zip(rows, ("C++", "TSX"), ("C", "TypeScript")):
        assert {k: row[k] for k in facts.FACT_COLUMNS} == facts.facts_of(row["content"], key, 2000.0)
        # the language's own grammar stumbles on these files: its facts would differ
        assert facts.facts_of(row["content"], own, 2000.0) != facts.facts_of(row["content"], key, 2000.0)
        # without facts, segments and sft parse with the grammar quality chose and find the same
        bare = {k: v for k, v in row.items() if k not in facts.FACT_COLUMNS}
        assert sorted(facts.row_segments(bare, 1, 2000.0)) == sorted(facts.row_segments(row, 1, 2000.0))
        assert facts.row_candidates(bare, 2000.0) == facts.row_candidates(row, 2000.0)
    assert [[c["name"] for c in r["sft_candidates"]] for r in rows] == [["add"], ["Items", "count"]]
    # the TypeScript grammar's tree of the .tsx file holds neither function
    assert facts.facts_of(rows[1]["content"], "TypeScript", 2000.0)["sft_candidates"] == []


def test_privacy_takes_fresh_facts_with_the_grammar_quality_chose():
    kept = _quality([("bag.h", HEADER)])
    (changed,) = PrivacyScrubber(PrivacyConfig()).apply(kept).to_pylist()
    assert "AKIAIOSFODNN7EXAMPLQ" not in changed["content"] and facts.usable(changed)
    assert {k: changed[k] for k in facts.FACT_COLUMNS} == facts.facts_of(changed["content"], "C", 2000.0, "cpp")
    assert [c["name"] for c in changed["sft_candidates"]] == ["add"]


def test_each_grammar_names_one_spec_so_quality_grammar_finds_its_way_back():
    from pipeline.quality.specs import SPECS, parse_language

    assert {parse_language("C", spec.grammar) for spec in SPECS.values()} == set(SPECS)  # no grammar serves two keys
    assert parse_language("C", None) == "C" and parse_language("Markdown", None) == "Markdown"
