"""Which attention kernel the trainer's path runs: model.attention.causal_attention under train.loop.sdpa_context, at
a flavor's shapes, eager and compiled, profiled once; names the aten op and the device kernels, fails on a mismatch."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch._dynamo
import torch._functorch.config as functorch_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import FLAVORS  # noqa: E402
from model.attention import causal_attention, use_flash_attn  # noqa: E402
from train.loop import sdpa_context  # noqa: E402

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
# the aten op each SDPA backend dispatches to (CPU's flash kernel has a _for_cpu suffix), in match order
OPS = (("cudnn", "_scaled_dot_product_cudnn_attention"), ("flash", "_scaled_dot_product_flash_attention"),
       ("efficient", "_scaled_dot_product_efficient_attention"), ("math", "_scaled_dot_product_attention_math"),
       ("flash_attn", "flash_attn"))


def classify(op_names) -> str | None:
    """The backend whose aten op appears among the profiled op names (None: no attention op was seen)."""
    for backend, op in OPS:
        if any(op in name for name in op_names):
            return backend
    return None


def probe(dtype: str, sdpa: str, compiled: bool, batch: int, seq: int, heads: int, head_dim: int,
          device: torch.device) -> dict:
    """One profiled forward+backward of the attention (after a warm-up that also compiles); the ops and kernels."""
    from torch.profiler import ProfilerActivity, profile

    g = torch.Generator(device=device).manual_seed(0)
    q, k, v = (torch.randn(batch, seq, heads, head_dim, device=device, dtype=DTYPES[dtype], generator=g)
               .requires_grad_() for _ in range(3))
    fn = causal_attention
    if compiled:
        # as the trainer compiles (train.setup.compile_blocks): no AOTAutograd cache, which ignores the SDPA pin; and
        # no in-process dynamo cache, whose guards ignore it too (the trainer pins one kernel per process)
        functorch_config.enable_autograd_cache = False
        torch._dynamo.reset()
        fn = torch.compile(causal_attention)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with sdpa_context(sdpa):
        fn(q, k, v).sum().backward()  # warm-up (compiles)
        sync()
        start = time.perf_counter()
        fn(q, k, v).sum().backward()
        sync()
        seconds = time.perf_counter() - start
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=activities) as prof:
            fn(q, k, v).sum().backward()
            sync()
    events = prof.key_averages()
    ops = sorted({e.key for e in events if "scaled_dot_product" in e.key or "flash_attn" in e.key})
    kernels = []
    if device.type == "cuda":
        gpu = [e for e in events if getattr(e, "device_time_total", 0) > 0 and not e.key.startswith("aten::")]
        gpu.sort(key=lambda e: -e.device_time_total)
        kernels = [e.key for e in gpu[:3]]
    # causal attention: forward 2 * 2 * B * H * T^2 * D / 2, backward 2.5x that (recomputed scores)
    flops = 3.5 * 2 * batch * heads * seq * seq * head_dim
    return {"dtype": dtype, "pin": sdpa, "mode": "compile" if compiled else "eager", "ran": classify(ops), "ops": ops,
            "kernels": kernels, "ms": 1e3 * seconds, "tflops": flops / seconds / 1e12}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--flavor", default="13B-probe", choices=list(FLAVORS), help="heads and head dim from this flavor")
    p.add_argument("--batch", type=int, default=4, help="micro batch")
    p.add_argument("--seq", type=int, default=0, help="sequence length (0: the flavor's max_seq_len)")
    p.add_argument("--dtypes", default="fp16,bf16", help="comma list of fp16, bf16, fp32")
    p.add_argument("--sdpa", default="cudnn", help="comma list of SDPA pins as model.sdpa_backend takes them")
    p.add_argument("--modes", default="eager,compile", help="comma list of eager, compile")
    p.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    cfg = FLAVORS[a.flavor]
    seq = a.seq or cfg.max_seq_len
    split = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    dtypes, pins, modes = split(a.dtypes), split(a.sdpa), split(a.modes)
    bad = (set(dtypes) - set(DTYPES)) | (set(modes) - {"eager", "compile"})
    if bad:
        p.error(f"unknown choice(s) {sorted(bad)}")
    probe_q = torch.zeros(1, 1, 1, 1, device=device, dtype=DTYPES[dtypes[0]])
    print(f"attention probe on {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}: "
          f"[{a.batch}, {seq}, {cfg.heads}, {cfg.head_dim}] q/k/v, torch {torch.__version__}; flash_attn package "
          f"{'used' if use_flash_attn(probe_q) else 'not used'} by the trainer's auto backend", flush=True)
    failed = 0
    for pin in pins:
        for mode in modes:
            for dtype in dtypes:
                label = f"{dtype} {mode} sdpa={pin}"
                try:
                    r = probe(dtype, pin, mode == "compile", a.batch, seq, cfg.heads, cfg.head_dim, device)
                except Exception as err:  # a pinned kernel that cannot run raises; report it and go on
                    print(f"  {label}: FAILED {type(err).__name__}: {str(err).splitlines()[0][:200]}", flush=True)
                    failed += 1
                    continue
                if r["ran"] is None and mode == "compile":
                    r["ran"] = "math"  # the compiler decomposes the math kernel into plain matmuls and a softmax
                ok = pin == "auto" or r["ran"] == pin or (pin == "flash" and r["ran"] == "flash_attn")
                print(f"  {label}: ran {r['ran']} ({', '.join(r['ops']) or 'no SDPA op seen'}); "
                      f"fwd+bwd {r['ms']:.1f} ms = {r['tflops']:.0f} TFLOPS (causal FLOPs)"
                      + (f"; kernels: {' | '.join(k[:90] for k in r['kernels'])}" if r["kernels"] else "")
                      + ("" if ok else f"  MISMATCH: pinned {pin}"), flush=True)
                failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
