"""Tensor parallelism on DeepSpeed AutoTP: the partition rules for our module names, what the engine leaves to us
after it splits the model, and merging (or refusing) tensor-parallel checkpoints.

The rules (Megatron's split of a GPT block, written for model/gpt.py's names):
  attn.qkv   column-parallel; its rows are [q of all heads | k of all heads | v of all heads], so the weight is cut
             as three sub-parameters (shape (3, -1)): rank r keeps heads [r H/t, (r+1) H/t) of q, of k and of v, and
             its local rows are again (qkv, head, dim) ordered, over H/t heads.
  attn.proj  row-parallel (input features = the heads' outputs, cut on the same head boundaries; bias replicated).
  mlp.fc_in  column-parallel;  mlp.fc_out  row-parallel (bias replicated).
Everything else (embedding, LayerNorms, the untied output head) stays replicated: each rank of a tensor-parallel
group computes it in full on the same micro batch. Under sequence parallelism (train/sequence_parallel.py) the
LayerNorms and the row-parallel biases see only a slice of the sequence, so their gradients are summed over the
group: DeepSpeed's `grad_allreduce` rule does that.
"""
from __future__ import annotations

import re
from pathlib import Path

COLUMN = ("attn.qkv", "mlp.fc_in")
ROW = ("attn.proj", "mlp.fc_out")
# replicated parameters that see a sequence slice under sequence parallelism (their gradients are partial sums)
SEQUENCE_SLICED = ("ln_attn.weight", "ln_attn.bias", "ln_mlp.weight", "ln_mlp.bias", "ln_f.weight", "ln_f.bias",
                   "attn.proj.bias", "mlp.fc_out.bias")
MODEL_STATES = re.compile(r"^mp_rank_(\d+)_model_states\.pt$")


def _pattern(suffix: str) -> str:
    return r"(^|.*\.)" + re.escape(suffix) + "$"


def partition_config(sequence: bool) -> dict:
    """DeepSpeed's `tensor_parallel.partition_config` for GPTNeoX (only these rules: no built-in presets)."""
    specs = [
        {"patterns": [_pattern("attn.qkv.weight")], "partition_type": "column", "shape": [3, -1], "partition_dim": 0},
        {"patterns": [_pattern("mlp.fc_in.weight")], "partition_type": "column"},
        {"patterns": [_pattern(f"{name}.weight") for name in ROW], "partition_type": "row"},
    ]
    if sequence:
        specs.append({"patterns": [_pattern(name) for name in SEQUENCE_SLICED], "partition_type": "skip",
                      "grad_allreduce": True})
    return {"use_default_specs": False, "strict_mode": False, "layer_specs": specs}


def ds_section(tp: int, sequence: bool) -> dict:
    """The DeepSpeed config's `tensor_parallel` section (empty for tp = 1)."""
    if tp == 1:
        return {}
    return {"tensor_parallel": {"autotp_size": tp, "partition_config": partition_config(sequence)}}


def localize_heads(model, tp: int) -> None:
    """After AutoTP split the weights: each Attention reshapes its qkv output by its own (local) head count."""
    for block in model.blocks:
        block.attn.heads = model.cfg.heads // tp


def split_dim(name: str) -> int | None:
    """The dimension along which parameter `name` (ours, e.g. blocks.3.attn.qkv.weight) is split, or None."""
    for layer in COLUMN:
        if name.endswith((f"{layer}.weight", f"{layer}.bias")):
            return 0
    for layer in ROW:
        if name.endswith(f"{layer}.weight"):
            return 1
    return None


def merge(shards: list[dict]) -> dict:
    """One full state dict (our names) from the tensor-parallel ranks' shards, in rank order: the exact inverse of
    the rules above (qkv shards are concatenated per q, k and v; replicated tensors are taken from rank 0)."""
    import torch

    tp, out = len(shards), {}
    for name, first in shards[0].items():
        dim = split_dim(name)
        parts = [s[name] for s in shards]
        if tp == 1 or dim is None:
            out[name] = first
        elif ".attn.qkv." in name:  # each part: (3, heads/tp, dim, ...) -> concatenate the heads of q, k and v
            out[name] = torch.cat([p.reshape(3, -1, *p.shape[1:]) for p in parts], dim=1).reshape(-1, *first.shape[1:])
        else:
            out[name] = torch.cat(parts, dim=dim)
    return out


def split(full: dict, tp: int, rank: int) -> dict:
    """Rank `rank`'s shard of a full state dict under the rules above (the inverse of merge; tests use it)."""
    import torch

    out = {}
    for name, t in full.items():
        dim = split_dim(name)
        if tp == 1 or dim is None:
            out[name] = t
        elif ".attn.qkv." in name:
            out[name] = torch.chunk(t.reshape(3, -1, *t.shape[1:]), tp, dim=1)[rank].reshape(-1, *t.shape[1:])
        else:
            out[name] = torch.chunk(t, tp, dim=dim)[rank]
    return out


def checkpoint_degree(folder: Path) -> int:
    """The tensor-parallel degree a DeepSpeed checkpoint folder was written with (one model-states file per rank of
    a tensor-parallel group)."""
    ranks = [int(m.group(1)) for p in Path(folder).iterdir() if (m := MODEL_STATES.match(p.name))]
    return max(ranks) + 1 if ranks else 1


def refuse_other_degree(folder: Path, tp: int) -> None:
    """Resuming needs the checkpoint's own tensor-parallel degree: ZeRO's optimizer shards hold flat slices of the
    split weights, which do not re-cut into another degree's shards."""
    saved = checkpoint_degree(folder)
    if saved != tp:
        raise RuntimeError(
            f"checkpoint {Path(folder).name} was written with parallel.tensor={saved}, this job runs "
            f"parallel.tensor={tp}: resume with parallel.tensor={saved}, or export it (python -m train.export, which "
            f"merges the {saved} shards) and start a new run from those weights")
