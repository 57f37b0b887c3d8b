"""The SFT loss of one micro batch from its per-token losses: the token mean, or MFTCoder's task-balanced mean.

`token`: sum of the counted tokens' losses / number of counted tokens (what GPTNeoX.loss computes).
`balanced` (MFTCoder's recommended mode): for each task present in the micro batch, its counted tokens' summed loss
divided by its counted token count, times the task's weight (sft.task_weights, default 1.0), then the mean over the
tasks present. A task absent from the micro batch neither counts nor dilutes the mean; a task with many tokens in a
batch weighs as much as one with few.

Under data parallelism and gradient accumulation each rank balances its own micro batch, as MFTCoder does:
DeepSpeed then averages the micro batches' losses over accumulation steps and data-parallel ranks. So a task's share
of an optimizer step follows the micro batches it appears in; nothing balances over the global batch as a whole.
"""
from __future__ import annotations

import torch

from common.typed_config import ConfigError
from train.config import SFT_LOSS_MODES as LOSS_MODES


def task_sums(token_loss: torch.Tensor, weight: torch.Tensor, task_ids: torch.Tensor,
              num_tasks: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per task: the summed counted loss [K] and the counted-token count [K]. token_loss, weight (the loss mask, 0/1)
    and task_ids are [N] (or any shape, flattened alike); tokens of task -1 (padding) or weight 0 are not counted."""
    token_loss, weight, task_ids = token_loss.reshape(-1), weight.reshape(-1), task_ids.reshape(-1)
    keep = (task_ids >= 0) & (weight > 0)
    index = task_ids.clamp(min=0)
    w = torch.where(keep, weight.to(token_loss.dtype), torch.zeros_like(token_loss))
    # torch.where, not a product: a non-finite loss on an uncounted token must not leak into its task's sum
    contrib = torch.where(keep, token_loss * w, torch.zeros_like(token_loss))
    sums = torch.zeros(num_tasks, dtype=token_loss.dtype, device=token_loss.device).index_add(0, index, contrib)
    counts = torch.zeros(num_tasks, dtype=token_loss.dtype, device=token_loss.device).index_add(0, index, w)
    return sums, counts


def balanced_loss(sums: torch.Tensor, counts: torch.Tensor, task_weights: torch.Tensor) -> torch.Tensor:
    """Mean over the tasks present (count > 0) of task_weight x (task's loss sum / its token count); 0 (still
    attached to the graph) when no token counts."""
    present = counts > 0
    per_task = sums / counts.clamp(min=1.0) * task_weights.to(sums)          # [K], 0 for absent tasks
    return (per_task * present).sum() / present.sum().clamp(min=1)


def sft_loss(token_loss: torch.Tensor, weight: torch.Tensor, task_ids: torch.Tensor, task_weights: torch.Tensor,
             mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the loss to backpropagate, per-task [2, K] stats: summed loss and token count, detached) for one micro
    batch; K = len(task_weights)."""
    if mode not in LOSS_MODES:
        raise ValueError(f"loss mode {mode!r} is not one of {LOSS_MODES}")
    sums, counts = task_sums(token_loss, weight, task_ids, len(task_weights))
    if mode == "balanced":
        loss = balanced_loss(sums, counts, task_weights)
    else:
        flat_loss, flat_w = token_loss.reshape(-1), weight.reshape(-1).to(token_loss.dtype)
        counted = torch.where(flat_w > 0, flat_loss * flat_w, torch.zeros_like(flat_loss))
        loss = counted.sum() / flat_w.sum().clamp(min=1.0)
    return loss, torch.stack([sums, counts]).detach()


def task_weight_list(task_weights: dict[str, float], tasks: tuple[str, ...]) -> list[float]:
    """The weight of each of the manifest's tasks in order (1.0 unless sft.task_weights names it); one weight of 1.0
    for a manifest without task names. A name the manifest does not list fails naming it."""
    unknown = sorted(set(task_weights) - set(tasks))
    if unknown:
        listed = f"its tasks are {list(tasks)}" if tasks else "it names no tasks"
        raise ConfigError(f"sft.task_weights names task(s) {unknown} that the manifest does not list ({listed})")
    return [float(task_weights.get(name, 1.0)) for name in tasks] or [1.0]


def per_task_means(sums, counts, names: tuple[str, ...]) -> dict[str, float]:
    """{"loss/<task>": token mean} for each named task with counted tokens (sums, counts: sequences of floats)."""
    return {f"loss/{name}": float(s) / float(c) for name, s, c in zip(names, sums, counts) if c > 0}
