"""generate -> execute -> pass@k: evaluate() a checkpoint, or score() completions made elsewhere; writes results."""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from common.atomic import write_atomic
from evaluation import benchmarks, execute, passk
from evaluation.config import EvalSettings
from evaluation.execute import check_all, ensure_executable
from evaluation.report import print_table
from evaluation.sandbox import Limits


def limits_of(s: EvalSettings) -> Limits:
    return Limits(wall_seconds=s.wall_seconds, cpu_seconds=s.cpu_seconds, memory_bytes=s.memory_mb << 20,
                  processes=s.processes)


def score(problems: list[benchmarks.Problem], completions: list[list[str]], settings: EvalSettings,
          out_dir: str | Path, model: str | None = None, timings: dict | None = None) -> dict:
    """Execute every completion (completions[i] belongs to problems[i]), write samples.jsonl then eval.json into
    out_dir, print the table, and return eval.json's content."""
    if len(problems) != len(completions):
        raise ValueError(f"{len(problems)} problems but {len(completions)} lists of completions")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(p, c) for p, cs in zip(problems, completions) for c in cs]
    start = time.perf_counter()
    results = check_all(jobs, limits_of(settings), workers=settings.workers, progress=settings.progress)
    seconds = time.perf_counter() - start
    lines, counts, statuses = [], {}, Counter()
    for (problem, completion), result in zip(jobs, results):
        n, c = counts.get(problem.task_id, (0, 0))
        counts[problem.task_id] = (n + 1, c + result.passed)
        statuses[result.status] += 1
        lines.append(json.dumps({"task_id": problem.task_id, "completion": completion, "passed": result.passed,
                                 "status": result.status, "detail": result.detail, "seconds": result.seconds}))
    write_atomic(out / "samples.jsonl", "\n".join(lines) + "\n")
    ks = [k for k in settings.k if all(n >= k for n, _ in counts.values())]
    tasks = passk.per_task(counts, ks)
    for task, (n, c) in counts.items():
        tasks[task] = {"n": n, "correct": c, **tasks[task]}
    report = {
        "model": str(model) if model else None, "benchmark": settings.benchmark, "n_tasks": len(counts),
        "n_samples": len(jobs), "overall": passk.overall(tasks, ks), "status_counts": dict(sorted(statuses.items())),
        "tasks": tasks, "settings": settings.as_dict(),
        "timings": {**(timings or {}), "execute_seconds": round(seconds, 3),
                    "samples_per_second": round(len(jobs) / seconds, 2) if seconds else None},
    }
    write_atomic(out / "eval.json", json.dumps(report, indent=2) + "\n")
    print_table(report)
    return report


def cannot_execute(settings: dict) -> str | None:
    """Why the benchmark these settings name cannot be executed here, or None."""
    s = EvalSettings.from_kwargs(**settings)
    return execute.cannot_execute(p.language for p in benchmarks.load(s.benchmark, s.limit))


def evaluate(model_dir: str | Path, out_dir: str | Path, **settings) -> dict:
    """Generate completions for a benchmark with the checkpoint in model_dir (any folder transformers loads), execute
    them sandboxed, and write out_dir/eval.json and out_dir/samples.jsonl. settings: EvalSettings fields
    (benchmark, limit, mode, n, temperature, top_p, num_beams, k, max_new_tokens, batch_size, seed, device, workers,
    wall_seconds, cpu_seconds, memory_mb, processes, progress). Returns eval.json's content."""
    from evaluation.generate import complete, load
    from evaluation.stops import stops_for

    s = EvalSettings.from_kwargs(**settings)
    problems = benchmarks.load(s.benchmark, s.limit)
    start = time.perf_counter()
    model, tok = load(model_dir, s.device)
    ensure_executable(p.language for p in problems)  # before minutes of generation, not after
    completions: list[list[str]] = [[] for _ in problems]
    for language in sorted({p.language for p in problems}):  # one language's stop sequences per generate call
        index = [i for i, p in enumerate(problems) if p.language == language]
        made = complete(model, tok, [problems[i].prompt for i in index], stops_for(language), s)
        for i, texts in zip(index, made):
            completions[i] = texts
    timings = {"generate_seconds": round(time.perf_counter() - start, 3)}
    return score(problems, completions, s, out_dir, model=str(model_dir), timings=timings)


def read_samples(path: str | Path, problems: list[benchmarks.Problem]) -> tuple[list, list[list[str]]]:
    """(problems, completions) from a JSONL of {"task_id", "completion"} rows, in the benchmark's order; only tasks
    that have samples. Unknown task ids fail, naming the line."""
    by_id = {p.task_id: p for p in problems}
    grouped: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("task_id") not in by_id or not isinstance(row.get("completion"), str):
                raise benchmarks.BenchmarkError(f"{path}:{n}: needs a task_id of the benchmark and a completion string")
            grouped.setdefault(row["task_id"], []).append(row["completion"])
    chosen = [p for p in problems if p.task_id in grouped]
    return chosen, [grouped[p.task_id] for p in chosen]


def score_samples(samples: str | Path | None, out_dir: str | Path, canonical: bool = False, **settings) -> dict:
    """Execute completions made elsewhere (a samples JSONL), or with canonical=True each problem's canonical
    solution, and write the same outputs as evaluate()."""
    s = EvalSettings.from_kwargs(**settings)
    problems = benchmarks.load(s.benchmark, s.limit)
    if canonical:
        missing = [p.task_id for p in problems if p.canonical_solution is None]
        if missing:
            raise benchmarks.BenchmarkError(f"no canonical_solution for {', '.join(missing[:5])}")
        chosen, completions = problems, [[p.canonical_solution] * s.n for p in problems]
    else:
        chosen, completions = read_samples(samples, problems)
    return score(chosen, completions, s, out_dir, model=None)
