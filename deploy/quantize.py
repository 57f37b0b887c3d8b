"""`python -m deploy quantize --model DIR --manifest M --out DIR`: int4 GPTQ (W4A16, lm_head kept) of a GPT-NeoX
export, calibrated on held-out token rows; prints and writes size and perplexity before/after (pass@k when asked)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPORT = "quantize_report.json"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deploy quantize", description=__doc__)
    p.add_argument("--model", required=True, help="a GPT-NeoX Hugging Face folder (the trainer's export)")
    p.add_argument("--manifest", required=True,
                   help="token shards' manifest (file or folder) of held-out rows: data the model did not train on, "
                        "tokenized with its tokenizer")
    p.add_argument("--out", required=True, help="folder for the quantized model (replaced if it exists)")
    p.add_argument("--calib-rows", type=int, default=128, help="rows that calibrate GPTQ (default 128)")
    p.add_argument("--eval-rows", type=int, default=64, help="other rows that measure perplexity (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the row selection")
    p.add_argument("--group-size", type=int, default=128,
                   help="input columns sharing one scale; must divide every quantized layer's input width")
    p.add_argument("--dampening", type=float, default=0.01, help="GPTQ dampening, fraction of the Hessian diagonal")
    p.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"),
                   help="precision of the unquantized parts (and of the model perplexity 'before' is measured on)")
    p.add_argument("--device", default=None, help="device for perplexity and pass@k (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=4, help="rows per forward pass when measuring perplexity")
    p.add_argument("--passk-limit", type=int, default=0,
                   help="also pass@k (greedy, sandboxed) before and after on the first N HumanEval problems")
    p.add_argument("--passk-max-new-tokens", type=int, default=256)
    return p


def main(argv: list[str] | None = None) -> int:
    from deploy.gptq import GPTQError
    from deploy.rows import RowsError
    from train.data import DataError

    a = parser().parse_args(argv)
    try:
        return run(a)
    except (GPTQError, RowsError, DataError, FileNotFoundError, ValueError) as e:
        print(f"quantize error: {e}", file=sys.stderr)
        return 2


def run(a: argparse.Namespace) -> int:
    import torch

    from deploy import gptq
    from deploy.perplexity import perplexity
    from deploy.rows import held_out_rows

    model_dir, out = Path(a.model), Path(a.out)
    cfg = gptq.check_gpt_neox(model_dir)
    gptq.check_group_size(cfg, a.group_size)
    if out.resolve() == model_dir.resolve():
        raise gptq.GPTQError("--out must differ from --model")
    rows = held_out_rows(a.manifest, model_dir, a.calib_rows, a.eval_rows, a.seed,
                         max_len=cfg.get("max_position_embeddings"))
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")

    model = gptq.load(model_dir, a.dtype)
    dense_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())  # unquantized at --dtype
    before = perplexity(model.to(device), rows.evaluation, rows.vocab_size, a.batch_size)
    print(f"perplexity before: {before['perplexity']:.4f} on {before['rows']} rows ({before['tokens']} tokens)",
          flush=True)
    start = time.perf_counter()
    gptq.quantize(model.to("cpu"), rows.calibration.input_ids, a.group_size, a.dampening)
    seconds = time.perf_counter() - start
    gptq.save(model, model_dir, out)
    del model
    quantized = gptq.load(out, a.dtype)  # measured as transformers loads it from disk
    after = perplexity(quantized.to(device), rows.evaluation, rows.vocab_size, a.batch_size)
    del quantized
    size_before, size_after = gptq.folder_bytes(model_dir), gptq.folder_bytes(out)

    report = {
        "model": str(model_dir), "out": str(out), "manifest": str(a.manifest),
        "scheme": {"method": "GPTQ (llm-compressor GPTQModifier)", "weights": "int4 symmetric", "activations": a.dtype,
                   "group_size": a.group_size, "dampening": a.dampening, "actorder": "static",
                   "kept_full_precision": gptq.KEEP + ["embeddings", "layer norms", "biases"],
                   "format": "compressed-tensors pack-quantized"},
        "input_dtype": cfg.get("dtype") or cfg.get("torch_dtype"),
        "rows": {"rule": rows.rule, "calibration": len(rows.calibration_rows), "evaluation": len(rows.evaluation_rows),
                 "seq_len": int(rows.calibration.input_ids.shape[1]),
                 "calibration_rows": rows.calibration_rows, "evaluation_rows": rows.evaluation_rows},
        "size_before": size_before, "size_after": size_after,
        "weights_ratio": round(size_before["weights_bytes"] / size_after["weights_bytes"], 3),
        "unquantized_bytes_at_dtype": dense_bytes,
        "ratio_at_dtype": round(dense_bytes / size_after["weights_bytes"], 3),
        "perplexity_before": before, "perplexity_after": after,
        "perplexity_change": after["perplexity"] / before["perplexity"] - 1.0,
        "quantize_seconds": round(seconds, 2), "device": device,
    }
    if a.passk_limit > 0:
        from deploy.passk_compare import passk_before_after

        report["passk"] = passk_before_after(model_dir, out, out.with_name(out.name + "-passk"), a.passk_limit,
                                             a.passk_max_new_tokens, device)
    (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    return 0


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def summary(r: dict) -> str:
    b, a = r["perplexity_before"], r["perplexity_after"]
    lines = [
        f"quantized {r['model']} -> {r['out']}: int4 GPTQ, group {r['scheme']['group_size']}, lm_head and embeddings "
        f"in {r['scheme']['activations']}, {r['quantize_seconds']} s",
        f"weights on disk: {mb(r['size_before']['weights_bytes'])} ({r['input_dtype']}) -> "
        f"{mb(r['size_after']['weights_bytes'])} ({r['weights_ratio']}x smaller; {r['ratio_at_dtype']}x against the "
        f"unquantized weights in {r['scheme']['activations']}, {mb(r['unquantized_bytes_at_dtype'])}); folder "
        f"{mb(r['size_before']['folder_bytes'])} -> {mb(r['size_after']['folder_bytes'])}",
        f"perplexity on {b['rows']} held-out rows ({b['tokens']} tokens): before {b['perplexity']:.4f} "
        f"({r['scheme']['activations']}), after {a['perplexity']:.4f} ({100 * r['perplexity_change']:+.2f}%)",
    ]
    pk = r.get("passk")
    if pk and "skipped" in pk:
        lines.append(f"pass@k skipped: {pk['skipped']}")
    elif pk:
        lines.append(f"pass@k on {pk['n_tasks']} problems (greedy): before {pk['before']}, after {pk['after']}")
    lines.append(f"report: {Path(r['out']) / REPORT}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
