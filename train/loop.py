"""One process's run, in four parts: setup (train/setup.py), resume (train/resume.py), the step loop with its
checkpoints and metrics, and the Hugging Face export."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from common import typed_config
from train import checkpoint as ckpt
from train.config import TrainConfig
from train.data import TokenStream, tokenizer_dir
from train.launch import heartbeat
from train.metrics import MetricsSink, memory_gb, peak_tflops, throughput
from train.resume import candidates, resume
from train.setup import (
    LossModule,
    Ranks,
    build_engine,
    build_model,
    init_distributed,
    loss_module,
    param_groups,
    prepare_data,
)
from train.sft_loss import per_task_means, task_weight_list

__all__ = ["LossModule", "param_groups", "train", "standalone_copy", "sdpa_context"]


@dataclass
class Run:
    """Everything the step loop and the export need, made once by setup()."""

    cfg: TrainConfig
    ranks: Ranks
    out: Path
    ckpt_dir: Path
    manifest: object
    root: Path
    model: torch.nn.Module
    engine: object
    stream: TokenStream
    module: LossModule
    peft_model: object = None  # the LoRA wrapper (peft) when sft.lora.rank > 0: the export merges through it
    checkpoints: list[str] = field(default_factory=list)  # resumable tags, newest first
    start_step: int = 0
    resumed_from: str | None = None
    losses: dict = field(default_factory=dict)


def standalone_copy(model, cls, state: dict | None = None):
    """The model with its own CPU tensors: ZeRO makes parameters views into flat buffers, which safetensors
    refuses to save as separate tensors. Built on the meta device, so no second initialisation is paid.
    state: the (merged) state dict to use instead of model's own."""
    with torch.device("meta"):
        clean = cls(model.cfg)
    state = model.state_dict() if state is None else state
    clean.load_state_dict({k: v.detach().to("cpu", copy=True) for k, v in state.items()}, assign=True)
    return clean


def sdpa_context(name: str):
    """A context pinning SDPA to one kernel for the forward and backward of a step (auto: no pin)."""
    import contextlib

    if name == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kernels = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
               "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}
    return sdpa_kernel([kernels[name]])


def _scalar(x) -> float | None:
    if x is None:
        return None
    return float(x.item() if torch.is_tensor(x) else x)


def _loss_scale(engine) -> float | None:
    if not engine.fp16_enabled():
        return None
    opt = engine.optimizer
    scaler = getattr(opt, "loss_scaler", None)
    return _scalar(getattr(scaler, "cur_scale", None) or getattr(opt, "cur_scale", None))


def setup(cfg: TrainConfig) -> Run:
    """Process group, checked data, the checkpoints to resume from, model, engine and data stream (nothing loaded)."""
    ranks = init_distributed(cfg)
    out = Path(cfg.run.output)
    ckpt_dir = Path(cfg.checkpoint.dir) if cfg.checkpoint.dir else out / "checkpoints"
    if ranks.rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    manifest, root = prepare_data(cfg, ranks, out)
    task_weight_list(cfg.sft.task_weights, manifest.tasks)  # an unknown task name fails before the model loads
    good = candidates(ckpt_dir, cfg.checkpoint.verify, ranks.rank, cfg.parallel.tensor) \
        if cfg.checkpoint.resume == "auto" else []
    model, peft_model = build_model(cfg, manifest, root, ranks)
    if ranks.rank == 0:  # the shape train.export rebuilds (an init_from run's comes from its init, not the flavor)
        import dataclasses
        import json

        from train.export import MODEL_CONFIG

        (out / MODEL_CONFIG).write_text(json.dumps(dataclasses.asdict(model.cfg), indent=2, sort_keys=True) + "\n")
    module = loss_module(cfg, model, manifest)
    engine = build_engine(cfg, model, ranks, module)
    stream = TokenStream(manifest, root, cfg.data.seed, cfg.data.shuffle)
    return Run(cfg, ranks, out, ckpt_dir, manifest, root, model, engine, stream, module, peft_model, good)


def save(run: Run, step: int) -> None:
    """Every rank writes its part of checkpoint `step`; rank 0 seals it (marker, `latest`) and prunes old ones."""
    import torch.distributed as dist

    tag, rank = ckpt.tag_for(step), run.ranks.rank
    if rank == 0:
        ckpt.clear_tag(run.ckpt_dir, tag)
    dist.barrier()
    run.engine.save_checkpoint(str(run.ckpt_dir), tag=tag, save_latest=False,
                               client_state={"step": step, "data": run.stream.state(),
                                             "config": typed_config.to_dict(run.cfg)})
    dist.barrier()
    if rank == 0:
        ckpt.seal(run.ckpt_dir, tag, step, run.cfg.checkpoint.verify)
        ckpt.prune(run.ckpt_dir, run.cfg.checkpoint.keep_last)
    dist.barrier()


def step_loop(run: Run) -> None:
    """Train from run.start_step to schedule.max_steps: global batches, metrics, periodic and final checkpoints."""
    import torch.distributed as dist

    cfg, engine, stream, ranks = run.cfg, run.engine, run.stream, run.ranks
    seq_len, total = run.manifest.seq_len, cfg.schedule.max_steps
    flops_tok = run.model.cfg.flops_per_token(seq_len)
    device_name = torch.cuda.get_device_name() if ranks.cuda else "cpu"
    peak = peak_tflops(device_name, cfg.precision.dtype, cfg.logging.peak_tflops)
    if ranks.rank == 0:
        tp = f" x TP={cfg.parallel.tensor}{' + SP' if cfg.parallel.sequence else ''}" if cfg.parallel.tensor > 1 \
            else ""
        name = f"{cfg.sft.init_from} (sft.init_from)" if cfg.sft.init_from else cfg.model.flavor
        if run.peft_model is not None:
            from train.lora import check_only_adapters_train

            trained, _ = check_only_adapters_train(run.model)
            name += f", LoRA rank {cfg.sft.lora.rank}: {trained:,} adapter parameters train"
        print(f"[train] {name}: {run.model.cfg.num_params():,} parameters, {ranks.world} process(es) on "
              f"{device_name}, {cfg.precision.dtype}, ZeRO-{cfg.deepspeed.zero_stage}{tp}, micro batch "
              f"{cfg.batch.micro_batch} x {engine.gradient_accumulation_steps()} accumulation x {ranks.dp_world} "
              f"data-parallel ranks = {cfg.batch.global_batch} sequences of {seq_len}; "
              f"{run.manifest.total_rows:,} rows in {len(run.manifest.shards)} shards; loss {cfg.sft.loss_mode}"
              + (f" over tasks {list(run.manifest.tasks)}" if run.manifest.tasks else ""), flush=True)
    sink = MetricsSink(run.out, total, run.start_step, cfg.logging.tensorboard, cfg.logging.progress_bar) \
        if ranks.rank == 0 else None
    last_saved = run.start_step if run.resumed_from else None
    mark, mark_step = time.perf_counter(), run.start_step
    k = len(run.module.task_weights)
    window = torch.zeros(2 * k, dtype=torch.float64)  # per-task loss sums and token counts since the last log
    for step in range(run.start_step, total):
        # every rank of a tensor-parallel group reads the same micro batches: the stream shards by data-parallel rank
        micro = stream.next_global_batch(cfg.batch.global_batch, cfg.batch.micro_batch, ranks.dp_rank, ranks.dp_world)
        dev = engine.device
        lr = engine.get_lr()[0]  # the rate this step's update uses
        # [loss sum, per-task loss sums (K), per-task token counts (K)], on the device: nccl reduces CUDA tensors only
        acc = torch.zeros(1 + 2 * k, dtype=torch.float64, device=dev)
        for b in micro:
            mask = torch.from_numpy(b.loss_mask).to(dev) if b.loss_mask is not None else None
            with sdpa_context(cfg.model.sdpa_backend):
                loss = engine(torch.from_numpy(b.input_ids).to(dev), torch.from_numpy(b.targets).to(dev), mask,
                              b.doc_starts, torch.from_numpy(b.task_ids).to(dev))
                engine.backward(loss)
            engine.step()
            acc[0] += loss.detach().double()
            if run.module.stats is not None:
                acc[1:] += run.module.stats.double().flatten()
        acc[0] /= len(micro)
        # one reduction: the mean of the ranks' means, and per-task sums over all ranks (a tensor-parallel group's
        # ranks hold the same values, which scales sums and counts alike)
        dist.all_reduce(acc)
        loss_value = float(acc[0]) / ranks.world
        window += acc[1:].cpu()
        done = step + 1
        run.losses[done] = loss_value
        if sink:
            sink.advance(loss=loss_value)
            heartbeat.beat(run.out, "training", done, total)
        if done % cfg.logging.every_steps == 0 or done == total:
            if ranks.cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            tokens = (done - mark_step) * cfg.batch.global_batch * seq_len
            m = {"loss": loss_value, "lr": lr, "loss_scale": _loss_scale(engine),
                 "grad_norm": _scalar(engine.get_global_grad_norm()), "skipped_steps": int(engine.skipped_steps),
                 "samples": stream.samples, **per_task_means(window[:k], window[k:], run.manifest.tasks),
                 **throughput(tokens, now - mark, flops_tok, ranks.world, peak), **memory_gb()}
            window.zero_()
            if sink:
                sink.log(done, m)
            mark, mark_step = time.perf_counter(), done
        if cfg.checkpoint.every_steps and done % cfg.checkpoint.every_steps == 0 and done < total:
            save(run, done)
            last_saved = done
            mark = time.perf_counter()  # saving is not training time
    if cfg.checkpoint.at_end and last_saved != total:
        save(run, total)
    if sink:
        sink.close()


def full_state(run: Run) -> dict:
    """The whole model's state dict on every rank: under tensor parallelism the split tensors are all-gathered over
    the tensor-parallel group and merged (train/parallel.py undoes the split exactly)."""
    state = run.model.state_dict()
    tp = run.cfg.parallel.tensor
    if tp == 1:
        return state
    import torch.distributed as dist
    from deepspeed.utils import groups

    from train.parallel import merge, split_dim

    group = groups.get_tensor_model_parallel_group()
    shards = [{} for _ in range(tp)]
    for name, t in state.items():  # one tensor at a time, straight to host memory (13B: no second model on the GPU)
        if split_dim(name) is None:
            parts = [t.detach().cpu()] * tp
        else:
            parts = [torch.empty_like(t) for _ in range(tp)]
            dist.all_gather(parts, t.contiguous(), group=group)
            parts = [p.cpu() for p in parts]
        for shard, part in zip(shards, parts):
            shard[name] = part
    return merge(shards)


def export(run: Run) -> Path | None:
    """Rank 0 writes <output>/hf (one merged folder) from the final weights; every rank takes part in the gather."""
    from model import GPTNeoX, export_hf

    if run.peft_model is not None:  # LoRA (no tensor parallelism): the adapters merged into the weights, by peft
        from train.lora import merged

        run.model = merged(run.peft_model)
    state = full_state(run)
    if run.ranks.rank != 0:
        return None
    tok_dir = tokenizer_dir(run.manifest, run.root)
    tmp, final = run.out / "hf.tmp", run.out / "hf"
    export_hf(standalone_copy(run.model, GPTNeoX, state), tmp,
              tokenizer_dir=tok_dir if tok_dir and tok_dir.is_dir() else None)
    if final.exists():
        import shutil

        shutil.rmtree(final)
    os.replace(tmp, final)
    print(f"[train] Hugging Face export: {final}", flush=True)
    return final


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) training in this process; all processes of the job call it. Returns rank 0's summary."""
    import torch.distributed as dist

    run = setup(cfg)
    if run.checkpoints:
        run.start_step, run.resumed_from = resume(run.engine, run.stream, run.ckpt_dir, run.checkpoints,
                                                  run.ranks.rank, cfg.parallel.tensor)
    step_loop(run)
    summary = {"start_step": run.start_step, "resumed_from": run.resumed_from, "losses": run.losses,
               "steps": cfg.schedule.max_steps}
    if cfg.run.export_hf:
        final = export(run)
        if final is not None:
            summary["hf"] = str(final)
    if run.ranks.rank == 0:
        heartbeat.beat(run.out, "done", cfg.schedule.max_steps, cfg.schedule.max_steps)
    dist.barrier()
    return summary
