"""Shared fixtures: one short pretraining run (real DeepSpeed, CPU) that the export and fine-tuning tests start from."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.shards import real_token_shards

ROOT = Path(__file__).resolve().parents[2]


def train_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}


@pytest.fixture(scope="session")
def pretrained_run(tmp_path_factory):
    """The debug flavor trained 6 steps on stdlib bytes (vocabulary 256, seq 32), checkpoints at steps 3 and 6, and
    its Hugging Face export in <run>/hf."""
    manifest = real_token_shards(tmp_path_factory.mktemp("shards"), seq_len=32, rows=96)
    out = tmp_path_factory.mktemp("run")
    sets = ["logging.progress_bar=false", "logging.tensorboard=false", "schedule.max_steps=6",
            "checkpoint.every_steps=3", f"data.manifest={manifest}", f"run.output={out}"]
    r = subprocess.run([sys.executable, "-m", "train", *[a for s in sets for a in ("--set", s)]], env=train_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return out
