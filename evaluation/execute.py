"""Run many (problem, completion) checks on a few sandbox slots at once, each slot with its own uid."""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from evaluation.executors import Result, ToolchainMissing, executor_for
from evaluation.sandbox import Limits


def cannot_execute(languages) -> str | None:
    """Why samples of one of these languages cannot run here (the first such language), or None."""
    for language in sorted(set(languages)):
        ok, why = executor_for(language).available()
        if not ok:
            return f"cannot execute {language} samples: {why}"
    return None


def ensure_executable(languages) -> None:
    """ToolchainMissing (the executor's own one-line reason) unless samples of every language can run here."""
    why = cannot_execute(languages)
    if why:
        raise ToolchainMissing(why)


def check_all(jobs: list[tuple], limits: Limits, workers: int = 2, progress: bool = True) -> list[Result]:
    """jobs: (problem, completion) pairs; results in the same order. A missing toolchain fails before anything runs,
    with the executor's own reason."""
    ensure_executable(p.language for p, _ in jobs)
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    def one(job):
        problem, completion = job
        slot = slots.get()
        try:
            return executor_for(problem.language).check(problem, completion, limits, slot=slot)
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(one, jobs), total=len(jobs), desc="execute", disable=not progress, unit="sample"))
