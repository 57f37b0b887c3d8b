"""Summarise bench/train_gpu_check.sh: mean tokens/s, TFLOPS/GPU and MFU over the steady steps, peak memory."""
from __future__ import annotations

import json
import sys
from pathlib import Path

WARM_STEPS = 2  # the first steps include allocator growth and kernel selection


def summarise(run: Path) -> dict:
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steady = [r for r in records if r["step"] > WARM_STEPS] or records
    mean = lambda key: sum(r[key] for r in steady) / len(steady) if all(key in r for r in steady) else None  # noqa: E731
    return {"steps": len(records), "steady_steps": len(steady), "tokens_per_s": mean("tokens_per_s"),
            "tflops_per_gpu": mean("tflops_per_gpu"), "mfu": mean("mfu"),
            "gpu_peak_gb": max((r.get("gpu_peak_gb", 0.0) for r in records), default=None),
            "loss_first": records[0]["loss"], "loss_last": records[-1]["loss"],
            "loss_scale_last": records[-1].get("loss_scale"), "skipped_steps": records[-1]["skipped_steps"]}


def main(argv: list[str]) -> int:
    out, dtypes = Path(argv[0]), argv[1:]
    print(f"{'dtype':6} {'tokens/s':>10} {'TFLOPS/gpu':>10} {'MFU':>6} {'peak GB':>8} {'scale':>7} {'skipped':>7} "
          f"{'loss first->last':>18}")
    ok = True
    for dtype in dtypes:
        path = out / dtype
        if not (path / "metrics.jsonl").exists() or not (path / "metrics.jsonl").read_text().strip():
            print(f"{dtype:6} no metrics (the run failed or timed out)")
            ok = False
            continue
        s = summarise(path)
        mfu = "-" if s["mfu"] is None else f"{100 * s['mfu']:.1f}%"
        scale = "-" if s["loss_scale_last"] is None else f"{s['loss_scale_last']:g}"
        print(f"{dtype:6} {s['tokens_per_s']:10,.0f} {s['tflops_per_gpu']:10.1f} {mfu:>6} {s['gpu_peak_gb']:8.1f} "
              f"{scale:>7} {s['skipped_steps']:7d} {s['loss_first']:8.3f} -> {s['loss_last']:.3f}")
        (out / f"summary_{dtype}.json").write_text(json.dumps(s, indent=1) + "\n")
    print("MFU goal: >= 45% (model FLOPs 6N + 12*L*h*s per token, over the device's dense fp16/bf16 peak)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
