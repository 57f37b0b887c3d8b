"""`python -m bench.serve_gpu_bench --model DIR --label full|int4`: generation tokens/s of one Hugging Face folder on
the GPU (greedy, fixed prompt and output lengths, batch 1 and 16), its load time, peak memory, and which linear
layer ran (a quantized folder's module class tells the kernel); one JSON line appended to --out per batch size.
Called by bench/serve_gpu_check.sh, which compares full with int4."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def linear_kind(model) -> str:
    """The class and weight dtype of the first decoder linear: nn.Linear + float16 for a full model, the
    quantization library's module (and its packed dtype) for an int4 one."""
    for name, module in model.named_modules():
        if name.endswith("dense_h_to_4h") or name.endswith("query_key_value"):
            weights = [(n, p.dtype) for n, p in module.named_parameters(recurse=False)] + \
                      [(n, b.dtype) for n, b in module.named_buffers(recurse=False)]
            return f"{type(module).__module__}.{type(module).__name__} {weights[:3]}"
    return "no decoder linear found"


def measure(model_dir: str, label: str, batches: list[int], prompt_tokens: int, new_tokens: int,
            device: str = "cuda") -> list[dict]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    config = AutoConfig.from_pretrained(model_dir)
    quant = getattr(config, "quantization_config", None)
    method = (quant.get("quant_method") if isinstance(quant, dict) else getattr(quant, "quant_method", None)) or "none"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto", device_map=device).eval()
    load_s = time.perf_counter() - t0
    vocab = min(config.vocab_size, 1000)
    rows = []
    for batch in batches:
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(8, vocab, (batch, prompt_tokens), generator=g).to(device)  # content is irrelevant to speed
        kwargs = dict(attention_mask=torch.ones_like(ids), do_sample=False, pad_token_id=0)
        with torch.no_grad():
            model.generate(ids, max_new_tokens=8, min_new_tokens=8, **kwargs)  # warm-up
            sync()
            t0 = time.perf_counter()
            out = model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **kwargs)
            sync()
            seconds = time.perf_counter() - t0
        generated = (out.shape[1] - prompt_tokens) * batch
        rows.append({"label": label, "model": model_dir, "quant_method": method, "batch": batch,
                     "prompt_tokens": prompt_tokens, "new_tokens": new_tokens, "seconds": round(seconds, 3),
                     "tokens_per_s": round(generated / seconds, 1), "load_s": round(load_s, 2),
                     "peak_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
                     "linear": linear_kind(model), "device": torch.cuda.get_device_name() if cuda else device,
                     "torch": torch.__version__})
        print(f"{label:<5} batch {batch:>3}: {rows[-1]['tokens_per_s']:>9.1f} generated tokens/s "
              f"({generated} in {seconds:.2f} s), peak {rows[-1]['peak_gb']} GB, {method}, {rows[-1]['linear']}",
              flush=True)
    return rows


def summary(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by = {(r["label"], r["batch"]): r for r in rows}
    print(f"{'batch':>5} {'full tok/s':>11} {'int4 tok/s':>11} {'int4/full':>9} {'full GB':>8} {'int4 GB':>8}")
    def cell(row: dict | None, key: str) -> str:
        return "-" if row is None or row.get(key) is None else str(row[key])

    for batch in sorted({r["batch"] for r in rows}):
        full, int4 = by.get(("full", batch)), by.get(("int4", batch))
        ratio = f"{int4['tokens_per_s'] / full['tokens_per_s']:.2f}" if full and int4 else "-"
        print(f"{batch:>5} {cell(full, 'tokens_per_s'):>11} {cell(int4, 'tokens_per_s'):>11} {ratio:>9} "
              f"{cell(full, 'peak_gb'):>8} {cell(int4, 'peak_gb'):>8}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.serve_gpu_bench", description=__doc__)
    p.add_argument("--model", help="a Hugging Face folder")
    p.add_argument("--label", choices=("full", "int4"))
    p.add_argument("--batches", default="1,16")
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=128)
    p.add_argument("--out", required=True, help="JSON lines file (appended)")
    p.add_argument("--device", default="cuda", help="cuda (the check); cpu runs the same code on a small model")
    p.add_argument("--summary", action="store_true", help="only print the full vs int4 table of --out")
    a = p.parse_args(argv)
    if a.summary:
        summary(Path(a.out))
        return 0
    if not a.model or not (Path(a.model) / "config.json").is_file():
        print(f"bench error: --model {a.model} is not a Hugging Face model folder (no config.json)", file=sys.stderr)
        return 2
    import torch

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench error: no CUDA device (--device cpu runs the same code on the CPU)", file=sys.stderr)
        return 2
    rows = measure(a.model, a.label, [int(b) for b in a.batches.split(",")], a.prompt_tokens, a.new_tokens,
                   a.device)
    with open(a.out, "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
