"""The trainer's one config tree (TrainConfig) and its named presets: debug, 1.3B and the paper's 13B recipe."""
from __future__ import annotations

from dataclasses import dataclass, field

from common import typed_config
from common.typed_config import ConfigError, option
from model import FLAVORS

# train/sft_loss.py's modes, named here so that reading the config (the DAGs' forms) does not import torch
SFT_LOSS_MODES = ("balanced", "token")

PRECISIONS = ("fp16", "bf16", "fp32")


@dataclass(frozen=True)
class ModelSection:
    flavor: str = option("debug", "model flavor from model.FLAVORS (debug, 350M, 1.3B, 6B, 13B, 13B-probe); its "
                                  "vocabulary is replaced by the manifest's vocab_size", choices=tuple(FLAVORS))
    max_seq_len: int = option(0, "longest sequence the model accepts: 0 = the flavor's, -1 = the manifest's seq_len "
                                 "(rotary positions are not learned, so a small flavor may be stretched)", min=-1)
    loss_chunk_tokens: int = option(0, "compute head + cross entropy over this many tokens at a time (recomputed in "
                                       "backward), so full [batch, seq, vocab] logits never exist; 0 = one pass",
                                    min=0)
    activation_checkpointing: bool = option(False, "recompute each block in the backward pass (less memory, "
                                                   "about 1/3 more compute; MFU still counts model FLOPs only)")
    compile_blocks: bool = option(False, "torch.compile each transformer block (GPU: faster steps; the first step "
                                         "pays the compilation)")
    sdpa_backend: str = option("auto", "pin PyTorch's SDPA kernel (GPU: cudnn is often fastest on Hopper); auto = "
                                       "PyTorch's choice", choices=("auto", "flash", "cudnn", "efficient", "math"))
    attn_backend: str = option("auto", "attention kernel: flash_attn on CUDA when importable, else SDPA",
                               choices=("auto", "sdpa", "flash_attn"))


@dataclass(frozen=True)
class DataSection:
    manifest: str = option("", "path of the token shards' manifest.json (or its folder)")
    seq_len: int = option(0, "sequence length the run expects; the manifest's must match (0 = take the manifest's)",
                          min=0)
    verify_checksums: bool = option(True, "check every shard's sha256 against the manifest before training")
    seed: int = option(1234, "seed of the shard and row order (each epoch reshuffles from (seed, epoch))", min=0)
    shuffle: bool = option(True, "shuffle shard order and rows within shards per epoch; false = manifest order")


@dataclass(frozen=True)
class BatchSection:
    micro_batch: int = option(1, "sequences per GPU per forward/backward (DeepSpeed train_micro_batch_size_per_gpu)",
                              min=1)
    global_batch: int = option(8, "sequences per optimizer step over all data-parallel ranks; gradient accumulation "
                                  "= global_batch / (micro_batch * data-parallel world size), which must divide",
                               min=1)


@dataclass(frozen=True)
class OptimizerSection:
    lr: float = option(1.5e-4, "peak learning rate (Adam), reached at the end of warmup", min=0.0)
    min_lr: float = option(1.5e-5, "learning rate at the end of the cosine decay", min=0.0)
    beta1: float = option(0.9, "Adam beta1", min=0.0, max=1.0)
    beta2: float = option(0.95, "Adam beta2", min=0.0, max=1.0)
    eps: float = option(1e-8, "Adam epsilon", min=0.0)
    weight_decay: float = option(0.1, "decoupled weight decay (AdamW); biases and LayerNorms are not decayed",
                                 min=0.0)
    grad_clip: float = option(1.0, "clip the global gradient norm to this (0 = no clipping)", min=0.0)


@dataclass(frozen=True)
class ScheduleSection:
    max_steps: int = option(20, "optimizer steps to train (skipped fp16 steps count)", min=1)
    warmup_steps: int = option(2, "linear warmup from 0 to optimizer.lr over this many steps", min=0)
    decay_steps: int = option(0, "steps of cosine decay to optimizer.min_lr after warmup ends; 0 = until max_steps",
                              min=0)


@dataclass(frozen=True)
class PrecisionSection:
    dtype: str = option("fp32", "training precision: fp16 (dynamic loss scaling), bf16, or fp32; DeepSpeed on CPU "
                                "supports bf16 and fp32 only", choices=PRECISIONS)
    initial_scale_power: int = option(15, "fp16: initial loss scale is 2**this (paper: 2^15)", min=0, max=40)
    min_loss_scale: int = option(1, "fp16: the dynamic loss scale never goes below this (paper: 1); DeepSpeed stops "
                                     "the run with an error when an overflow happens at this scale", min=1)
    loss_scale_window: int = option(1000, "fp16: steps without overflow before the scale doubles", min=1)
    hysteresis: int = option(2, "fp16: overflows tolerated before the scale is first lowered", min=1)


@dataclass(frozen=True)
class DeepSpeedSection:
    zero_stage: int = option(1, "ZeRO stage: 0 none, 1 optimizer states sharded (paper), 2 + gradients, 3 + weights",
                             choices=(0, 1, 2, 3))
    reduce_bucket_size: int = option(500_000_000, "elements per gradient reduce bucket", min=1)
    allgather_bucket_size: int = option(500_000_000, "elements per ZeRO all-gather bucket", min=1)
    overlap_comm: bool = option(False, "overlap gradient reduction with the backward pass")
    contiguous_gradients: bool = option(True, "copy gradients into one contiguous buffer as they are produced")
    cpu_shm_allreduce: bool = option(False, "CPU runs: let DeepSpeed JIT-build its shared-memory all-reduce op (gcc, "
                                            "40 s to minutes on first start); off = plain gloo all-reduce")
    backend: str = option("auto", "torch.distributed backend: auto = nccl on CUDA, gloo on CPU",
                          choices=("auto", "nccl", "gloo"))


@dataclass(frozen=True)
class ParallelSection:
    tensor: int = option(1, "tensor-parallel degree (DeepSpeed AutoTP, rules in train/parallel.py): the attention "
                            "heads and the MLP are split over this many consecutive ranks (keep them inside a node); "
                            "data-parallel size = world / tensor", choices=(1, 2, 4, 8))
    sequence: bool = option(False, "Megatron sequence parallelism (needs tensor > 1): LayerNorms and the residual "
                                   "stream are split along the sequence inside each tensor-parallel group, so their "
                                   "activations take 1/tensor of the memory (train/sequence_parallel.py)")


@dataclass(frozen=True)
class CheckpointSection:
    dir: str = option("", "checkpoint folder (DeepSpeed layout, `latest` tag file); empty = <output>/checkpoints")
    every_steps: int = option(0, "save every N optimizer steps (0 = only at the end)", min=0)
    at_end: bool = option(True, "save a checkpoint after the last step (speed checks turn it off)")
    keep_last: int = option(3, "complete checkpoints kept; older ones are deleted (0 = keep all)", min=0)
    resume: str = option("auto", "auto = resume from the newest complete checkpoint if any; none = start fresh",
                         choices=("auto", "none"))
    verify: str = option("sha256", "how a checkpoint is checked before loading: sha256 of every file, or sizes "
                                   "only (cheap at 13B scale)", choices=("sha256", "size"))


@dataclass(frozen=True)
class LoggingSection:
    every_steps: int = option(1, "log metrics every N optimizer steps", min=1)
    tensorboard: bool = option(True, "write TensorBoard event files under <output>/tensorboard")
    progress_bar: bool = option(True, "show a tqdm progress bar (rank 0); metric lines are printed either way")
    peak_tflops: float = option(0.0, "per-device peak dense TFLOPS for MFU; 0 = from the device name (A100 312, "
                                     "H100/H200 989 in fp16/bf16), unknown devices report no MFU", min=0.0)


@dataclass(frozen=True)
class RunSection:
    output: str = option("out/train", "run folder: resolved config, metrics.jsonl, tensorboard, checkpoints, hf")
    seed: int = option(42, "seed of the model's initial weights", min=0)
    export_hf: bool = option(True, "write a Hugging Face folder (<output>/hf) from the final weights")
    deterministic: bool = option(False, "torch.use_deterministic_algorithms (for bitwise resume checks)")


@dataclass(frozen=True)
class LoraSection:
    rank: int = option(0, "LoRA rank (peft): > 0 freezes the model and trains low-rank adapters on "
                          "sft.lora.target_modules only; the Hugging Face export merges them; 0 = full fine-tuning",
                       min=0)
    alpha: float = option(16.0, "LoRA alpha: the adapters' update is scaled by alpha / rank", min=0.0)
    dropout: float = option(0.05, "dropout on the adapters' input (training only)", min=0.0, max=1.0)
    target_modules: list[str] = option(["attn.qkv", "attn.proj", "mlp.fc_in", "mlp.fc_out"],
                                       "our linear layers that get adapters, by the name inside a block (attn.qkv, "
                                       "attn.proj, mlp.fc_in, mlp.fc_out) or head; each must name at least one")


@dataclass(frozen=True)
class SftSection:
    loss_mode: str = option("token", "token = mean over every counted token; balanced = MFTCoder's task-balanced "
                                     "loss: per micro batch, each present task's mean token loss times its weight, "
                                     "averaged over the tasks present (train/sft_loss.py)", choices=SFT_LOSS_MODES)
    task_weights: dict[str, float] = option({}, "balanced mode: weight per task name from the manifest's tasks "
                                                "(default 1.0); set as --set 'sft.task_weights={name: 2.0}'", min=0.0)
    init_from: str = option("", "start from these weights, with a fresh optimizer: a Hugging Face GPT-NeoX folder "
                                "(our export or transformers' GPTNeoXForCausalLM) or one of our run folders (its "
                                "newest complete checkpoint); the model's shape then comes from it, not model.flavor")
    lora: LoraSection = field(default_factory=LoraSection)


@dataclass(frozen=True)
class TrainConfig:
    run: RunSection = field(default_factory=RunSection)
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    batch: BatchSection = field(default_factory=BatchSection)
    optimizer: OptimizerSection = field(default_factory=OptimizerSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    precision: PrecisionSection = field(default_factory=PrecisionSection)
    deepspeed: DeepSpeedSection = field(default_factory=DeepSpeedSection)
    parallel: ParallelSection = field(default_factory=ParallelSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    sft: SftSection = field(default_factory=SftSection)


# Presets are overrides laid over the defaults, before the YAML file and --set.
PRESETS: dict[str, dict] = {
    # a CPU smoke run: the tiny debug model, fp32, a handful of steps
    "debug": {"model": {"flavor": "debug", "max_seq_len": -1}, "batch": {"micro_batch": 4, "global_batch": 8},
              "optimizer": {"lr": 3e-3, "min_lr": 3e-4}, "schedule": {"max_steps": 30, "warmup_steps": 3},
              "precision": {"dtype": "fp32"}, "checkpoint": {"every_steps": 10}},
    # a 1.3B model on one node of 8 GPUs (or one GPU for the check script)
    "1.3B": {"model": {"flavor": "1.3B", "activation_checkpointing": True}, "data": {"seq_len": 4096},
             "batch": {"micro_batch": 8, "global_batch": 512},
             "optimizer": {"lr": 2e-4, "min_lr": 2e-5}, "schedule": {"max_steps": 50_000, "warmup_steps": 2000},
             "precision": {"dtype": "bf16"}, "checkpoint": {"every_steps": 1000, "verify": "size"},
             "logging": {"every_steps": 10}},
    # CodeFuse-13B as the paper trained it on 64 nodes x 8 GPUs: 2-way tensor parallel with sequence parallelism
    # inside each node, ZeRO-1 over the 256 data-parallel replicas, fp16 with dynamic loss scaling from 2^15 down to 1,
    # Adam 1.5e-4 -> 1.5e-5 cosine, clipping 1.0, seq 4096 (from the manifest), micro batch 16, global batch 4096
    "13B": {"model": {"flavor": "13B", "activation_checkpointing": True, "loss_chunk_tokens": 8192},
            "data": {"seq_len": 4096},
            "batch": {"micro_batch": 16, "global_batch": 4096},
            "optimizer": {"lr": 1.5e-4, "min_lr": 1.5e-5, "grad_clip": 1.0},
            "schedule": {"max_steps": 60_000, "warmup_steps": 1000},
            "precision": {"dtype": "fp16", "initial_scale_power": 15, "min_loss_scale": 1},
            "deepspeed": {"zero_stage": 1}, "parallel": {"tensor": 2, "sequence": True},
            "checkpoint": {"every_steps": 500, "verify": "size"}, "logging": {"every_steps": 10}},
}
# Multi-task fine-tuning (MFTCoder) of a pretrained model (sft.init_from, required): the model's shape comes from it,
# a fresh optimizer at a small LR after a short warmup, the task-balanced loss; bf16 (fp16 also works on GPUs).
PRESETS["sft"] = {"model": {"max_seq_len": 0}, "batch": {"micro_batch": 4, "global_batch": 64},
                  "optimizer": {"lr": 2e-5, "min_lr": 2e-6, "weight_decay": 0.1},
                  "schedule": {"max_steps": 1000, "warmup_steps": 20}, "precision": {"dtype": "bf16"},
                  "sft": {"loss_mode": "balanced"},
                  "checkpoint": {"every_steps": 200, "verify": "size"}, "logging": {"every_steps": 10}}
# Keys a preset cannot run without, checked when it is loaded.
PRESET_REQUIRES: dict[str, tuple[str, ...]] = {"sft": ("sft.init_from",)}
# The paper's recipe without tensor parallelism on the same 512 x A100-80GB (train/memory.py): ZeRO-2, micro batch
# 8 x 512 ranks = the same global batch of 4096 sequences, the loss in chunks of 8192 tokens.
PRESETS["13B-zero2"] = {**PRESETS["13B"], "batch": {"micro_batch": 8, "global_batch": 4096},
                        "deepspeed": {"zero_stage": 2}, "parallel": {"tensor": 1, "sequence": False}}
# The machine each preset was laid out for, (nodes, GPUs per node): the DAG form's defaults and the layout tests.
PRESET_LAYOUT: dict[str, tuple[int, int]] = {"debug": (1, 1), "1.3B": (1, 8), "13B": (64, 8), "13B-zero2": (64, 8),
                                             "sft": (1, 8)}


def load(preset: str = "debug", yaml_path=None, overrides=(), base: dict | None = None) -> TrainConfig:
    """defaults < preset < base < YAML < --set, every key and type checked (unknown keys fail naming the key)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}: choose one of {list(PRESETS)}")
    cfg = typed_config.load(TrainConfig, yaml_path, overrides, base=_deep_merge(PRESETS[preset], base or {}))
    for key in PRESET_REQUIRES.get(preset, ()):
        section, name = key.split(".")
        if not getattr(getattr(cfg, section), name):
            raise ConfigError(f"preset {preset} needs {key}: pass --set {key}=PATH")
    return cfg


def _deep_merge(low: dict, high: dict) -> dict:
    out = dict(low)
    for key, value in high.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def check(cfg: TrainConfig) -> None:
    """Cross-key rules that single options cannot express; raised before any process group starts."""
    if cfg.optimizer.min_lr > cfg.optimizer.lr:
        raise ConfigError(f"optimizer.min_lr {cfg.optimizer.min_lr} exceeds optimizer.lr {cfg.optimizer.lr}")
    if cfg.schedule.warmup_steps > cfg.schedule.max_steps:
        raise ConfigError(f"schedule.warmup_steps {cfg.schedule.warmup_steps} exceeds schedule.max_steps "
                          f"{cfg.schedule.max_steps}")
    if not cfg.data.manifest:
        raise ConfigError("data.manifest is empty: pass --set data.manifest=PATH/manifest.json")
    if cfg.batch.global_batch % cfg.batch.micro_batch:
        raise ConfigError(f"batch.global_batch {cfg.batch.global_batch} is not a multiple of batch.micro_batch "
                          f"{cfg.batch.micro_batch}")
    lora = cfg.sft.lora
    if lora.rank and not cfg.sft.init_from:
        raise ConfigError("sft.lora.rank > 0 trains adapters on a frozen pretrained model: set sft.init_from")
    if lora.rank and cfg.parallel.tensor > 1:
        raise ConfigError("sft.lora.rank > 0 with parallel.tensor > 1: LoRA runs without tensor parallelism "
                          "(AutoTP's rules do not split the adapters)")
    if lora.rank and not lora.target_modules:
        raise ConfigError("sft.lora.target_modules is empty: name the linears that get adapters")


def check_layout(cfg: TrainConfig, world_size: int, heads: int | None = None, ffn: int | None = None,
                 seq_len: int | None = None) -> int:
    """The data-parallel size of `world_size` ranks under cfg's tensor-parallel degree; fails naming the keys when the
    world, the heads, the FFN width or (sequence parallel) the sequence does not split evenly. heads/ffn default to
    the flavor's."""
    from model.config import FLAVORS

    tp, flavor = cfg.parallel.tensor, FLAVORS.get(cfg.model.flavor)
    heads = heads if heads is not None else (flavor.heads if flavor else tp)
    ffn = ffn if ffn is not None else (flavor.ffn if flavor else tp)
    if world_size % tp:
        raise ConfigError(f"world size {world_size} is not a multiple of parallel.tensor {tp}")
    if heads % tp or ffn % tp:
        raise ConfigError(f"parallel.tensor {tp} does not divide model {cfg.model.flavor}'s {heads} heads and FFN "
                          f"width {ffn}")
    if cfg.parallel.sequence and tp == 1:
        raise ConfigError("parallel.sequence needs parallel.tensor > 1 (it splits the sequence inside a "
                          "tensor-parallel group)")
    if cfg.parallel.sequence and seq_len is not None and seq_len % tp:
        raise ConfigError(f"parallel.sequence: sequence length {seq_len} is not a multiple of parallel.tensor {tp}")
    return world_size // tp


def describe_layout(cfg: TrainConfig, nodes: int, per_node: int) -> str:
    """One line on how nodes x per_node processes split under cfg; fails naming the keys when they do not, or when a
    tensor-parallel group would straddle two nodes (its all-reduces belong on NVLink, not the network)."""
    world, tp = nodes * per_node, cfg.parallel.tensor
    if per_node % tp:
        raise ConfigError(f"{per_node} processes per node is not a multiple of parallel.tensor {tp}: a "
                          f"tensor-parallel group must sit inside one node")
    accum = grad_accum_steps(cfg, world)
    sp = " with sequence parallelism" if cfg.parallel.sequence else ""
    return (f"{nodes} node(s) x {per_node} = {world} ranks: tensor-parallel groups of {tp} consecutive ranks inside "
            f"each node{sp}, {world // tp} data-parallel replicas x micro batch {cfg.batch.micro_batch} x {accum} "
            f"accumulation = global batch {cfg.batch.global_batch}")


def grad_accum_steps(cfg: TrainConfig, world_size: int) -> int:
    """global_batch / (micro_batch * data-parallel size); fails naming the keys when it does not divide."""
    dp = check_layout(cfg, world_size)
    per_step = cfg.batch.micro_batch * dp
    if dp < 1 or cfg.batch.global_batch % per_step:
        raise ConfigError(f"batch.global_batch {cfg.batch.global_batch} is not a multiple of batch.micro_batch "
                          f"{cfg.batch.micro_batch} x {dp} data-parallel ranks: change batch.global_batch or "
                          f"batch.micro_batch")
    return cfg.batch.global_batch // per_step
