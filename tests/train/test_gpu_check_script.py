"""bench/train_gpu_check.sh on CPU (debug flavor, seq 32; bf16, then fp32 with compiled blocks and pinned SDPA)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_script_runs_on_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT), "REQUIRE_CUDA": "0", "FLAVOR": "debug",
           "SEQ": "32", "VOCAB": "512", "DTYPES": "bf16", "STEPS": "3", "OMP_NUM_THREADS": "1",
           "DS_ACCELERATOR": "cpu"}
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT"):
        env.pop(key, None)
    r = subprocess.run(["bash", "bench/train_gpu_check.sh", str(tmp_path / "gc")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert ("=== debug seq 32 bf16: micro batch 4, global batch 8, 3 steps, compile=false, sdpa=auto, "
            "checkpointing=true") in r.stdout
    summary = json.loads((tmp_path / "gc" / "summary_bf16.json").read_text())
    assert summary["steps"] == 3 and summary["steady_steps"] == 1 and summary["tokens_per_s"] > 0
    assert summary["loss_scale_last"] is None and summary["skipped_steps"] == 0
    # torch.compile per block and a pinned SDPA kernel through DeepSpeed (fp32: inductor's CPU bf16 codegen fails to
    # compile in torch 2.13; on a GPU inductor emits Triton instead)
    env.update(DTYPES="fp32", COMPILE="true", SDPA="math", CKPT="false")
    r = subprocess.run(["bash", "bench/train_gpu_check.sh", str(tmp_path / "gc2")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "compile=true, sdpa=math, checkpointing=false" in r.stdout
    assert json.loads((tmp_path / "gc2" / "summary_fp32.json").read_text())["steps"] == 3
