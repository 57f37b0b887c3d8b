"""pass@k of the model before and after quantization with `python -m evaluation`'s harness (greedy, sandboxed), or
the one-line reason it cannot run here."""
from __future__ import annotations

from pathlib import Path


def passk_before_after(before_dir: Path, after_dir: Path, out_dir: Path, limit: int, max_new_tokens: int,
                       device: str, benchmark: str = "humaneval") -> dict:
    """{"before": eval.json's overall, "after": ..., "settings"} for the first `limit` problems, or {"skipped": why}
    where the samples cannot be executed (no bubblewrap sandbox, no toolchain)."""
    from evaluation.harness import cannot_execute, evaluate

    settings = {"benchmark": benchmark, "limit": limit, "mode": "greedy", "max_new_tokens": max_new_tokens,
                "device": device, "progress": False}
    why = cannot_execute(settings)
    if why:
        return {"skipped": why}
    before = evaluate(before_dir, out_dir / "before", **settings)
    after = evaluate(after_dir, out_dir / "after", **settings)
    return {"before": before["overall"], "after": after["overall"], "n_tasks": after["n_tasks"],
            "settings": settings, "eval_dirs": [str(out_dir / "before"), str(out_dir / "after")]}
