"""Hostfile generation, launch lines, the memory estimate, and the CLI's config errors and DeepSpeed JSON."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from model import FLAVORS
from train import config
from train.hostfile import expand_hosts, hostfile_text, launch_lines, main
from train.memory import Layout, estimate
from train.shards import random_shards

ROOT = Path(__file__).resolve().parents[2]


def test_slurm_host_lists_expand():
    assert expand_hosts("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert expand_hosts("a[8-10]") == ["a8", "a9", "a10"]
    assert len(expand_hosts("node[000-063]")) == 64


def test_hostfile_for_64_nodes(tmp_path, capsys):
    out = tmp_path / "hostfile"
    main(["--hosts", "node[001-064]", "--out", str(out)])
    lines = out.read_text().splitlines()
    assert len(lines) == 64 and lines[0] == "node001 slots=8" and lines[-1] == "node064 slots=8"
    printed = capsys.readouterr().out
    assert "64 nodes x 8 GPUs = 512 ranks" in printed
    assert "deepspeed --hostfile" in printed and "--master_addr node001" in printed
    assert "torchrun --nnodes 64 --nproc_per_node 8" in printed
    with pytest.raises(ValueError, match="twice"):
        hostfile_text(["a", "a"])
    assert launch_lines(["h1"], 8, "hf", "--preset 13B")[0].endswith("--module train --preset 13B")


def test_memory_estimate_components():
    cfg = FLAVORS["13B"]
    n = cfg.num_params()
    e = estimate(cfg, Layout(gpus=512, tp=2, zero_stage=1, micro_batch=8))
    assert e["weights"] == e["gradients"] == pytest.approx(n)                     # 2 bytes x N / 2
    assert e["optimizer"] == pytest.approx(12 * n / 2 / 256)
    assert e["logits"] == pytest.approx(8 * 4096 * 100_864 / 2 * 10)
    assert 60e9 < e["total"] < 70e9                                                # fits 80 GB
    assert estimate(cfg, Layout(tp=2, micro_batch=16))["total"] > 80e9           # the paper's micro batch does not
    chunked = estimate(cfg, Layout(tp=2, micro_batch=16, loss_chunk_tokens=8192))
    assert chunked["logits"] == pytest.approx(8192 * 100_864 / 2 * 10) and chunked["total"] < 80e9
    z2 = estimate(cfg, Layout(tp=1, zero_stage=2, micro_batch=8, loss_chunk_tokens=8192))
    assert z2["gradients"] == pytest.approx(2 * n / 512) and z2["total"] < 80e9  # the 13B-zero2 preset's layout
    assert estimate(cfg, Layout(tp=1, zero_stage=1, micro_batch=8))["total"] > 80e9
    c = config.load("13B-zero2")
    assert (c.deepspeed.zero_stage, c.batch.micro_batch, config.grad_accum_steps(c, 512)) == (2, 8, 1)
    assert c.model.loss_chunk_tokens == 8192


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_cli_config_errors_and_deepspeed_json(tmp_path):
    long_shards = random_shards(tmp_path / "long", rows=8, seq_len=300, vocab_size=100)
    r = _cli("--set", "optimizer.lrr=1")
    assert r.returncode == 2 and "unknown config key 'optimizer.lrr'" in r.stderr and "did you mean 'lr'" in r.stderr
    r = _cli("--preset", "13B", "--print-ds-config", "64")
    assert r.returncode == 0, r.stderr
    ds = json.loads(r.stdout)
    assert ds["gradient_accumulation_steps"] == 4 and ds["fp16"]["initial_scale_power"] == 15
    r = _cli("--set", f"data.manifest={long_shards}", "--set", "model.max_seq_len=0",
             "--set", f"run.output={tmp_path / 'o'}")
    assert r.returncode == 2 and "manifest seq_len 300 exceeds flavor debug's max_seq_len 256" in r.stderr
    assert config.load("debug").model.max_seq_len == -1                          # the debug preset stretches instead
    r = _cli("--set", f"data.manifest={long_shards}", "--set", "data.seq_len=4096",
             "--set", f"run.output={tmp_path / 'o'}")
    assert r.returncode == 2 and "manifest seq_len 300 differs from data.seq_len 4096" in r.stderr
    r = _cli("--set", "data.manifest=/nonexistent/manifest.json", "--set", "logging.progress_bar=false")
    assert r.returncode == 2 and "data error: no manifest at /nonexistent/manifest.json" in r.stderr, r.stderr[-2000:]
    r = _cli("--preset", "13B", "--print-ds-config", "512")
    assert r.returncode == 2 and "batch.global_batch 4096 is not a multiple" in r.stderr
