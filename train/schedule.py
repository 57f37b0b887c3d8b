"""Learning-rate schedule: linear warmup to the peak, then cosine decay to min_lr, then constant."""
from __future__ import annotations

import math

from train.config import TrainConfig


def lr_at(step: int, peak: float, floor: float, warmup_steps: int, decay_steps: int) -> float:
    """LR of the update with 0-based index `step`: warmup reaches `peak` at update warmup_steps - 1, the cosine
    runs over the next decay_steps updates down to `floor`, which then holds."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if decay_steps <= 0:
        return peak
    t = min(1.0, (step - warmup_steps) / decay_steps)
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


def schedule_args(cfg: TrainConfig) -> tuple[float, float, int, int]:
    s = cfg.schedule
    decay = s.decay_steps or max(0, s.max_steps - s.warmup_steps)
    return cfg.optimizer.lr, cfg.optimizer.min_lr, s.warmup_steps, decay


def torch_scheduler(optimizer, cfg: TrainConfig):
    """A LambdaLR over `optimizer` (whose groups hold the peak lr) following lr_at; DeepSpeed steps it once per
    applied update and saves its state in checkpoints."""
    import torch

    peak, floor, warmup, decay = schedule_args(cfg)
    if peak == 0:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.0)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_at(step, peak, floor, warmup, decay) / peak)
