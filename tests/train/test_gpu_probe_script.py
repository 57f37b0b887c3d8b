"""bench/train_gpu_13b_probe.sh on CPU: the kernel probe, variants with extra overrides, and the summary with the
memory estimate (debug flavor, seq 32; plumbing and figures' presence, not speed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.train_gpu_probe_summary import verdict

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra) -> dict:
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT), "REQUIRE_CUDA": "0", "FLAVOR": "debug",
           "SEQ": "32", "VOCAB": "512", "STEPS": "3", "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu",
           "KERNEL_MODES": "eager", **extra}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT"):
        env.pop(key, None)
    return env


def test_probe_script_runs_variants_and_summarises_on_cpu(tmp_path):
    env = _env(VARIANTS="a:bf16:2:4:false:math b:fp32:2:2:false:flash:model.loss_chunk_tokens=16")
    r = subprocess.run(["bash", "bench/train_gpu_13b_probe.sh", str(tmp_path / "p")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "bf16 eager sdpa=math: ran math" in out and "fp32 eager sdpa=flash: ran flash" in out
    assert "MISMATCH" not in out
    assert ("=== b: debug seq 32 fp32, micro batch 2, global batch 2, compile=false, sdpa=flash, checkpointing=false, "
            "loss chunk 0, model.loss_chunk_tokens=16") in out
    rows = json.loads((tmp_path / "p" / "summary.json").read_text())
    a, b = rows["a"], rows["b"]
    assert (a["dtype"], a["micro_batch"], a["accumulation"], a["sdpa"]) == ("bf16", 2, 2, "math")
    assert (b["dtype"], b["accumulation"], b["loss_chunk_tokens"]) == ("fp32", 1, 16)  # the extra override applied
    assert a["steps"] == 3 and a["tokens_per_s"] > 0 and b["tokens_per_s"] > 0
    # train.memory's terms for the debug flavor (h 64, L 2, padded vocab 512) at micro 2, seq 32, no checkpointing
    assert a["estimate_gb"]["activations"] * 1e9 == pytest.approx(32 * 2 * 64 * 2 * (6 + 24))  # units(1, False)
    assert a["estimate_gb"]["logits"] * 1e9 == 2 * 32 * 512 * 10
    assert b["estimate_gb"]["logits"] * 1e9 == 16 * 512 * 10  # one loss chunk of 16 tokens at a time
    assert "peak_gb" not in a  # no CUDA memory on CPU


def test_a_malformed_variant_stops_the_script(tmp_path):
    r = subprocess.run(["bash", "bench/train_gpu_13b_probe.sh", str(tmp_path / "p")], cwd=ROOT,
                       env=_env(VARIANTS="a:bf16:2"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "bad variant 'a:bf16:2'" in r.stdout


def test_verdict_names_the_best_variant_per_precision():
    rows = {"x": {"dtype": "fp16", "mfu": 0.66}, "y": {"dtype": "fp16", "mfu": 0.60},
            "z": {"dtype": "bf16", "mfu": 0.64}, "w": {"dtype": "bf16"}}
    assert verdict(rows) == ["bf16: best MFU 64.0% (z); goal 65% NOT met", "fp16: best MFU 66.0% (x); goal 65% met"]
