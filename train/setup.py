"""Setting up one training process: the process group, the data checks, the model and its DeepSpeed engine (ZeRO,
and AutoTP tensor parallelism with sequence parallelism laid over it when configured)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from common import typed_config
from train.config import TrainConfig, check, check_layout
from train.data import DataError, read_manifest, verify_shards, verify_tokenizer
from train.ds_config import build
from train.launch import heartbeat
from train.schedule import torch_scheduler


class LossModule(torch.nn.Module):
    """What DeepSpeed wraps: forward returns the loss, so engine(...) runs DeepSpeed's hooks.

    With one unnamed task in token mode that is the model's own mean loss. Otherwise (sft.loss_mode balanced, or a
    manifest with task names) it is train/sft_loss.py's loss over the per-token losses, and `stats` keeps the micro
    batch's per-task [2, K] loss sums and token counts for the metrics."""

    def __init__(self, model, loss_mode: str = "token", task_weights: list[float] | None = None):
        super().__init__()
        self.model = model
        self.loss_mode = loss_mode
        self.task_weights = list(task_weights or [1.0])  # a plain list: DeepSpeed casts float buffers to bf16/fp16
        self.per_task = loss_mode != "token" or len(self.task_weights) > 1
        self.stats: torch.Tensor | None = None

    def forward(self, input_ids, targets, loss_mask=None, doc_starts=None, task_ids=None):
        if not self.per_task:
            return self.model.loss(input_ids, targets, loss_mask=loss_mask, doc_starts=doc_starts)
        from train.sft_loss import sft_loss

        token_loss = self.model.token_losses(input_ids, targets, doc_starts)          # [B * T]
        weight = (targets != -100).to(torch.float32)
        if loss_mask is not None:
            weight = weight * loss_mask.to(torch.float32)
        if task_ids is None:
            task_ids = torch.zeros_like(targets)
        loss, self.stats = sft_loss(token_loss, weight, task_ids,
                                    torch.tensor(self.task_weights, device=token_loss.device), self.loss_mode)
        return loss


@dataclass
class Ranks:
    """Where this process sits: global rank and world, its data-parallel rank and size (the ranks of one
    tensor-parallel group are consecutive and share a data-parallel rank), CUDA or not."""

    rank: int
    world: int
    dp_rank: int
    dp_world: int
    local_rank: int
    cuda: bool


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices (linears, embeddings); none on biases and LayerNorm weights."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def init_distributed(cfg: TrainConfig) -> Ranks:
    """Start the process group (nccl on CUDA, gloo on CPU) and check that the world splits into cfg's layout."""
    check(cfg)
    import deepspeed
    import torch.distributed as dist

    cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    backend = cfg.deepspeed.backend if cfg.deepspeed.backend != "auto" else ("nccl" if cuda else "gloo")
    if not cuda and not cfg.deepspeed.cpu_shm_allreduce:
        import deepspeed.comm.torch  # noqa: F401  (deepspeed.comm re-exports the name `torch`: use sys.modules)

        # DeepSpeed then all-reduces with gloo, as it does where the op is unavailable
        sys.modules["deepspeed.comm.torch"].build_shm_op = lambda: None
    deepspeed.init_distributed(dist_backend=backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    dp_world = check_layout(cfg, world)
    if cfg.run.deterministic:
        torch.use_deterministic_algorithms(True)
    return Ranks(rank, world, rank // cfg.parallel.tensor, dp_world, local_rank, cuda)


def prepare_data(cfg: TrainConfig, ranks: Ranks, out: Path):
    """(manifest, its folder) once every rank's share of the shards and the tokenizer checked out."""
    import torch.distributed as dist

    if ranks.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(typed_config.to_yaml(cfg))
        heartbeat.beat(out, "starting", 0, cfg.schedule.max_steps)
    manifest, root = read_manifest(cfg.data.manifest)
    if cfg.data.seq_len and manifest.seq_len != cfg.data.seq_len:
        raise DataError(f"manifest seq_len {manifest.seq_len} differs from data.seq_len {cfg.data.seq_len}: "
                        f"tokenize with tokenize.seq_len={cfg.data.seq_len}, or set data.seq_len=0")
    problems = verify_shards(manifest, root, ranks.rank, ranks.world, cfg.data.verify_checksums)
    if ranks.rank == 0:
        problems += verify_tokenizer(manifest, root)
    gathered = [None] * ranks.world
    dist.all_gather_object(gathered, problems)
    problems = [p for part in gathered for p in part]
    if problems:
        raise DataError(f"{len(problems)} shard problem(s): " + "; ".join(problems[:5]))
    return manifest, root


def build_model(cfg: TrainConfig, manifest, root: Path, ranks: Ranks):
    """(model, peft model or None): the whole model on every rank, initialised from run.seed or loaded from
    sft.init_from (AutoTP then keeps each rank's part of it); with sft.lora.rank > 0 wrapped in LoRA adapters, of
    which only the adapters train."""
    from model import GPTNeoX
    from train.export import model_config

    device = torch.device(f"cuda:{ranks.local_rank}" if ranks.cuda else "cpu")
    torch.manual_seed(cfg.run.seed)
    if cfg.sft.init_from:
        from train.init_from import load_init_model

        model = load_init_model(cfg.sft.init_from, manifest, root, cfg.model.max_seq_len, device)
        mcfg = model.cfg
    else:
        try:
            mcfg = model_config(cfg.model.flavor, cfg.model.max_seq_len, manifest)
        except ValueError as e:
            raise typed_config.ConfigError(str(e)) from e
        if manifest.seq_len > mcfg.max_seq_len:
            raise DataError(f"manifest seq_len {manifest.seq_len} exceeds flavor {cfg.model.flavor}'s max_seq_len "
                            f"{mcfg.max_seq_len}: shorter shards, or raise model.max_seq_len")
        with device:  # initialise where it trains
            model = GPTNeoX(mcfg)
    try:
        check_layout(cfg, ranks.world, mcfg.heads, mcfg.ffn, manifest.seq_len)
    except ValueError as e:
        raise typed_config.ConfigError(str(e)) from e
    model.gradient_checkpointing = cfg.model.activation_checkpointing
    model.attn_backend = cfg.model.attn_backend
    model.loss_chunk_tokens = cfg.model.loss_chunk_tokens
    peft_model = None
    if cfg.sft.lora.rank:
        from train import lora

        peft_model = lora.apply(model, cfg.sft.lora)  # adapters initialised from run.seed's stream, on the device
    return model, peft_model


def loss_module(cfg: TrainConfig, model, manifest) -> LossModule:
    """The LossModule of cfg's loss mode with each manifest task's weight (an unknown task name fails here)."""
    from train.sft_loss import task_weight_list

    return LossModule(model, cfg.sft.loss_mode, task_weight_list(cfg.sft.task_weights, manifest.tasks))


def build_engine(cfg: TrainConfig, model, ranks: Ranks, module: LossModule | None = None):
    """The DeepSpeed engine over LossModule(model). With parallel.tensor > 1 the engine's AutoTP splits the linears;
    then each attention takes its local head count, and sequence parallelism is laid over the split model."""
    import deepspeed
    from deepspeed.utils import groups

    mpu = None
    if cfg.parallel.tensor > 1:
        # the (data, tensor) process-group mesh, tensor innermost: ranks r*t .. r*t+t-1 form one tensor-parallel
        # group (inside a node). Passed as mpu, it also makes DeepSpeed count data-parallel ranks in its batch math.
        groups._init_tp_mesh_device(tensor_model_parallel_size=cfg.parallel.tensor)
        mpu = groups
    engine, _, _, _ = deepspeed.initialize(
        model=module or LossModule(model), model_parameters=param_groups(model, cfg.optimizer.weight_decay), mpu=mpu,
        config=build(cfg, ranks.world, ranks.cuda), lr_scheduler=lambda opt: torch_scheduler(opt, cfg))
    if cfg.parallel.tensor > 1:
        from train import parallel, sequence_parallel

        parallel.localize_heads(model, cfg.parallel.tensor)
        if cfg.parallel.sequence:
            sequence_parallel.install(model, groups.get_tensor_model_parallel_group())
    if cfg.model.compile_blocks:  # after the split and the hooks, so the compiled code sees the final modules
        compile_blocks(model)
    return engine


def compile_blocks(model) -> None:
    """torch.compile each block, with torch's AOTAutograd cache off: the SDPA kernel is chosen while tracing, and
    that cache does not key on the sdpa_backend pin (pytorch/pytorch#185449, #186458; torch 2.11 and 2.13), so a graph
    traced under another pin in an earlier process would run silently (seen on an H200: a flash pin ran cuDNN).
    Inductor's own cache keys on the lowered kernel and stays on; the cost is a re-trace of a few seconds per start."""
    import torch._functorch.config as functorch_config

    functorch_config.enable_autograd_cache = False
    for block in model.blocks:
        block.compile()
