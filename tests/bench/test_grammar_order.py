"""The grammar-order benchmark: parses counted for both orders on a tiny folder, and a missing corpus refused."""
from __future__ import annotations

from bench import grammar_order
from pipeline.quality import analyze as analyze_module

HEADER = "namespace geo {\ntemplate <typename T>\nclass Point {\n public:\n  T x;\n" \
         "  T norm() const { return x; }\n};\n}\n"
C = "int add(int a, int b) {\n    return a + b;\n}\n"
TSX = "export function Hello() {\n  return <div>hi</div>;\n}\n"
GENERIC = "export function first<T>(xs: T[]): T {\n  return xs[0];\n}\n"


def test_both_orders_are_counted_and_compared(tmp_path, capsys):
    for name, text in (("point.h", HEADER), ("add.c", C), ("hello.tsx", TSX), ("legacy.ts", TSX),
                       ("first.ts", GENERIC), ("notes.md", "# x\n")):
        (tmp_path / name).write_text(text)
    real = analyze_module.parse, analyze_module.grammars_to_try
    assert grammar_order.main(["--corpus", str(tmp_path), "--rounds", "1"]) == 0
    assert (analyze_module.parse, analyze_module.grammars_to_try) == real  # put back after the run
    out = capsys.readouterr().out
    assert "5 files (2 C, 3 TypeScript)" in out
    # baseline: JSX in a .ts file fails TypeScript's grammar and gets TSX's; ours: TypeScript's alone
    baseline, ours = out.splitlines()[1:3]
    assert baseline.startswith("related always tried (baseline)") and ours.startswith("grammars_to_try")
    assert "parses        6 (second tries 1; c 1, cpp 1, tsx 2, typescript 2)" in baseline
    assert "parses        5 (second tries 0; c 1, cpp 1, tsx 1, typescript 2)" in ours
    assert "files with another grammar: 1; another accept/reject: 1; other metrics: 1" in out
    assert "  TypeScript .ts: 1 kept -> rejected" in out


def test_a_missing_corpus_exits_2_naming_it(tmp_path, capsys):
    assert grammar_order.main(["--corpus", str(tmp_path / "nope")]) == 2
    assert f"no corpus at {tmp_path / 'nope'}" in capsys.readouterr().err
