"""Best-of-N wall-clock timing shared by the benchmarks."""
from __future__ import annotations

import time


def timed(fn, repeats: int) -> float:
    """Seconds of the fastest of `repeats` calls of fn()."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
