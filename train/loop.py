"""The training loop of one process: DeepSpeed engine, resumable data, checkpoints, metrics, HF export."""
from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from pipeline import typed_config
from train import checkpoint as ckpt
from train.config import TrainConfig, check
from train.data import DataError, TokenStream, read_manifest, tokenizer_dir, verify_shards, verify_tokenizer
from train.ds_config import build
from train.launch import heartbeat
from train.metrics import MetricsSink, memory_gb, peak_tflops, throughput
from train.schedule import torch_scheduler


class LossModule(torch.nn.Module):
    """What DeepSpeed wraps: forward returns the model's mean loss, so engine(...) runs DeepSpeed's hooks."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, targets, loss_mask=None, doc_starts=None):
        return self.model.loss(input_ids, targets, loss_mask=loss_mask, doc_starts=doc_starts)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices (linears, embeddings); none on biases and LayerNorm weights."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def standalone_copy(model, cls):
    """The model with its own CPU tensors: ZeRO makes parameters views into flat buffers, which safetensors
    refuses to save as separate tensors. Built on the meta device, so no second initialisation is paid."""
    with torch.device("meta"):
        clean = cls(model.cfg)
    clean.load_state_dict({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}, assign=True)
    return clean


def resync_lr(scheduler) -> None:
    """After a resume, set each group's lr from this run's schedule at the restored step: the optimizer state holds
    the rate of the schedule that saved it, which differs when schedule keys (e.g. max_steps) changed."""
    for group, base, fn in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * fn(scheduler.last_epoch)


def sdpa_context(name: str):
    """A context pinning SDPA to one kernel for the forward and backward of a step (auto: no pin)."""
    import contextlib

    if name == "auto":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kernels = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
               "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}
    return sdpa_kernel([kernels[name]])


def compile_blocks(model) -> None:
    """torch.compile each block, with torch's AOTAutograd cache off: the SDPA kernel is chosen while tracing, and
    that cache does not key on the sdpa_backend pin (pytorch/pytorch#185449, #186458; torch 2.11 and 2.13), so a graph
    traced under another pin in an earlier process would run silently (seen on an H200: a flash pin ran cuDNN).
    Inductor's own cache keys on the lowered kernel and stays on; the cost is a re-trace of a few seconds per start."""
    import torch._functorch.config as functorch_config

    functorch_config.enable_autograd_cache = False
    for block in model.blocks:
        block.compile()


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


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) training in this process; all processes of the job call it. Returns rank 0's summary."""
    check(cfg)
    import deepspeed
    import torch.distributed as dist
    from deepspeed.runtime.zero.utils import ZeRORuntimeException

    from model import GPTNeoX, export_hf
    from train.export import model_config

    cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    backend = cfg.deepspeed.backend if cfg.deepspeed.backend != "auto" else ("nccl" if cuda else "gloo")
    if not cuda and not cfg.deepspeed.cpu_shm_allreduce:
        import sys

        import deepspeed.comm.torch  # noqa: F401  (deepspeed.comm re-exports the name `torch`: use sys.modules)

        # DeepSpeed then all-reduces with gloo, as it does where the op is unavailable
        sys.modules["deepspeed.comm.torch"].build_shm_op = lambda: None
    deepspeed.init_distributed(dist_backend=backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    dp_rank, dp_world = rank // cfg.deepspeed.tensor_parallel, world // cfg.deepspeed.tensor_parallel
    if cfg.run.deterministic:
        torch.use_deterministic_algorithms(True)

    out = Path(cfg.run.output)
    ckpt_dir = Path(cfg.checkpoint.dir) if cfg.checkpoint.dir else out / "checkpoints"
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(typed_config.to_yaml(cfg))
        heartbeat.beat(out, "starting", 0, cfg.schedule.max_steps)

    manifest, root = read_manifest(cfg.data.manifest)
    if cfg.data.seq_len and manifest.seq_len != cfg.data.seq_len:
        raise DataError(f"manifest seq_len {manifest.seq_len} differs from data.seq_len {cfg.data.seq_len}: "
                        f"tokenize with tokenize.seq_len={cfg.data.seq_len}, or set data.seq_len=0")
    problems = verify_shards(manifest, root, rank, world, cfg.data.verify_checksums)
    if rank == 0:
        problems += verify_tokenizer(manifest, root)
    gathered = [None] * world
    dist.all_gather_object(gathered, problems)
    problems = [p for part in gathered for p in part]
    if problems:
        raise DataError(f"{len(problems)} shard problem(s): " + "; ".join(problems[:5]))

    try:
        mcfg = model_config(cfg.model.flavor, cfg.model.max_seq_len, manifest)
    except ValueError as e:
        raise typed_config.ConfigError(str(e)) from e
    if manifest.seq_len > mcfg.max_seq_len:
        raise DataError(f"manifest seq_len {manifest.seq_len} exceeds flavor {cfg.model.flavor}'s max_seq_len "
                        f"{mcfg.max_seq_len}: shorter shards, or raise model.max_seq_len")
    torch.manual_seed(cfg.run.seed)
    with torch.device(f"cuda:{local_rank}" if cuda else "cpu"):  # initialise where it will train (1.3B+: seconds)
        model = GPTNeoX(mcfg)
    model.gradient_checkpointing = cfg.model.activation_checkpointing
    model.attn_backend = cfg.model.attn_backend
    model.loss_chunk_tokens = cfg.model.loss_chunk_tokens
    if cfg.model.compile_blocks:
        compile_blocks(model)

    ds_cfg = build(cfg, world, cuda)
    engine, _, _, _ = deepspeed.initialize(
        model=LossModule(model), model_parameters=param_groups(model, cfg.optimizer.weight_decay), config=ds_cfg,
        lr_scheduler=lambda opt: torch_scheduler(opt, cfg))
    stream = TokenStream(manifest, root, cfg.data.seed, cfg.data.shuffle)

    start_step, resumed_from = 0, None
    if cfg.checkpoint.resume == "auto":
        found = [ckpt.resumable(ckpt_dir, cfg.checkpoint.verify) if rank == 0 else None]
        dist.broadcast_object_list(found, src=0)
        good, bad = found[0]
        for tag, why in bad:
            if rank == 0:
                print(f"[train] skipping checkpoint {tag}: {why}", flush=True)
        failed = []
        for tag in good:
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
            start_step, resumed_from = int(client["step"]), tag
            resync_lr(engine.lr_scheduler)
            if rank == 0:
                print(f"[train] resumed from {tag}: step {start_step}, sample {stream.samples}", flush=True)
            break
        if failed and resumed_from is None:  # a failed load may have left part of a checkpoint in the engine
            raise RuntimeError(f"no checkpoint in {ckpt_dir} could be loaded ({', '.join(failed)}): move the folder "
                               f"away or set checkpoint.dir, rather than train on a half-loaded state")

    flops_tok = mcfg.flops_per_token(manifest.seq_len)
    device_name = torch.cuda.get_device_name() if cuda else "cpu"
    peak = peak_tflops(device_name, cfg.precision.dtype, cfg.logging.peak_tflops)
    total = cfg.schedule.max_steps
    if rank == 0:
        print(f"[train] {cfg.model.flavor}: {model.num_params():,} parameters, {world} process(es) on {device_name}, "
              f"{cfg.precision.dtype}, ZeRO-{cfg.deepspeed.zero_stage}, micro batch {cfg.batch.micro_batch} x "
              f"{engine.gradient_accumulation_steps()} accumulation x {dp_world} ranks = {cfg.batch.global_batch} "
              f"sequences of {manifest.seq_len}; {manifest.total_rows:,} rows in {len(manifest.shards)} shards",
              flush=True)

    sink = MetricsSink(out, total, start_step, cfg.logging.tensorboard, cfg.logging.progress_bar) if rank == 0 \
        else None

    def save(step: int) -> None:
        tag = ckpt.tag_for(step)
        if rank == 0:
            ckpt.clear_tag(ckpt_dir, tag)
        dist.barrier()
        engine.save_checkpoint(str(ckpt_dir), tag=tag, save_latest=False,
                               client_state={"step": step, "data": stream.state(),
                                             "config": typed_config.to_dict(cfg)})
        dist.barrier()
        if rank == 0:
            ckpt.seal(ckpt_dir, tag, step, cfg.checkpoint.verify)
            ckpt.prune(ckpt_dir, cfg.checkpoint.keep_last)
        dist.barrier()

    losses, last_saved = {}, start_step if resumed_from else None
    mark, mark_step = time.perf_counter(), start_step
    for step in range(start_step, total):
        micro = stream.next_global_batch(cfg.batch.global_batch, cfg.batch.micro_batch, dp_rank, dp_world)
        dev = engine.device
        lr = engine.get_lr()[0]  # the rate this step's update uses
        acc = torch.zeros((), dtype=torch.float64, device=dev)  # on the device: nccl reduces CUDA tensors only
        for b in micro:
            mask = torch.from_numpy(b.loss_mask).to(dev) if b.loss_mask is not None else None
            with sdpa_context(cfg.model.sdpa_backend):
                loss = engine(torch.from_numpy(b.input_ids).to(dev), torch.from_numpy(b.targets).to(dev), mask,
                              b.doc_starts)
                engine.backward(loss)
            engine.step()
            acc += loss.detach().double()
        stats = acc / len(micro)
        dist.all_reduce(stats)  # mean of the ranks' means: the global batch's mean micro-batch loss
        loss_value = float(stats) / world
        done = step + 1
        losses[done] = loss_value
        if sink:
            sink.advance(loss=loss_value)
            heartbeat.beat(out, "training", done, total)
        if done % cfg.logging.every_steps == 0 or done == total:
            if cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            tokens = (done - mark_step) * cfg.batch.global_batch * manifest.seq_len
            m = {"loss": loss_value, "lr": lr, "loss_scale": _loss_scale(engine),
                 "grad_norm": _scalar(engine.get_global_grad_norm()), "skipped_steps": int(engine.skipped_steps),
                 "samples": stream.samples,
                 **throughput(tokens, now - mark, flops_tok, world, peak), **memory_gb()}
            if sink:
                sink.log(done, m)
            mark, mark_step = time.perf_counter(), done
        if cfg.checkpoint.every_steps and done % cfg.checkpoint.every_steps == 0 and done < total:
            save(done)
            last_saved = done
            mark = time.perf_counter()  # saving is not training time
    if cfg.checkpoint.at_end and last_saved != total:
        save(total)
    if sink:
        sink.close()
    summary = {"start_step": start_step, "resumed_from": resumed_from, "losses": losses, "steps": total}
    if rank == 0 and cfg.run.export_hf:
        tok_dir = tokenizer_dir(manifest, root)
        tmp = out / "hf.tmp"
        export_hf(standalone_copy(engine.module.model, GPTNeoX), tmp,
                  tokenizer_dir=tok_dir if tok_dir and tok_dir.is_dir() else None)
        final = out / "hf"
        if final.exists():
            import shutil

            shutil.rmtree(final)
        os.replace(tmp, final)
        summary["hf"] = str(final)
        print(f"[train] Hugging Face export: {final}", flush=True)
    if rank == 0:
        heartbeat.beat(out, "done", total, total)
    dist.barrier()
    return summary
