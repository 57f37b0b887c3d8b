"""Fine-tuning runs (real DeepSpeed on CPU, debug flavor, 3 steps) from the pretrained run of conftest.py: full
fine-tuning from its Hugging Face export with per-task losses, LoRA from its run folder with merged export, and the
errors of a model that does not fit the SFT data."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from common.typed_config import ConfigError
from model import GPTNeoX, load_hf
from tests.train.conftest import train_env
from tests.train.shards import real_token_shards
from train.data import TokenStream, read_manifest
from train.init_from import check_fits, load_init_model
from train.sft_loss import sft_loss, task_sums

TASKS = ("complete", "explain", "fix")
COMMON = ["logging.progress_bar=false", "precision.dtype=fp32", "schedule.max_steps=3", "schedule.warmup_steps=1",
          "batch.micro_batch=4", "batch.global_batch=8", "logging.every_steps=1", "checkpoint.every_steps=0"]


def _train(out, *sets, expect=0):
    args = [a for s in (*COMMON, f"run.output={out}", *sets) for a in ("--set", s)]
    r = subprocess.run([sys.executable, "-m", "train", "--preset", "sft", *args], env=train_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == expect, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def sft_shards(tmp_path_factory):
    return real_token_shards(tmp_path_factory.mktemp("sft"), seq_len=32, rows=48, sft=True, tasks=TASKS)


@pytest.fixture(scope="module")
def full_run(pretrained_run, sft_shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft_full")
    log = _train(out, f"data.manifest={sft_shards}", f"sft.init_from={pretrained_run / 'hf'}", "optimizer.lr=0.001")
    return out, log


@pytest.fixture(scope="module")
def lora_run(pretrained_run, sft_shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft_lora")
    log = _train(out, f"data.manifest={sft_shards}", f"sft.init_from={pretrained_run}", "optimizer.lr=0.01",
                 "logging.tensorboard=false", "sft.lora.rank=4", "sft.lora.alpha=8", "sft.lora.dropout=0",
                 "sft.lora.target_modules=attn.qkv,mlp.fc_in")
    return out, log


def test_full_finetune_starts_from_the_export_and_logs_per_task_losses(full_run, pretrained_run, sft_shards):
    out, log = full_run
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all({f"loss/{t}" for t in TASKS} <= r.keys() for r in records)
    # step 1 ran the init weights on global batch 0: recompute its balanced loss and per-task token means
    init = load_hf(pretrained_run / "hf").eval()
    manifest, root = read_manifest(sft_shards)
    micro = TokenStream(manifest, root, seed=1234).next_global_batch(8, 4, 0, 1)
    losses, sums, counts = [], torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    with torch.no_grad():
        for b in micro:
            tok = init.token_losses(torch.from_numpy(b.input_ids), torch.from_numpy(b.targets))
            mask, tasks = torch.from_numpy(b.loss_mask), torch.from_numpy(b.task_ids)
            losses.append(sft_loss(tok, mask, tasks, torch.ones(3), "balanced")[0].item())
            s, c = task_sums(tok, mask, tasks, 3)
            sums, counts = sums + s.double(), counts + c.double()
    assert records[0]["loss"] == pytest.approx(sum(losses) / 2, rel=1e-5)
    for i, t in enumerate(TASKS):
        assert records[0][f"loss/{t}"] == pytest.approx(float(sums[i] / counts[i]), rel=1e-5)
    assert "tasks: complete " in log and "loss balanced over tasks ['complete', 'explain', 'fix']" in log
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(str(out / "tensorboard")).Reload().Tags()["scalars"]
    assert {f"train/loss/{t}" for t in TASKS} <= set(tags)
    # the export is the fine-tuned model in the init's shape, and loads in transformers
    from transformers import AutoModelForCausalLM

    assert json.loads((out / "model_config.json").read_text()) == dataclasses.asdict(init.cfg)
    tuned = AutoModelForCausalLM.from_pretrained(out / "hf")
    assert tuned.config.vocab_size == 256
    before, after = load_file(pretrained_run / "hf" / "model.safetensors"), load_file(out / "hf" / "model.safetensors")
    assert all(not torch.equal(before[k], after[k]) for k in after if k.endswith("query_key_value.weight"))


def test_lora_trains_only_adapters_and_the_export_merges_them(lora_run, pretrained_run, tmp_path):
    out, log = lora_run
    # adapters on attn.qkv (64 -> 192) and mlp.fc_in (64 -> 256) of 2 layers, rank 4: 2 x 4 x (64 + 192 + 64 + 256)
    assert "LoRA rank 4: 4,608 adapter parameters train" in log
    tag = out / "checkpoints" / "global_step3"
    optim = torch.load(tag / "zero_pp_rank_0_mp_rank_00_optim_states.pt", map_location="cpu", weights_only=False)
    assert sum(t.numel() for t in optim["optimizer_state_dict"]["single_partition_of_fp32_groups"]) == 4608
    module = {k.removeprefix("model."): v for k, v in
              torch.load(tag / "mp_rank_00_model_states.pt", map_location="cpu", weights_only=False)["module"].items()}
    from train.export import load_run_model

    base = load_run_model(pretrained_run)[0].state_dict()
    for name, value in module.items():
        if "lora_" not in name:
            assert torch.equal(value, base[name.replace(".base_layer", "")]), name      # frozen, bit for bit
    assert all(module[n].abs().sum() > 0 for n in module if "lora_B" in n)             # zero at start, trained
    # the export: plain GPT-NeoX weights, no adapter files, logits of the adapted model
    exported = load_file(out / "hf" / "model.safetensors")
    assert not any("lora" in k for k in exported) and not (out / "hf" / "adapter_config.json").exists()
    from transformers import GPTNeoXForCausalLM

    from train.config import LoraSection
    from train.lora import apply

    hf = GPTNeoXForCausalLM.from_pretrained(out / "hf").eval()
    adapted = GPTNeoX(load_hf(pretrained_run / "hf").cfg)
    apply(adapted, LoraSection(rank=4, alpha=8.0, dropout=0.0, target_modules=["attn.qkv", "mlp.fc_in"]))
    adapted.load_state_dict(module, strict=True)
    ids = torch.randint(0, 256, (2, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = adapted.eval()(ids)[..., :256], hf(ids).logits[..., :256]
    assert (want - got).abs().max() <= 1e-5 * want.abs().max()
    assert not torch.equal(exported["gpt_neox.layers.0.attention.query_key_value.weight"],
                           load_file(pretrained_run / "hf" / "model.safetensors")[
                               "gpt_neox.layers.0.attention.query_key_value.weight"])
    # python -m train.export rebuilds the adapters from the checkpoint and merges them the same way
    from train.export import main as export_main

    assert export_main([str(out), "--out", str(tmp_path / "hf")]) == 0
    again = load_file(tmp_path / "hf" / "model.safetensors")
    assert all(torch.equal(again[k], exported[k]) for k in exported)


def test_a_model_of_another_vocabulary_is_refused(pretrained_run, tmp_path):
    other = real_token_shards(tmp_path / "v300", seq_len=32, rows=8, vocab_size=300, sft=True, tasks=TASKS)
    log = _train(tmp_path / "out", f"data.manifest={other}", f"sft.init_from={pretrained_run / 'hf'}", expect=2)
    assert (f"config error: sft.init_from {pretrained_run / 'hf'}: the model's vocabulary has 256 tokens, the SFT "
            f"manifest's 300") in log
    manifest, root = read_manifest(other)
    with pytest.raises(ConfigError, match="no such folder"):
        load_init_model(str(tmp_path / "missing"), manifest, root, 0)
    with pytest.raises(ConfigError, match="neither a Hugging Face folder"):
        load_init_model(str(tmp_path / "v300"), manifest, root, 0)


def test_tokenizer_rules(tmp_path):
    manifest, root = read_manifest(real_token_shards(tmp_path, seq_len=8, rows=4, vocab_size=256))
    named = dataclasses.replace(manifest, tokenizer_sha256="a" * 64)
    check_fits(256, None, named, root, "m")                       # nothing to compare: the vocabulary decides
    check_fits(384, "a" * 64, named, root, "m")                   # same tokenizer: rows past it are padding
    with pytest.raises(ConfigError, match="tokenizer.json differs"):
        check_fits(256, "b" * 64, named, root, "m")
    with pytest.raises(ConfigError, match="vocabulary has 384 tokens"):
        check_fits(384, None, named, root, "m")


def test_a_run_folder_whose_checkpoint_does_not_fit_is_refused(pretrained_run, sft_shards, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(pretrained_run, run, ignore=shutil.ignore_patterns("hf", "tensorboard"))
    shape = json.loads((run / "model_config.json").read_text())
    (run / "model_config.json").write_text(json.dumps({**shape, "ffn": 128}))
    manifest, root = read_manifest(sft_shards)
    with pytest.raises(ConfigError, match=f"sft.init_from {run}: checkpoint .*global_step6 does not fit the run's "
                                          "model"):
        load_init_model(str(run), manifest, root, 0)
