"""The grammar-order benchmark: parses counted for both orders on a tiny folder, and a missing corpus refused."""
from __future__ import annotations

from bench import grammar_order
from pipeline.quality import analyze as analyze_module

HEADER = "namespace geo {\ntemplate <typename T>\nclass Point {\n public:\n  T x;\n" \
         "  T norm() const { return x; }\n};\n}\n"
C = "int add(int a, int b) {\n    return a + b;\n}\n"
TSX = "export function Hello() {\n  return <div>hi</div>;\n}\n"


def test_both_orders_are_counted_and_compared(tmp_path, capsys):
    for name, text in (("point.h", HEADER), ("add.c", C), ("hello.tsx", TSX), ("notes.md", "# x\n")):
        (tmp_path / name).write_text(text)
    real = analyze_module.parse, analyze_module.first_grammar
    assert grammar_order.main(["--corpus", str(tmp_path), "--rounds", "1"]) == 0
    assert (analyze_module.parse, analyze_module.first_grammar) == real  # put back after the run
    out = capsys.readouterr().out
    assert "3 files (2 C, 1 TypeScript)" in out
    # baseline: c for both C files then cpp for the header, typescript then tsx; new: cpp, c, tsx once each
    baseline, ours = out.splitlines()[1:3]
    assert baseline.startswith("own grammar first (baseline)") and ours.startswith("first_grammar")
    assert "parses        5 (second tries 2; c 2, cpp 1, tsx 1, typescript 1)" in baseline
    assert "parses        3 (second tries 0; c 1, cpp 1, tsx 1)" in ours
    assert "files with another grammar: 0; another accept/reject: 0; other metrics: 0" in out


def test_a_missing_corpus_exits_2_naming_it(tmp_path, capsys):
    assert grammar_order.main(["--corpus", str(tmp_path / "nope")]) == 2
    assert f"no corpus at {tmp_path / 'nope'}" in capsys.readouterr().err
