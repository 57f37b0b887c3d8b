"""A real one-node Slurm for the `slurm` tests: scripts/slurm_local.sh up once per session (own folder and ports)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "slurm_local.sh"


@pytest.fixture(scope="session")
def slurm_conf(tmp_path_factory):
    """SLURM_CONF of a cluster started for this session; MinJobAge=5 so finished jobs leave scontrol quickly."""
    if os.geteuid() != 0:
        pytest.skip("the local Slurm runs slurmd as root (it must, to start jobs); run the slurm tests as root")
    state = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "SLURM_LOCAL_DIR": str(state), "SLURM_LOCAL_CTLD_PORT": "6917",
           "SLURM_LOCAL_D_PORT": "6918", "SLURM_LOCAL_MIN_JOB_AGE": "5"}
    up = subprocess.run(["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, f"slurm_local.sh up failed:\n{up.stdout}\n{up.stderr}"
    try:
        yield str(state / "slurm.conf")
    finally:
        down = subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
