"""The composite quality score in [0, 1]: a weighted mean of per-aspect subscores, each in [0, 1].

Subscores (1 is good), with the thresholds where they start to fall and where they reach 0:
- syntax:          1 - 10 * error_ratio (a file a tenth broken scores 0)
- complexity:      mean of ramp(cc_mean, 4 -> 15) and ramp(cc_max, 10 -> 40)
- function_length: ramp(fn_mean_lines, 30 -> 150)
- nesting:         ramp(max_nesting, 3 -> 8)
- comments:        comment_ratio / 0.10 capped at 1 (uncommented code scores 0), falling again from 0.8 to 1.0
                   (files that are nearly all comment)
- redundancy:      ramp(redundancy, 0.10 -> 0.50)
- naming:          naming_consistency
- readability:     mean of ramp(avg_line_len, 60 -> 150) and the identifier-length score (1 between 2.5 and 25
                   bytes, falling to 0 at 1 and at 60)
A subscore whose inputs are missing (no functions, no names) is left out and the weights of the rest renormalised.
"""
from __future__ import annotations

ASPECTS = ("syntax", "complexity", "function_length", "nesting", "comments", "redundancy", "naming", "readability")
DEFAULT_WEIGHTS = {"syntax": 0.20, "complexity": 0.15, "function_length": 0.10, "nesting": 0.10, "comments": 0.10,
                   "redundancy": 0.15, "naming": 0.10, "readability": 0.10}


def ramp(x: float, good: float, bad: float) -> float:
    """1 up to `good`, 0 from `bad` on, linear between."""
    if x <= good:
        return 1.0
    if x >= bad:
        return 0.0
    return (bad - x) / (bad - good)


def _ident_score(mean_len: float) -> float:
    if mean_len < 2.5:
        return max(0.0, (mean_len - 1.0) / 1.5)
    return ramp(mean_len, 25.0, 60.0)


def subscores(m: dict) -> dict[str, float | None]:
    cc = None if m.get("cc_mean") is None else (ramp(m["cc_mean"], 4, 15) + ramp(m["cc_max"], 10, 40)) / 2
    comments = min(1.0, m["comment_ratio"] / 0.10) if m["comment_ratio"] <= 0.8 else ramp(m["comment_ratio"], 0.8, 1.0)
    read = ramp(m["avg_line_len"], 60, 150)
    if m.get("ident_mean_len") is not None:
        read = (read + _ident_score(m["ident_mean_len"])) / 2
    return {
        "syntax": max(0.0, 1.0 - 10.0 * m["error_ratio"]),
        "complexity": cc,
        "function_length": None if m.get("fn_mean_lines") is None else ramp(m["fn_mean_lines"], 30, 150),
        "nesting": ramp(m["max_nesting"], 3, 8),
        "comments": comments,
        "redundancy": ramp(m["redundancy"], 0.10, 0.50),
        "naming": m.get("naming_consistency"),
        "readability": read,
    }


def composite(m: dict, weights: dict[str, float]) -> tuple[float, dict[str, float | None]]:
    """(score, subscores): the weighted mean over the subscores that exist."""
    subs = subscores(m)
    total = sum(weights.get(k, 0.0) for k, v in subs.items() if v is not None)
    score = sum(weights.get(k, 0.0) * v for k, v in subs.items() if v is not None) / total if total else 0.0
    return score, subs
