"""The harness end to end: canonical solutions score 1.0, empty and wrong ones 0.0; the tiny model runs through it."""
import json

import pytest

from evaluation import benchmarks
from evaluation.__main__ import main
from evaluation.config import EvalSettings
from evaluation.harness import evaluate, score, score_samples


def test_all_canonical_humaneval_solutions_pass(sandboxed, tmp_path):
    report = score_samples(None, tmp_path, canonical=True, progress=False)
    assert report["n_tasks"] == 164 and report["overall"] == {"pass@1": 1.0}
    assert report["status_counts"] == {"passed": 164}
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 164 and all(r["passed"] and r["status"] == "passed" for r in rows)


def test_empty_and_wrong_completions_score_zero(sandboxed, tmp_path):
    problems = benchmarks.load("humaneval", limit=20)
    wrong = ["    return None\n", "    raise NotImplementedError\n", "    return (\n", ""]
    completions = [[wrong[i % 4], ""] for i in range(len(problems))]
    report = score(problems, completions, EvalSettings(mode="sample", n=2, k=(1, 2), progress=False), tmp_path)
    assert report["overall"] == {"pass@1": 0.0, "pass@2": 0.0}
    assert report["status_counts"]["syntax"] == 5 and "passed" not in report["status_counts"]


def test_mixed_samples_give_the_estimator_value(sandboxed, tmp_path):
    problem = benchmarks.load("humaneval", limit=1)[0]
    samples = tmp_path / "s.jsonl"
    rows = [problem.canonical_solution] * 3 + ["    return None\n"] * 2
    samples.write_text("".join(json.dumps({"task_id": problem.task_id, "completion": c}) + "\n" for c in rows))
    report = score_samples(samples, tmp_path / "out", mode="sample", n=5, k="1,2", progress=False)
    assert report["overall"] == pytest.approx({"pass@1": 0.6, "pass@2": 0.9})  # 1 - C(2,2)/C(5,2) = 0.9
    assert report["tasks"][problem.task_id]["correct"] == 3


def test_the_tiny_model_runs_through_the_whole_harness(sandboxed, tiny_model, tmp_path):
    report = evaluate(tiny_model, tmp_path, limit=3, mode="sample", n=2, k=(1, 2), max_new_tokens=16,
                      batch_size=4, progress=False)
    on_disk = json.loads((tmp_path / "eval.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert on_disk["model"] == str(tiny_model) and on_disk["n_samples"] == 6
    assert set(on_disk["tasks"]) == {"HumanEval/0", "HumanEval/1", "HumanEval/2"}
    assert all(0.0 <= v <= 1.0 for v in on_disk["overall"].values()) and set(on_disk["overall"]) == {"pass@1",
                                                                                                    "pass@2"}
    assert on_disk["timings"]["generate_seconds"] > 0 and on_disk["settings"]["seed"] == 1234
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["status"] in {"passed", "failed", "syntax", "crashed", "timeout", "memory"}
                                  for r in rows)


def test_the_cli_scores_samples_and_prints_the_table(sandboxed, tmp_path, capsys):
    problem = benchmarks.load("humaneval", limit=2)[1]
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": problem.task_id, "completion": problem.canonical_solution}) + "\n")
    assert main(["--samples", str(samples), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "HumanEval/1" in printed and "pass@1 = 1.0000" in printed
    assert json.loads((tmp_path / "o" / "eval.json").read_text())["overall"] == {"pass@1": 1.0}
