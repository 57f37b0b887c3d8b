"""Run many (problem, completion) checks on a few sandbox slots at once, each slot with its own uid."""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from evaluation.executors import Result, executor_for
from evaluation.sandbox import Limits


def check_all(jobs: list[tuple], limits: Limits, workers: int = 2, progress: bool = True) -> list[Result]:
    """jobs: (problem, completion) pairs; results in the same order. A missing toolchain fails before anything runs,
    with the executor's own reason."""
    for language in sorted({p.language for p, _ in jobs}):
        ok, why = executor_for(language).available()
        if not ok:
            raise RuntimeError(f"cannot execute {language} samples: {why}")
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
