"""Exporting a run's checkpoint to Hugging Face gives the weights the trainer itself exported at the end."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.train.shards import real_token_shards
from train.export import main as export_main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    manifest = real_token_shards(tmp_path_factory.mktemp("shards"), seq_len=32, rows=96)
    out = tmp_path_factory.mktemp("run")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
    sets = ["logging.progress_bar=false", "logging.tensorboard=false", "schedule.max_steps=6",
            "checkpoint.every_steps=3", f"data.manifest={manifest}", f"run.output={out}"]
    r = subprocess.run([sys.executable, "-m", "train", *[a for s in sets for a in ("--set", s)]], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_checkpoint_export_equals_the_trainers_own_export(run, tmp_path):
    assert export_main([str(run), "--out", str(tmp_path / "hf")]) == 0
    ours, trainers = load_file(tmp_path / "hf" / "model.safetensors"), load_file(run / "hf" / "model.safetensors")
    assert ours.keys() == trainers.keys()
    assert all((ours[k] == trainers[k]).all() for k in ours)
    assert "global_step6" in (tmp_path / "hf" / "codefuse_checkpoint.txt").read_text()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(tmp_path / "hf").config.vocab_size == 256


def test_an_older_tag_and_clear_errors(run, tmp_path, capsys):
    assert export_main([str(run), "--tag", "global_step3", "--out", str(tmp_path / "hf3")]) == 0
    older, final = load_file(tmp_path / "hf3" / "model.safetensors"), load_file(run / "hf" / "model.safetensors")
    assert any((older[k] != final[k]).any() for k in older)  # three more steps changed the weights
    assert export_main([str(run), "--tag", "global_step4"]) == 2
    assert "global_step4" in capsys.readouterr().err
    assert export_main([str(tmp_path)]) == 2  # not a run folder
