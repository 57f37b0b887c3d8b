"""Summarise bench/train_gpu_13b_probe.sh: per variant tokens/s, TFLOPS and MFU over the steady steps, and
train/memory.py's estimate for that layout beside the measured peak; writes summary.json."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from bench.train_gpu_summary import summarise
from train.data import read_manifest
from train.export import model_config
from train.memory import GB, Layout, estimate

GIB = 2**30
MFU_GOAL = 0.65


def variant_row(run: Path) -> dict:
    """The variant's resolved config, its steady-state figures, and the memory estimate against the measurement."""
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    m, b, ds = cfg["model"], cfg["batch"], cfg["deepspeed"]
    manifest, _ = read_manifest(cfg["data"]["manifest"])
    mcfg = model_config(m["flavor"], m["max_seq_len"], manifest)
    layout = Layout(gpus=1, tp=1, zero_stage=ds["zero_stage"], micro_batch=b["micro_batch"],
                    seq_len=manifest.seq_len, checkpointing=m["activation_checkpointing"],
                    loss_chunk_tokens=m["loss_chunk_tokens"])
    est = estimate(mcfg, layout)
    row = {"dtype": cfg["precision"]["dtype"], "flavor": m["flavor"], "micro_batch": b["micro_batch"],
           "accumulation": b["global_batch"] // b["micro_batch"], "compile": m["compile_blocks"],
           "sdpa": m["sdpa_backend"], "checkpointing": m["activation_checkpointing"],
           "loss_chunk_tokens": m["loss_chunk_tokens"], "estimate_gb": {k: v / GB for k, v in est.items()}}
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()] \
        if (run / "metrics.jsonl").exists() else []
    if not records:
        return row
    row.update(summarise(run))
    rest = [r["gpu_alloc_gb"] for r in records if "gpu_alloc_gb" in r]
    if row.get("gpu_peak_gb") is not None and rest:
        row["peak_gb"] = row["gpu_peak_gb"] * GIB / GB
        row["at_rest_gb"] = rest[-1] * GIB / GB
    return row


def table(rows: dict[str, dict]) -> str:
    head = (f"{'variant':18} {'dtype':5} {'mbs x acc':>9} {'compile':>7} {'sdpa':>6} {'tokens/s':>9} {'TFLOPS':>7} "
            f"{'MFU':>6} {'skip':>4} | {'peak GB':>7} {'est GB':>7} {'rest GB':>7} {'peak-rest':>9} "
            f"{'est grad+act+logit':>18}")
    lines = [head, "-" * len(head)]
    for label, r in rows.items():
        e = r["estimate_gb"]
        transient = e["gradients"] + e["activations"] + e["logits"]
        shape = f"{r['micro_batch']} x {r['accumulation']}"
        left = f"{label:18} {r['dtype']:5} {shape:>9} {str(r['compile']).lower():>7} {r['sdpa']:>6} "
        if "tokens_per_s" not in r:
            lines.append(left + f"{'no metrics (failed or timed out)':>41} | {'-':>7} {e['total']:7.1f}")
            continue
        mfu = "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
        mem = f"{r['peak_gb']:7.1f} {e['total']:7.1f} {r['at_rest_gb']:7.1f} {r['peak_gb'] - r['at_rest_gb']:9.1f}" \
            if "peak_gb" in r else f"{'-':>7} {e['total']:7.1f} {'-':>7} {'-':>9}"
        lines.append(left + f"{r['tokens_per_s']:9,.0f} {r['tflops_per_gpu']:7.1f} {mfu:>6} {r['skipped_steps']:4d} | "
                     + mem + f" {transient:18.1f}")
    return "\n".join(lines)


def verdict(rows: dict[str, dict]) -> list[str]:
    """Best MFU per precision against the goal."""
    out = []
    for dtype in sorted({r["dtype"] for r in rows.values()}):
        got = [(r["mfu"], label) for label, r in rows.items() if r["dtype"] == dtype and r.get("mfu") is not None]
        if got:
            mfu, label = max(got)
            out.append(f"{dtype}: best MFU {100 * mfu:.1f}% ({label}); goal {100 * MFU_GOAL:.0f}% "
                       f"{'met' if mfu >= MFU_GOAL else 'NOT met'}")
    return out


def main(argv: list[str]) -> int:
    out, labels = Path(argv[0]), argv[1:]
    rows = {label: variant_row(out / label) for label in labels if (out / label / "config.yaml").exists()}
    missing = [label for label in labels if label not in rows]
    print(table(rows))
    for label in missing:
        print(f"{label}: did not start (no config.yaml)")
    print("MFU = (6N + 12*L*h*s) FLOPs/token x tokens/s / dense peak; peak/rest = max/now torch.cuda memory "
          "allocated (GB = 1e9 B), rest = weights + optimizer states between steps; est = train.memory.estimate "
          "(gpus=1, TP=1) for the same layout")
    for line in verdict(rows):
        print(line)
    (out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if rows and not missing and all("tokens_per_s" in r for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
