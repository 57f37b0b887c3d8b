"""Per-GPU memory estimate under ZeRO, tensor and sequence parallelism: `python -m train.memory [--preset 13B]`.

The 13B preset is the paper's layout: 64 nodes x 8 GPUs, TP=2 inside each node (DeepSpeed AutoTP, train/parallel.py)
with sequence parallelism (train/sequence_parallel.py), ZeRO-1 over the 256 data-parallel replicas, micro batch 16,
global batch 4096 (one micro batch per replica and step). `13B-zero2` is the no-TP alternative on the same GPUs.

Terms (bytes per GPU; N parameters of which N_r stay replicated under TP: embedding, output head, LayerNorms and the
row-parallel biases; t TP degree, d data-parallel degree, b micro batch, s sequence, h hidden, L layers, V padded
vocabulary; fp16/bf16 weights):
  weights 2(N - N_r)/t + 2 N_r;  gradients the same, divided by d under ZeRO-2;  fp32 master + Adam m, v: 12 x the
  same / d (ZeRO-1 and up).
  activations per layer, in units of s b h bytes (Korthikanti et al. 2022 counted for this block: parallel residual,
  no dropout, flash attention so no s^2 term): the block input 2 (one tensor both LayerNorms read), the two
  LayerNorm outputs 2 + 2 (saved by the qkv and fc_in matmuls), q, k, v 6/t, the attention output 2/t, the FFN input
  and GELU output 8/t + 8/t: 6 + 24/t. Sequence parallelism splits the block input (2/t) but the gathered LayerNorm
  outputs stay whole (Megatron re-gathers them in the backward instead; this trainer does not): 4 + 26/t.
  With full activation checkpointing only the block inputs stay, 2 sbh L (divided by t under sequence parallelism),
  plus one block recomputed in the backward.
  logits: the output head is replicated and sees the whole sequence, so b s V x 10 bytes at the loss (fp16 logits,
  their fp32 copy and the fp32 log-softmax saved for backward), or c V x 10 with model.loss_chunk_tokens = c.
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
    sequence_parallel: bool = False
    zero_stage: int = 1
    micro_batch: int = 16
    seq_len: int = 4096
    checkpointing: bool = True
    loss_chunk_tokens: int = 0
    gpu_gb: float = 80.0

    @property
    def dp(self) -> int:
        return self.gpus // self.tp


def replicated_params(model_cfg) -> int:
    """Parameters tensor parallelism leaves whole on every rank (train/parallel.py's rules)."""
    h, v, layers = model_cfg.hidden, model_cfg.padded_vocab_size, model_cfg.layers
    return 2 * v * h + layers * (4 * h + 2 * h) + 2 * h  # embedding + head, LayerNorms + row biases, final LayerNorm


def layer_activation_units(tp: int, sequence_parallel: bool) -> float:
    """Bytes per layer / (s b h) kept for the backward without checkpointing (module docstring)."""
    return (4 + 26 / tp) if sequence_parallel else (6 + 24 / tp)


def estimate(model_cfg, layout: Layout) -> dict[str, float]:
    """Bytes per GPU by component, and their total (see the module docstring for each formula)."""
    t, d = layout.tp, layout.dp
    rep = replicated_params(model_cfg)
    per_rank = (model_cfg.num_params() - rep) / t + rep
    b, s, h, L = layout.micro_batch, layout.seq_len, model_cfg.hidden, model_cfg.layers
    sbh = s * b * h
    out = {
        "weights": 2 * per_rank,
        "gradients": 2 * per_rank / (d if layout.zero_stage >= 2 else 1),
        "optimizer": 12 * per_rank / (d if layout.zero_stage >= 1 else 1),
    }
    if layout.zero_stage >= 3:
        out["weights"] /= d
    per_layer = sbh * layer_activation_units(t, layout.sequence_parallel)
    if layout.checkpointing:
        out["activations"] = 2 * sbh * L / (t if layout.sequence_parallel else 1) + per_layer
    else:
        out["activations"] = per_layer * L
    tokens = min(b * s, layout.loss_chunk_tokens) if layout.loss_chunk_tokens else b * s
    out["logits"] = tokens * model_cfg.padded_vocab_size * LOGIT_BYTES
    out["framework"] = FRAMEWORK_BYTES
    out["total"] = sum(out.values())
    return out


SCENARIOS = [
    ("paper: TP=2 + SP, ZeRO-1, micro 16, chunks 8192",
     Layout(tp=2, sequence_parallel=True, micro_batch=16, loss_chunk_tokens=8192)),
    ("TP=2, no SP, ZeRO-1, micro 16, chunks 8192", Layout(tp=2, micro_batch=16, loss_chunk_tokens=8192)),
    ("TP=2 + SP, ZeRO-1, micro 16, one-pass loss", Layout(tp=2, sequence_parallel=True, micro_batch=16)),
    ("TP=1, ZeRO-1, micro 8, chunks 8192", Layout(tp=1, micro_batch=8, loss_chunk_tokens=8192)),
    ("TP=1, ZeRO-2, micro 8, chunks 8192", Layout(tp=1, zero_stage=2, micro_batch=8, loss_chunk_tokens=8192)),
]


def preset_layout(name: str) -> Layout:
    """The Layout a trainer preset runs with on the machine it was laid out for (train.config.PRESET_LAYOUT)."""
    from train.config import PRESET_LAYOUT, load

    cfg = load(name)
    nodes, per_node = PRESET_LAYOUT.get(name, (1, 1))
    return Layout(gpus=nodes * per_node, tp=cfg.parallel.tensor, sequence_parallel=cfg.parallel.sequence,
                  zero_stage=cfg.deepspeed.zero_stage, micro_batch=cfg.batch.micro_batch,
                  seq_len=cfg.data.seq_len or 4096, checkpointing=cfg.model.activation_checkpointing,
                  loss_chunk_tokens=cfg.model.loss_chunk_tokens)


def table(model_cfg, scenarios=SCENARIOS) -> str:
    keys = ["weights", "gradients", "optimizer", "activations", "logits", "framework", "total"]
    lines = [f"{'layout (A100-80GB, seq 4096, checkpointing)':48}" + "".join(f"{k:>12}" for k in keys) + "  fits"]
    for name, layout in scenarios:
        e = estimate(model_cfg, layout)
        fits = "yes" if e["total"] <= layout.gpu_gb * GB else "NO"
        lines.append(f"{name:48}" + "".join(f"{e[k] / GB:11.1f}G" for k in keys) + f"  {fits}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from model import FLAVORS
    from train.config import PRESETS, load

    p = argparse.ArgumentParser(description="Per-GPU memory estimate under ZeRO, tensor and sequence parallelism.")
    p.add_argument("--flavor", default="13B", choices=list(FLAVORS), help="model flavor of the scenario table")
    p.add_argument("--preset", choices=list(PRESETS), help="estimate this trainer preset on its own layout")
    a = p.parse_args(argv)
    if a.preset:
        cfg, layout = FLAVORS[load(a.preset).model.flavor], preset_layout(a.preset)
        sp = " + SP" if layout.sequence_parallel else ""
        scenarios = [(f"preset {a.preset}: {layout.gpus} GPUs, TP={layout.tp}{sp}", layout)]
        no_sp = dataclasses.replace(layout, sequence_parallel=False)
        if layout.sequence_parallel:
            scenarios.append(("  the same without sequence parallelism", no_sp))
    else:
        cfg, scenarios = FLAVORS[a.flavor], SCENARIOS
    print(f"{cfg.num_params() / 1e9:.2f}B parameters ({replicated_params(cfg) / 1e9:.2f}B replicated under TP)")
    print(table(cfg, scenarios))
    if a.preset and layout.sequence_parallel:
        saved = estimate(cfg, no_sp)["activations"] - estimate(cfg, layout)["activations"]
        print(f"sequence parallelism saves {saved / GB:.1f} GB of activations per GPU")


if __name__ == "__main__":
    main()
