"""pass@k with the unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), per task and averaged."""
from __future__ import annotations

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c of them correct) passes.
    Computed as 1 - prod_{i=n-c+1..n} (1 - k / i), which never forms the large binomials."""
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n} c={c} k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def per_task(counts: dict[str, tuple[int, int]], ks: list[int]) -> dict[str, dict[str, float]]:
    """{task: {"pass@k": value}} for each k not above that task's n; counts: task -> (n samples, c correct)."""
    return {task: {f"pass@{k}": pass_at_k(n, c, k) for k in ks if k <= n} for task, (n, c) in counts.items()}


def overall(table: dict[str, dict[str, float]], ks: list[int]) -> dict[str, float]:
    """Mean over tasks of each pass@k that every task has (a k above some task's n is left out)."""
    out = {}
    for k in ks:
        values = [row.get(f"pass@{k}") for row in table.values()]
        if values and all(v is not None for v in values):
            out[f"pass@{k}"] = float(np.mean(values))
    return out
