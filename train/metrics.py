"""Training metrics: throughput, TFLOPS and MFU (model FLOPs 6N + 12*L*h*s per token), memory, per-task SFT losses;
to console, metrics.jsonl and TensorBoard."""
from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

# Dense peak TFLOPS per device by precision (vendor datasheets, SXM parts, no sparsity).
PEAK_TFLOPS = {
    "A100": {"fp16": 312.0, "bf16": 312.0, "fp32": 156.0},  # fp32 = TF32 tensor cores
    "H100": {"fp16": 989.4, "bf16": 989.4, "fp32": 494.7},
    "H200": {"fp16": 989.4, "bf16": 989.4, "fp32": 494.7},
    "H800": {"fp16": 989.4, "bf16": 989.4, "fp32": 494.7},
    "A800": {"fp16": 312.0, "bf16": 312.0, "fp32": 156.0},
}


def peak_tflops(device_name: str, dtype: str, override: float = 0.0) -> float | None:
    """Peak dense TFLOPS of one device for MFU: the override when set, else by name, else None (no MFU)."""
    if override > 0:
        return override
    for key, table in PEAK_TFLOPS.items():
        if key in device_name.upper():
            return table[dtype]
    return None


def throughput(tokens: int, seconds: float, flops_per_token: int, devices: int, peak: float | None) -> dict:
    """tokens/s over all devices, achieved model TFLOPS per device, and MFU = that / peak.

    Model FLOPs per token = 6 * N + 12 * L * h * s (ModelConfig.flops_per_token: 6N for the forward and backward
    matrix multiplies of all N parameters, 12*L*h*s for attention scores and weighted values); recomputation under
    activation checkpointing is not counted (MFU, not hardware FLOPs utilisation, as in PaLM)."""
    tok_s = tokens / seconds
    tflops = flops_per_token * tok_s / devices / 1e12
    return {"tokens_per_s": tok_s, "tflops_per_gpu": tflops, "mfu": (tflops / peak) if peak else None}


def memory_gb() -> dict:
    """Peak GPU memory allocated since the last call and what stays allocated now, between steps (weights,
    optimizer states: CUDA), and the process's peak resident memory."""
    out = {"rss_peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    import torch

    if torch.cuda.is_available():
        out["gpu_peak_gb"] = torch.cuda.max_memory_allocated() / 2**30
        out["gpu_alloc_gb"] = torch.cuda.memory_allocated() / 2**30
        out["gpu_reserved_gb"] = torch.cuda.max_memory_reserved() / 2**30
        torch.cuda.reset_peak_memory_stats()
    return out


def console_line(step: int, total: int, m: dict) -> str:
    def fmt(key, spec, label=None):
        v = m.get(key)
        return f"{label or key} {'-' if v is None else format(v, spec)}"
    parts = [f"step {step}/{total}", fmt("loss", ".4f"), fmt("lr", ".3e"), fmt("loss_scale", "g", "scale"),
             fmt("grad_norm", ".3f", "gnorm"), fmt("skipped_steps", "d", "skipped"),
             fmt("tokens_per_s", ",.0f", "tok/s"), fmt("tflops_per_gpu", ".2f", "TFLOPS/gpu"),
             "MFU " + ("-" if m.get("mfu") is None else f"{100 * m['mfu']:.1f}%")]
    mem = m.get("gpu_peak_gb", m.get("rss_peak_gb"))
    parts.append(f"mem {mem:.2f}GB" if mem is not None else "mem -")
    tasks = [f"{key.removeprefix('loss/')} {value:.4f}" for key, value in m.items()
             if key.startswith("loss/") and value is not None]
    if tasks:  # per-task token means (sft): "loss/<task>" in metrics.jsonl, train/loss/<task> in TensorBoard
        parts.append("tasks: " + ", ".join(tasks))
    return "  ".join(parts)


class MetricsSink:
    """Rank 0's outputs: one JSON line per logged step, TensorBoard scalars, and a progress bar or plain lines."""

    def __init__(self, out: Path, total_steps: int, start_step: int, tensorboard: bool, progress_bar: bool):
        self.total = total_steps
        self.jsonl = open(out / "metrics.jsonl", "a")
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"))
        self.bar = None
        if progress_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, desc="train", unit="step", file=sys.stderr,
                            dynamic_ncols=True, disable=None)  # None: no bar when stderr is not a terminal

    def log(self, step: int, m: dict) -> None:
        record = {"step": step, **{k: v for k, v in m.items() if v is not None}}
        self.jsonl.write(json.dumps(record) + "\n")
        self.jsonl.flush()
        if self.tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self.tb.add_scalar(f"train/{key}", value, step)
            self.tb.flush()
        line = console_line(step, self.total, m)
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def advance(self, n: int = 1, loss: float | None = None) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if loss is not None:
                self.bar.set_postfix(loss=f"{loss:.4f}")

    def close(self) -> None:
        self.jsonl.close()
        if self.tb is not None:
            self.tb.close()
        if self.bar is not None:
            self.bar.close()
