"""Samples executed per second: the evaluation sandbox vs the same sandbox judged by exit status alone (before the
completion marker) vs a plain `python -c` subprocess vs in-process exec()."""
from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from evaluation import benchmarks, sandbox
from evaluation.execute import check_all
from evaluation.executors.python import interpreter, program
from evaluation.sandbox import Limits

WRONG = "    return None\n"


def samples(wrong: int) -> list[tuple]:
    """Every canonical HumanEval solution, and `wrong` failing ones (the first problems answered with None)."""
    problems = benchmarks.load("humaneval")
    return [(p, p.canonical_solution) for p in problems] + [(p, WRONG) for p in problems[:wrong]]


def run_sandbox(jobs, workers: int) -> int:
    return sum(r.passed for r in check_all(jobs, Limits(), workers=workers, progress=False))


def run_sandbox_exit_status(jobs, workers: int) -> int:
    """The program run straight in the sandbox, passed on exit status 0 (no driver, no nonce): the rule before
    samples had to prove their tests finished."""
    python, prefix = interpreter()
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    def one(job):
        slot = slots.get()
        try:
            with sandbox.Sandbox(slot, ro_paths=(prefix,)) as box:
                path = box.write("program.py", program(*job))
                return box.run([python, "-I", "-B", path], Limits()).returncode == 0
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(one, jobs))


def run_subprocess(jobs, workers: int) -> int:
    python, _ = interpreter()

    def one(job):
        try:
            return subprocess.run([python, "-I", "-B", "-c", program(*job)], capture_output=True,
                                  timeout=Limits().wall_seconds).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(one, jobs))


def run_in_process(jobs, workers: int) -> int:
    """exec() in this process with fresh globals: no isolation and no limits at all (the floor)."""
    passed = 0
    for job in jobs:
        try:
            exec(compile(program(*job), "<sample>", "exec"), {"__name__": "__sample__"})
            passed += 1
        except BaseException:  # noqa: BLE001 - a failing sample of any kind is just a failure here
            pass
    return passed


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=3, help="runs per method; the median is reported")
    p.add_argument("--workers", type=int, default=2, help="samples at once (sandbox and subprocess)")
    p.add_argument("--wrong", type=int, default=36, help="failing samples added to the 164 canonical ones")
    a = p.parse_args(argv)
    jobs = samples(a.wrong)
    expected = len(jobs) - a.wrong
    methods = (("sandbox", run_sandbox), ("sandbox, exit 0", run_sandbox_exit_status),
               ("subprocess", run_subprocess), ("in-process exec", run_in_process))
    runs: dict[str, list[float]] = {name: [] for name, _ in methods}
    for _ in range(a.repeats):  # the methods take turns, so a busy spell on the machine hits each of them alike
        for name, fn in methods:
            start = time.perf_counter()
            passed = fn(jobs, a.workers)
            runs[name].append(len(jobs) / (time.perf_counter() - start))
            if passed != expected:
                raise SystemExit(f"{name}: {passed} passed, expected {expected}")
    rates = {name: statistics.median(r) for name, r in runs.items()}
    print(f"{len(jobs)} samples ({expected} canonical that pass, {a.wrong} wrong), {a.workers} workers, "
          f"median of {a.repeats} runs")
    for name, rate in rates.items():
        print(f"  {name:<16} {rate:8.1f} samples/s   ({rates['sandbox'] and rate / rates['sandbox']:.1f}x sandbox)")
    print(f"completion marker: {rates['sandbox, exit 0'] / rates['sandbox']:.2f}x the time of judging by exit status")
    print(f"sandbox overhead: {rates['subprocess'] / rates['sandbox']:.2f}x the time of a plain subprocess, "
          f"{rates['in-process exec'] / rates['sandbox']:.0f}x in-process exec")


if __name__ == "__main__":
    main()
