"""The one place the DeepSpeed JSON config is built from a TrainConfig (validated by DeepSpeed itself in tests)."""
from __future__ import annotations

from train.config import TrainConfig, grad_accum_steps
from train.parallel import ds_section

NEVER = 10**9  # steps_per_print: our own metrics do the printing


def build(cfg: TrainConfig, world_size: int, cuda: bool = False) -> dict:
    """The DeepSpeed config for `world_size` processes; gradient accumulation is derived from the world size.

    The optimizer is torch's AdamW (`torch_adam`), fused on CUDA: no JIT-compiled optimizer op is needed, so a fresh
    GPU machine trains without nvcc builds. The LR schedule is ours (train/schedule.py), handed to DeepSpeed as a
    torch scheduler so DeepSpeed checkpoints its state. parallel.tensor > 1 adds DeepSpeed AutoTP training
    (`tensor_parallel.autotp_size`) with our partition rules (train/parallel.py).
    """
    p, o, z = cfg.precision, cfg.optimizer, cfg.deepspeed
    adam = {"lr": o.lr, "betas": [o.beta1, o.beta2], "eps": o.eps, "weight_decay": o.weight_decay,
            "torch_adam": True}
    if cuda:
        adam["fused"] = True
    return {
        "train_batch_size": cfg.batch.global_batch,
        "train_micro_batch_size_per_gpu": cfg.batch.micro_batch,
        "gradient_accumulation_steps": grad_accum_steps(cfg, world_size),
        "gradient_clipping": o.grad_clip,
        "optimizer": {"type": "AdamW", "params": adam},
        "zero_optimization": {
            "stage": z.zero_stage,
            "reduce_bucket_size": z.reduce_bucket_size,
            "allgather_bucket_size": z.allgather_bucket_size,
            "overlap_comm": z.overlap_comm,
            "contiguous_gradients": z.contiguous_gradients,
        },
        "fp16": {
            "enabled": p.dtype == "fp16",
            "loss_scale": 0,  # 0 = dynamic
            "initial_scale_power": p.initial_scale_power,
            "loss_scale_window": p.loss_scale_window,
            "hysteresis": p.hysteresis,
            "min_loss_scale": p.min_loss_scale,
        },
        "bf16": {"enabled": p.dtype == "bf16"},
        "steps_per_print": NEVER,
        "wall_clock_breakdown": False,
        "dump_state": False,
        **ds_section(cfg.parallel.tensor, cfg.parallel.sequence),
    }
