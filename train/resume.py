"""Resuming a run: the newest checkpoint that checks out and loads, its data position, this run's LR schedule."""
from __future__ import annotations

from pathlib import Path

from train import checkpoint as ckpt
from train.parallel import refuse_other_degree


def resync_lr(scheduler) -> None:
    """After a resume, set each group's lr from this run's schedule at the restored step: the optimizer state holds
    the rate of the schedule that saved it, which differs when schedule keys (e.g. max_steps) changed."""
    for group, base, fn in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * fn(scheduler.last_epoch)


def candidates(ckpt_dir: Path, verify: str, rank: int, tp: int) -> list[str]:
    """The tags that check out, newest first (rank 0 checks, every rank gets the list; damaged ones are reported).
    Run before the engine is built, so that a checkpoint of another tensor-parallel degree stops the job at once
    instead of after minutes of model and engine setup."""
    import torch.distributed as dist

    found = [ckpt.resumable(ckpt_dir, verify) if rank == 0 else None]
    dist.broadcast_object_list(found, src=0)
    good, bad = found[0]
    for tag, why in bad:
        if rank == 0:
            print(f"[train] skipping checkpoint {tag}: {why}", flush=True)
    if good:
        refuse_other_degree(ckpt_dir / good[0], tp)
    return good


def resume(engine, stream, ckpt_dir: Path, good: list[str], rank: int, tp: int) -> tuple[int, str | None]:
    """Load the newest of the `good` checkpoints that loads into the engine and the stream: (step to start at, tag
    or None).

    A tag that fails to load is skipped for an older one; a checkpoint of another data-parallel or tensor-parallel
    size stops the job (that is a wrong restart, not damage); if every candidate fails to load, the job stops rather
    than train on a half-loaded engine."""
    from deepspeed.runtime.zero.utils import ZeRORuntimeException

    failed = []
    for tag in good:
        refuse_other_degree(ckpt_dir / tag, tp)
        try:
            path, client = engine.load_checkpoint(str(ckpt_dir), tag=tag)
        except ZeRORuntimeException as e:  # e.g. another data-parallel size: not damage, a wrong restart
            raise RuntimeError(f"checkpoint {tag} does not fit this job: {e} Restart with the world size it was "
                               f"written with, or convert it to a universal checkpoint "
                               f"(python -m deepspeed.checkpoint.ds_to_universal).") from e
        except Exception as e:  # a file that passed the size check but does not unpickle
            failed.append(tag)
            if rank == 0:
                print(f"[train] checkpoint {tag} failed to load ({type(e).__name__}: {e}); trying an older one",
                      flush=True)
            continue
        if path is None:
            failed.append(tag)
            if rank == 0:
                print(f"[train] checkpoint {tag} did not load; trying an older one", flush=True)
            continue
        stream.load_state(client["data"])
        resync_lr(engine.lr_scheduler)
        if rank == 0:
            print(f"[train] resumed from {tag}: step {client['step']}, sample {stream.samples}", flush=True)
        return int(client["step"]), tag
    if failed:  # a failed load may have left part of a checkpoint in the engine
        raise RuntimeError(f"no checkpoint in {ckpt_dir} could be loaded ({', '.join(failed)}): move the folder "
                           f"away or set checkpoint.dir, rather than train on a half-loaded state")
    return 0, None
