"""bench.quality_phases: the sample it draws and the table it prints, on a tiny folder."""
from __future__ import annotations

import sys

from bench import quality_phases
from pipeline.quality.analyze import captures, parse
from pipeline.quality.specs import SPECS


def corpus(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.py").write_text("def f(x):\n    # twice\n    return g(x) * 2\n")
    (tmp_path / "a" / "two.c").write_text("int main(void) { return puts(\"hi\"); }\n")
    (tmp_path / "a" / "notes.txt").write_text("no grammar for this\n")
    (tmp_path / "a" / "bad.py").write_bytes(b"\xff\xfe not utf-8\n")
    return tmp_path


def test_sample_takes_utf8_files_with_a_grammar_the_same_way_for_a_seed(tmp_path):
    root = str(corpus(tmp_path))
    got = quality_phases.sample(root, 10, seed=3)
    assert sorted((key, path.rsplit("/", 1)[-1]) for _, _, key, path in got) == [("C", "two.c"), ("Python", "one.py")]
    assert [p for *_, p in got] == [p for *_, p in quality_phases.sample(root, 10, seed=3)]
    assert len(quality_phases.sample(root, 1, seed=3)) == 1


def test_main_prints_each_phase_against_the_bare_parse(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["quality_phases", "--corpus", str(corpus(tmp_path)), "--files", "5"])
    assert quality_phases.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("2 files")
    for line in ("parse", "captures", "error ratio", "metrics", "facts", "quality without the facts",
                 "query without identifiers", "query identifiers alone"):
        assert f"   {line}" in out
    idents = sum(len(captures(parse(data, SPECS[key].grammar, 5000).root_node, key).get("ident", []))
                 for data, _, key, _ in quality_phases.sample(str(tmp_path), 5, 1))
    line = next(x for x in out.splitlines() if x.startswith("captures: "))
    counts = {k: int(v.replace(",", "")) for k, v in (item.rsplit(" ", 1) for item in line[10:].split(", "))}
    assert counts["ident"] == idents > 0
