"""Per-GPU memory estimate for ZeRO and tensor parallelism (13B on 512 A100-80GB): `python -m train.memory`.

How the paper's 2-way tensor parallelism maps onto this stack: CodeFuse-13B was trained with Megatron-style TP=2
inside each node (the attention and MLP matrices split in two, two all-reduces per layer in the forward and two in
the backward, over NVLink) and ZeRO-1 data parallelism over the 256 resulting replicas. This trainer runs DeepSpeed
ZeRO data parallelism only (deepspeed.tensor_parallel = 1): model/ stays free of parallel code. On the same 512
GPUs (global batch 4096 = micro batch x accumulation x 512) the table below says what fits:
  * TP=2 as in the paper needs Megatron-DeepSpeed, or DeepSpeed AutoTP on the exported Hugging Face GPTNeoX. Even
    then micro batch 16 at seq 4096 fits 80 GB only with the loss computed in chunks (model.loss_chunk_tokens, set
    in the 13B preset): the full-vocabulary logits alone would take 33 GB.
  * Without TP (this trainer), the `13B-zero2` preset runs the recipe as ZeRO-2 (gradients sharded too: the same
    communication volume, a reduce-scatter instead of an all-reduce) with micro batch 8 x 512 ranks = 4096 and
    chunked loss: about 59 GB. ZeRO-1 without TP fits only at micro batch 2 x 4 accumulation steps (72 GB). The
    learning dynamics are the paper's: the global batch and every optimizer setting are the same; only the split of
    the batch into micro batches differs.

Terms (bytes per GPU; N parameters, t TP degree, d data-parallel degree, b micro batch, s sequence, h hidden, L layers,
V padded vocabulary):
  weights 2N/t (fp16/bf16);  gradients 2N/t, or 2N/(t d) with ZeRO-2;  fp32 master + Adam m, v: 12N/(t d) (ZeRO-1+)
  activations with full checkpointing: the block inputs 2sbhL (not split by TP without sequence parallelism), plus
  one block recomputed in the backward: sbh(10 + 24/t) (Korthikanti et al. 2022, flash attention: no s^2 term);
  without checkpointing: sbhL(10 + 24/t).
  logits: b s V/t x 10 bytes at the loss (fp16 logits, their fp32 copy and the fp32 log-softmax saved for backward;
  model.loss materialises all three), or c V/t x 10 with model.loss_chunk_tokens = c (one chunk at a time).
  framework: CUDA context, NCCL and DeepSpeed buckets, allocator fragmentation: 4 GB.
"""
from __future__ import annotations

import argparse
import dataclasses

GB = 1e9
FRAMEWORK_BYTES = 4 * GB
LOGIT_BYTES = 10


@dataclasses.dataclass(frozen=True)
class Layout:
    gpus: int = 512
    tp: int = 2
    zero_stage: int = 1
    micro_batch: int = 16
    seq_len: int = 4096
    checkpointing: bool = True
    loss_chunk_tokens: int = 0
    gpu_gb: float = 80.0

    @property
    def dp(self) -> int:
        return self.gpus // self.tp


def estimate(model_cfg, layout: Layout) -> dict[str, float]:
    """Bytes per GPU by component, and their total (see the module docstring for each formula)."""
    n, t, d = model_cfg.num_params(), layout.tp, layout.dp
    b, s, h, L = layout.micro_batch, layout.seq_len, model_cfg.hidden, model_cfg.layers
    out = {
        "weights": 2 * n / t,
        "gradients": 2 * n / t / (d if layout.zero_stage >= 2 else 1),
        "optimizer": 12 * n / t / (d if layout.zero_stage >= 1 else 1),
    }
    if layout.zero_stage >= 3:
        out["weights"] /= d
    if layout.checkpointing:
        out["activations"] = 2 * s * b * h * L + s * b * h * (10 + 24 / t)
    else:
        out["activations"] = s * b * h * L * (10 + 24 / t)
    tokens = min(b * s, layout.loss_chunk_tokens) if layout.loss_chunk_tokens else b * s
    out["logits"] = tokens * model_cfg.padded_vocab_size / t * LOGIT_BYTES
    out["framework"] = FRAMEWORK_BYTES
    out["total"] = sum(out.values())
    return out


SCENARIOS = [
    ("paper: TP=2, ZeRO-1, micro 16", Layout(tp=2, zero_stage=1, micro_batch=16)),
    ("TP=2, ZeRO-1, micro 16, loss chunks 8192", Layout(tp=2, zero_stage=1, micro_batch=16, loss_chunk_tokens=8192)),
    ("TP=1, ZeRO-1, micro 8", Layout(tp=1, zero_stage=1, micro_batch=8)),
    ("TP=1, ZeRO-1, micro 2 x 4 accumulation", Layout(tp=1, zero_stage=1, micro_batch=2)),
    ("TP=1, ZeRO-2, micro 8, loss chunks 8192", Layout(tp=1, zero_stage=2, micro_batch=8, loss_chunk_tokens=8192)),
]


def table(model_cfg, scenarios=SCENARIOS) -> str:
    keys = ["weights", "gradients", "optimizer", "activations", "logits", "framework", "total"]
    lines = [f"{'layout (512 x A100-80GB, seq 4096, checkpointing)':44}" + "".join(f"{k:>12}" for k in keys) + "  fits"]
    for name, layout in scenarios:
        e = estimate(model_cfg, layout)
        fits = "yes" if e["total"] <= layout.gpu_gb * GB else "NO"
        lines.append(f"{name:44}" + "".join(f"{e[k] / GB:11.1f}G" for k in keys) + f"  {fits}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from model import FLAVORS

    p = argparse.ArgumentParser(description="Per-GPU memory estimate of a flavor under ZeRO and tensor parallelism.")
    p.add_argument("--flavor", default="13B", choices=list(FLAVORS))
    a = p.parse_args(argv)
    cfg = FLAVORS[a.flavor]
    print(f"{a.flavor}: {cfg.num_params() / 1e9:.2f}B parameters, global batch 4096 sequences")
    print(table(cfg))


if __name__ == "__main__":
    main()
