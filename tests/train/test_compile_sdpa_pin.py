"""Compiled blocks run the pinned SDPA kernel even when torch's caches hold a graph traced under another pin."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from train.setup import compile_blocks

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).with_name("sdpa_pin_entry.py")


def test_compile_blocks_compiles_every_block_with_the_autograd_cache_off(monkeypatch):
    import torch._functorch.config as functorch_config

    from model import FLAVORS, GPTNeoX

    monkeypatch.setattr(functorch_config, "enable_autograd_cache", True)
    model = GPTNeoX(FLAVORS["debug"])
    compile_blocks(model)
    assert functorch_config.enable_autograd_cache is False
    assert all(block._compiled_call_impl is not None for block in model.blocks)


@pytest.mark.timeout(600)
def test_a_cached_graph_from_another_pin_is_not_reused(tmp_path):
    # process 1 compiles plainly under the math pin and fills the on-disk caches; process 2 compiles as the trainer
    # does under the flash pin. Without compile_blocks' cache switch, process 2 runs math (seen with torch 2.13 on CPU
    # and 2.11 on an H200: pytorch/pytorch#185449).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache"),
           "OMP_NUM_THREADS": "1"}
    ran = []
    for pin, how in (("math", "plain"), ("flash", "trainer")):
        r = subprocess.run([sys.executable, str(ENTRY), pin, how], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        ran.append([line for line in r.stdout.splitlines() if line.startswith("RAN ")][-1])
    assert ran == ["RAN math (decomposed)", "RAN flash"]
