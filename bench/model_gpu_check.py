"""GPU check: fwd+bwd+AdamW steps of a flavor (default 1.3B at seq 4096) in fp16 and bf16; tokens/s, TFLOPS, MFU."""
from __future__ import annotations

import argparse
import contextlib
import gc
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch._dynamo
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import FLAVORS, GPTNeoX  # noqa: E402
from model.attention import use_flash_attn  # noqa: E402
from train.setup import compile_blocks  # noqa: E402

# Dense fp16/bf16 tensor-core peak in TFLOPS (no sparsity), matched against torch.cuda.get_device_name() in order.
PEAK_TFLOPS = (
    ("H200", 989.4),         # same SXM compute as H100
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),         # H100 SXM5 ("NVIDIA H100 80GB HBM3")
    ("GH200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("A10G", 70.0),
    ("L4", 121.0),
)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
FORMULA = "6*N + 12*L*h*s FLOPs/token (N all params incl. embeddings, L layers, h hidden, s seq; causal not halved)"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--flavor", default="1.3B", choices=list(FLAVORS))
    p.add_argument("--seq", type=int, default=0, help="sequence length (0: the flavor's max_seq_len)")
    p.add_argument("--micro-batch", type=int, default=0,
                   help="0: 4 on a GPU (1.3B at seq 4096 peaked at 66.6 GiB on an H200; halved on OOM), 2 on CPU")
    p.add_argument("--steps", type=int, default=10, help="timed steps per dtype")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--dtypes", default="", help="comma list of bf16,fp16,fp32 (default: bf16,fp16)")
    p.add_argument("--sdpa", default="",
                   help="comma list of SDPA backends to pin when flash_attn is not used: auto (the first of torch's "
                        "order that runs), flash, cudnn, efficient, math (default: auto,cudnn on a GPU, auto on CPU)")
    p.add_argument("--modes", default="", help="comma list of eager,compile (default: eager,compile on a GPU, "
                                               "eager on CPU); compile = torch.compile of each block")
    p.add_argument("--checkpointing", action="store_true", help="activation checkpointing per block")
    p.add_argument("--loss-chunk", type=int, default=0, help="model.loss_chunk_tokens (0: logits in one pass)")
    p.add_argument("--docs", type=int, default=1, help="documents per row (>1 exercises document masking)")
    p.add_argument("--peak-tflops", type=float, default=0.0, help="override the peak used for MFU")
    p.add_argument("--device", default="auto")
    return p.parse_args(argv)


def peak_tflops(device: torch.device, override: float) -> tuple[float | None, str]:
    if override:
        return override, "given"
    if device.type != "cuda":
        return None, "cpu"
    name = torch.cuda.get_device_name(device)
    for key, peak in PEAK_TFLOPS:
        if key in name:
            return peak, name
    return None, name


def sdpa_backends():
    from torch.nn.attention import SDPBackend

    return {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}


def pick_sdpa(choice: str, device, dtype, head_dim: int, masked: bool) -> str:
    """The SDPA backend to pin: the given one, or the first of torch's default order that runs fwd+bwd here."""
    from torch.nn.attention import sdpa_kernel

    order = [choice] if choice != "auto" else ["flash", "efficient", "cudnn", "math"]
    for name in order:
        q = torch.randn(1, 2, 256, head_dim, device=device, dtype=dtype, requires_grad=True)
        mask = torch.ones(256, 256, dtype=torch.bool, device=device).tril() if masked else None
        try:
            with sdpa_kernel([sdpa_backends()[name]]):
                F.scaled_dot_product_attention(q, q, q, attn_mask=mask, is_causal=mask is None).sum().backward()
            return name
        except RuntimeError as err:
            if choice != "auto":
                raise SystemExit(f"SDPA backend {name!r} cannot run {dtype} head_dim {head_dim} here: {err}")
    raise SystemExit("no SDPA backend runs here")


def make_batch(cfg, micro_batch: int, seq: int, docs: int, device):
    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, cfg.vocab_size, (micro_batch, seq + 1), generator=g)
    starts = None
    if docs > 1:
        starts = [list(range(0, seq, math.ceil(seq / docs)))] * micro_batch
    return rows[:, :-1].contiguous().to(device), rows[:, 1:].contiguous().to(device), starts


def run_one(args, cfg, dtype_name: str, mode: str, sdpa: str, micro_batch: int, seq: int, device) -> dict:
    dtype = DTYPES[dtype_name]
    torch.manual_seed(0)
    with torch.device(device):
        model = GPTNeoX(cfg).train()
    model.gradient_checkpointing = args.checkpointing
    model.loss_chunk_tokens = args.loss_chunk
    if mode == "compile":
        # a fresh trace per row: dynamo's guards and torch's AOTAutograd cache ignore the SDPA pin, so a graph traced
        # for an earlier row's kernel would run again (train.setup.compile_blocks turns that cache off)
        torch._dynamo.reset()
        compile_blocks(model)
    fused = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=fused)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)
    x, y, starts = make_batch(cfg, micro_batch, seq, args.docs, device)
    probe = torch.zeros(1, 1, cfg.heads, cfg.head_dim, device=device, dtype=dtype)
    if use_flash_attn(probe):
        import flash_attn

        attention, pin = f"flash_attn {flash_attn.__version__}", contextlib.nullcontext()
    else:
        from torch.nn.attention import sdpa_kernel

        backend = pick_sdpa(sdpa, device, dtype, cfg.head_dim, masked=starts is not None)
        attention, pin = f"SDPA {backend}", sdpa_kernel([sdpa_backends()[backend]])
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, losses = [], []
    with pin:
        for step in range(args.warmup + args.steps):
            sync()
            start = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = model.loss(x, y, doc_starts=starts)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            losses.append(loss.item())  # syncs
            sync()
            if step >= args.warmup:
                times.append(time.perf_counter() - start)
    peak_mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    step_s = statistics.median(times)
    tokens_per_s = micro_batch * seq / step_s
    tflops = cfg.flops_per_token(seq) * tokens_per_s / 1e12
    model_ckpt = model.gradient_checkpointing
    del model, opt
    return {"dtype": dtype_name, "mode": mode, "attention": attention, "micro_batch": micro_batch,
            "checkpointing": model_ckpt, "step_ms": 1e3 * step_s,
            "tokens_per_s": tokens_per_s, "tflops": tflops, "peak_gib": peak_mem, "loss0": losses[0],
            "loss1": losses[-1], "scale": scaler.get_scale() if scaler.is_enabled() else None}


def run_with_fallback(args, cfg, dtype_name, mode, sdpa, micro_batch, seq, device) -> dict:
    """On CUDA out-of-memory: halve the micro batch, then turn on activation checkpointing, then give up."""
    while True:
        try:
            return run_one(args, cfg, dtype_name, mode, sdpa, micro_batch, seq, device)
        except torch.OutOfMemoryError:
            gc.collect()
            torch.cuda.empty_cache()
            if micro_batch > 1:
                micro_batch //= 2
            elif not args.checkpointing:
                args.checkpointing = True
            else:
                raise
            print(f"  out of memory: retrying {dtype_name} with micro batch {micro_batch}, "
                  f"checkpointing {args.checkpointing}", flush=True)
        finally:
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    gpu = device.type == "cuda"
    cfg = FLAVORS[args.flavor]
    seq = args.seq or cfg.max_seq_len
    micro_batch = args.micro_batch or (4 if gpu else 2)
    dtypes = [d for d in (args.dtypes or "bf16,fp16").split(",") if d]
    modes = [m for m in (args.modes or ("eager,compile" if gpu else "eager")).split(",") if m]
    sdpas = [b for b in (args.sdpa or ("auto,cudnn" if gpu else "auto")).split(",") if b]
    for value, allowed in ((dtypes, DTYPES), (modes, ("eager", "compile")), (sdpas, ("auto", *sdpa_backends()))):
        if set(value) - set(allowed):
            raise SystemExit(f"unknown choice {sorted(set(value) - set(allowed))}; choose from {list(allowed)}")
    peak, device_name = peak_tflops(device, args.peak_tflops)
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    print(f"device: {device_name}; torch {torch.__version__}, CUDA {torch.version.cuda}, python "
          f"{platform.python_version()}; peak {peak or 'unknown'} TFLOPS dense fp16/bf16")
    print(f"model: {args.flavor}, {cfg.num_params():,} params, seq {seq}, docs/row {args.docs}, "
          f"loss chunk {args.loss_chunk or 'off'}, {args.steps} timed steps after {args.warmup}; "
          f"fwd+bwd+clip+AdamW, fp32 master weights, autocast; "
          f"{FORMULA} = {cfg.flops_per_token(seq):,}", flush=True)
    rows = []
    for sdpa in sdpas:
        for mode in modes:
            for dtype_name in dtypes:
                t0 = time.perf_counter()
                label = f"{dtype_name} {mode} sdpa={sdpa}"
                try:
                    row = run_with_fallback(args, cfg, dtype_name, mode, sdpa, micro_batch, seq, device)
                except (RuntimeError, SystemExit) as err:  # one failing row (a backend, compile) spares the rest
                    print(f"  {label}: FAILED {type(err).__name__}: {str(err).splitlines()[0][:200]}", flush=True)
                    continue
                row["mfu"] = row["tflops"] / peak if peak else None
                row["wall_s"] = time.perf_counter() - t0
                rows.append(row)
                print(f"  {label}: {row['tokens_per_s']:.0f} tokens/s, done in {row['wall_s']:.0f} s", flush=True)
    head = (f"{'dtype':5} {'mode':7} {'attention':18} {'mbs x seq':>11} {'step ms':>9} {'tokens/s':>10} "
            f"{'TFLOPS':>8} {'MFU':>6} {'peak GiB':>9} {'loss first->last':>18}")
    print("\n" + head)
    print("-" * len(head))
    for r in rows:
        mfu = f"{100 * r['mfu']:5.1f}%" if r["mfu"] is not None else "   n/a"
        peak_mem = "-" if math.isnan(r["peak_gib"]) else f"{r['peak_gib']:.1f}"
        shape = f"{r['micro_batch']} x {seq}" + (" ckpt" if r["checkpointing"] else "")
        print(f"{r['dtype']:5} {r['mode']:7} {r['attention']:18} {shape:>11} "
              f"{r['step_ms']:9.1f} {r['tokens_per_s']:10.0f} {r['tflops']:8.1f} {mfu} {peak_mem:>9} "
              f"{r['loss0']:8.3f}->{r['loss1']:<8.3f}" + (f" scale {r['scale']:g}" if r["scale"] else ""))
    if rows and peak:
        best = max(rows, key=lambda r: r["mfu"])
        print(f"best MFU {100 * best['mfu']:.1f}% ({best['dtype']}, {best['mode']}, {best['attention']}); "
              f"goal 45%: {'met' if best['mfu'] >= 0.45 else 'NOT met'}")
    if not rows:
        raise SystemExit("every configuration failed")
    return rows


if __name__ == "__main__":
    main()
