"""Hostfile generation, launch lines, the memory estimate, and the CLI's config errors and DeepSpeed JSON."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model import FLAVORS
from train import config
from train.hostfile import expand_hosts, hostfile_text, launch_lines, main
from train.memory import Layout, estimate, preset_layout, replicated_params
from train.memory import main as memory_main
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
    assert ("layout: 64 node(s) x 8 = 512 ranks: tensor-parallel groups of 2 consecutive ranks inside each node with "
            "sequence parallelism, 256 data-parallel replicas x micro batch 16 x 1 accumulation = global batch 4096"
            in printed)                                                         # the 13B preset: the paper's layout
    with pytest.raises(SystemExit):                                             # 3 slots cannot hold pairs
        main(["--hosts", "node[001-064]", "--slots", "3", "--out", str(out)])
    assert "not a multiple of parallel.tensor 2: a tensor-parallel group must sit inside one node" in \
        capsys.readouterr().err
    with pytest.raises(ValueError, match="twice"):
        hostfile_text(["a", "a"])
    assert launch_lines(["h1"], 8, "hf", "--preset 13B")[0].endswith("--module train --preset 13B")


def test_memory_estimate_components():
    cfg = FLAVORS["13B"]
    n, rep = cfg.num_params(), replicated_params(cfg)
    assert rep == 2 * 100_864 * 5120 + 40 * 6 * 5120 + 2 * 5120               # embedding, head, LayerNorms, row biases
    e = estimate(cfg, Layout(gpus=512, tp=2, zero_stage=1, micro_batch=16, loss_chunk_tokens=8192))
    assert e["weights"] == e["gradients"] == pytest.approx(2 * ((n - rep) / 2 + rep))
    assert e["optimizer"] == pytest.approx(12 * ((n - rep) / 2 + rep) / 256)
    assert e["logits"] == pytest.approx(8192 * 100_864 * 10)                    # the replicated head: not split
    sbh = 4096 * 16 * 5120
    assert e["activations"] == pytest.approx(2 * sbh * 40 + sbh * (6 + 24 / 2))
    sp = estimate(cfg, Layout(gpus=512, tp=2, sequence_parallel=True, micro_batch=16, loss_chunk_tokens=8192))
    assert sp["activations"] == pytest.approx(2 * sbh * 40 / 2 + sbh * (4 + 26 / 2))  # block inputs split by SP
    assert sp["total"] < 80e9 < estimate(cfg, Layout(tp=2, sequence_parallel=True, micro_batch=16))["total"]
    assert preset_layout("13B") == Layout(gpus=512, tp=2, sequence_parallel=True, zero_stage=1, micro_batch=16,
                                          seq_len=4096, checkpointing=True, loss_chunk_tokens=8192)
    z2 = estimate(cfg, preset_layout("13B-zero2"))
    assert z2["gradients"] == pytest.approx(2 * n / 512) and z2["total"] < 80e9  # the no-TP alternative
    assert estimate(cfg, Layout(tp=1, zero_stage=1, micro_batch=8, loss_chunk_tokens=8192))["total"] > 80e9
    c = config.load("13B-zero2")
    assert (c.deepspeed.zero_stage, c.batch.micro_batch, config.grad_accum_steps(c, 512)) == (2, 8, 1)
    assert c.model.loss_chunk_tokens == 8192 and c.parallel.tensor == 1


def test_memory_cli_shows_the_13b_preset_fits_and_what_sequence_parallelism_saves(capsys):
    memory_main(["--preset", "13B"])
    out = capsys.readouterr().out
    assert re.search(r"preset 13B: 512 GPUs, TP=2 \+ SP .* 6\d\.\dG  yes", out), out
    assert "sequence parallelism saves 13.8 GB of activations per GPU" in out


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_cli_config_errors_and_deepspeed_json(tmp_path):
    long_shards = random_shards(tmp_path / "long", rows=8, seq_len=300, vocab_size=100)
    r = _cli("--set", "optimizer.lrr=1")
    assert r.returncode == 2 and "unknown config key 'optimizer.lrr'" in r.stderr and "did you mean 'lr'" in r.stderr
    r = _cli("--preset", "13B", "--print-ds-config", "64")
    assert r.returncode == 0, r.stderr
    ds = json.loads(r.stdout)                                                     # TP=2: 32 replicas x 16 x 8
    assert ds["gradient_accumulation_steps"] == 8 and ds["fp16"]["initial_scale_power"] == 15
    assert ds["tensor_parallel"]["autotp_size"] == 2
    r = _cli("--set", f"data.manifest={long_shards}", "--set", "model.max_seq_len=0",
             "--set", f"run.output={tmp_path / 'o'}")
    assert r.returncode == 2 and "manifest seq_len 300 exceeds flavor debug's max_seq_len 256" in r.stderr
    assert config.load("debug").model.max_seq_len == -1                          # the debug preset stretches instead
    r = _cli("--set", f"data.manifest={long_shards}", "--set", "data.seq_len=4096",
             "--set", f"run.output={tmp_path / 'o'}")
    assert r.returncode == 2 and "manifest seq_len 300 differs from data.seq_len 4096" in r.stderr
    r = _cli("--set", "data.manifest=/nonexistent/manifest.json", "--set", "logging.progress_bar=false")
    assert r.returncode == 2 and "data error: no manifest at /nonexistent/manifest.json" in r.stderr, r.stderr[-2000:]
    r = _cli("--preset", "13B", "--print-ds-config", "1024")
    assert r.returncode == 2 and "batch.global_batch 4096 is not a multiple" in r.stderr
    r = _cli("--preset", "13B", "--check-layout", "64", "8", "--print-config")
    assert r.returncode == 0 and "layout: 64 node(s) x 8 = 512 ranks" in r.stderr and "tensor: 2" in r.stdout
