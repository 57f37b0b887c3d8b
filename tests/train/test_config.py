"""TrainConfig: presets, strict keys, derived gradient accumulation, and DeepSpeed's own validation of our JSON."""
from __future__ import annotations

import pytest

from common.typed_config import ConfigError
from train import config
from train.ds_config import build


def test_13b_preset_is_the_paper_recipe():
    cfg = config.load("13B")
    assert (cfg.model.flavor, cfg.deepspeed.zero_stage, cfg.precision.dtype) == ("13B", 1, "fp16")
    assert (cfg.parallel.tensor, cfg.parallel.sequence) == (2, True)
    assert config.PRESET_LAYOUT["13B"] == (64, 8)
    assert 2 ** cfg.precision.initial_scale_power == 32768 and cfg.precision.min_loss_scale == 1
    assert (cfg.optimizer.lr, cfg.optimizer.min_lr, cfg.optimizer.grad_clip) == (1.5e-4, 1.5e-5, 1.0)
    assert (cfg.batch.micro_batch, cfg.batch.global_batch) == (16, 4096)
    assert cfg.model.activation_checkpointing and cfg.data.seq_len == 4096


def test_layers_yaml_then_set(tmp_path):
    y = tmp_path / "t.yaml"
    y.write_text("batch:\n  micro_batch: 2\noptimizer:\n  lr: 0.01\n")
    cfg = config.load("debug", y, ["optimizer.lr=0.02", "precision.dtype=bf16"])
    assert (cfg.batch.micro_batch, cfg.batch.global_batch) == (2, 8)  # yaml over preset, preset kept elsewhere
    assert (cfg.optimizer.lr, cfg.precision.dtype) == (0.02, "bf16")


@pytest.mark.parametrize("override, message", [
    ("optimizer.lrr=1", "unknown config key 'optimizer.lrr'"),
    ("precision.dtype=fp8", "config key 'precision.dtype' got 'fp8'"),
    ("batch.micro_batch=0", "'batch.micro_batch' must be >= 1"),
    ("parallel.tensor=3", "config key 'parallel.tensor' got 3"),
    ("deepspeed.tensor_parallel=2", "unknown config key 'deepspeed.tensor_parallel'"),
])
def test_bad_keys_fail_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        config.load("debug", None, [override])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset"):
        config.load("70B")


@pytest.mark.parametrize("world, accum", [(2, 256), (8, 64), (64, 8), (512, 1)])
def test_accumulation_derived_from_the_data_parallel_size(world, accum):
    """13B: TP=2, so data-parallel size = world / 2; on its 64 x 8 GPUs, 256 replicas x micro 16 = 4096."""
    assert config.grad_accum_steps(config.load("13B"), world) == accum


def test_13b_layout_is_validated_for_its_world_size():
    cfg = config.load("13B")
    nodes, gpus = config.PRESET_LAYOUT["13B"]
    assert config.check_layout(cfg, nodes * gpus, seq_len=4096) == 256
    with pytest.raises(ConfigError, match="world size 511 is not a multiple of parallel.tensor 2"):
        config.check_layout(cfg, 511)
    assert config.check_layout(config.load("13B", None, ["parallel.tensor=8"]), 512) == 64  # 40 heads / 8 = 5
    with pytest.raises(ConfigError, match="parallel.tensor 8 does not divide model debug's 4 heads"):
        config.check_layout(config.load("debug", None, ["parallel.tensor=8"]), 8)
    with pytest.raises(ConfigError, match="sequence length 4095 is not a multiple of parallel.tensor 2"):
        config.check_layout(cfg, 512, seq_len=4095)
    with pytest.raises(ConfigError, match="parallel.sequence needs parallel.tensor > 1"):
        config.check_layout(config.load("debug", None, ["parallel.sequence=true"]), 1)
    with pytest.raises(ConfigError, match="batch.global_batch 4096 is not a multiple"):  # 16 x 512 > 4096 without TP
        config.grad_accum_steps(config.load("13B", None, ["parallel.tensor=1", "parallel.sequence=false"]), 512)


def test_accumulation_that_does_not_divide_names_the_keys():
    with pytest.raises(ConfigError, match="batch.global_batch 4096 is not a multiple"):
        config.grad_accum_steps(config.load("13B"), 1024)  # 512 replicas x micro 16 > 4096
    with pytest.raises(ConfigError, match="data.manifest is empty"):
        config.check(config.load("debug"))
    with pytest.raises(ConfigError, match="min_lr"):
        config.check(config.load("debug", None, ["data.manifest=x", "optimizer.min_lr=1"]))


class _DataParallel:
    def __init__(self, world):
        self.world = world

    def get_data_parallel_world_size(self):
        return self.world


def _validate(ds: dict, world: int, monkeypatch):
    """DeepSpeed's own parser and batch assertions on our JSON, as if `world` ranks ran it."""
    import deepspeed.runtime.config as ds_runtime_config
    from deepspeed.runtime.config import DeepSpeedConfig

    monkeypatch.setattr(ds_runtime_config.dist, "get_rank", lambda *a, **k: 0)
    return DeepSpeedConfig(ds, mpu=_DataParallel(world))


@pytest.mark.parametrize("preset, world, overrides, cuda", [
    ("debug", 1, [], False), ("debug", 2, ["precision.dtype=bf16"], False), ("1.3B", 8, [], True),
    ("13B", 512, [], True), ("13B", 64, ["precision.dtype=bf16", "deepspeed.zero_stage=2"], True),
    ("13B-zero2", 512, [], True), ("debug", 4, ["parallel.tensor=2", "precision.dtype=bf16"], False),
])
def test_deepspeed_accepts_our_config(preset, world, overrides, cuda, monkeypatch):
    cfg = config.load(preset, None, overrides)
    dp = world // cfg.parallel.tensor
    ds = _validate(build(cfg, world, cuda=cuda), dp, monkeypatch)
    assert ds.train_batch_size == cfg.batch.global_batch
    assert ds.train_micro_batch_size_per_gpu == cfg.batch.micro_batch
    assert ds.gradient_accumulation_steps == config.grad_accum_steps(cfg, world)
    assert ds.zero_optimization_stage == cfg.deepspeed.zero_stage
    assert ds.gradient_clipping == cfg.optimizer.grad_clip
    fp16 = ds.float16_config
    assert fp16.enabled == (cfg.precision.dtype == "fp16")
    assert ds.bfloat16_config.enabled == (cfg.precision.dtype == "bf16")
    assert fp16.initial_dynamic_scale() == 2 ** cfg.precision.initial_scale_power and fp16.loss_scale == 0  # dynamic
    assert fp16.dynamic_loss_scale_args()["min_scale"] == cfg.precision.min_loss_scale
    assert ds.optimizer_name == "adamw" and ds.optimizer_params["lr"] == cfg.optimizer.lr
    assert ds.optimizer_params["torch_adam"] and ds.optimizer_params.get("fused", False) == cuda
    tp = ds.tensor_parallel_config
    assert tp.autotp_size == (cfg.parallel.tensor if cfg.parallel.tensor > 1 else 0)
    if cfg.parallel.tensor > 1:  # DeepSpeed parses our rules into its own AutoTPConfig
        rules = tp.get_partition_config_object()
        assert rules.tp_size == cfg.parallel.tensor and not rules.use_default_specs
        qkv = rules.find_matching_spec("model.blocks.3.attn.qkv.weight")
        assert (qkv.partition_type.value, qkv.shape, qkv.get_partition_dim()) == ("column", (3, -1), 0)
        assert rules.find_matching_spec("model.blocks.3.mlp.fc_out.weight").partition_type.value == "row"
        assert rules.find_matching_spec("model.head.weight") is None  # the output head stays replicated
        ln = rules.find_matching_spec("model.blocks.0.ln_attn.weight")
        assert (ln is not None and ln.grad_allreduce) == cfg.parallel.sequence


def test_deepspeed_rejects_a_batch_that_does_not_add_up(monkeypatch):
    ds = build(config.load("debug"), 1)
    ds["gradient_accumulation_steps"] = 3
    with pytest.raises(AssertionError, match="Check batch related parameters"):
        _validate(ds, 1, monkeypatch)


def test_an_unknown_flavor_fails_at_load_naming_the_flavors():
    with pytest.raises(ConfigError, match=r"model.flavor' got '70B': must be one of \['debug'"):
        config.load("debug", None, ["model.flavor=70B"])
