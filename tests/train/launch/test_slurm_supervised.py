"""Supervision over real Slurm: a trainer rank killed on the node is restarted from its checkpoint by a new sbatch
job; the pre-submit health sweep checks the free nodes with srun and excludes a failing one."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.train.shards import real_token_shards
from train.launch import heartbeat
from train.launch.job import JobSpec
from train.launch.slurm import SlurmBackend
from train.launch.slurm_health import free_nodes, sweep
from train.launch.supervisor import Policy, Supervisor

pytestmark = pytest.mark.slurm
ROOT = Path(__file__).resolve().parents[3]
STEPS, EVERY = 40, 10


@pytest.fixture(scope="module")
def backend(slurm_conf, tmp_path_factory):
    return SlurmBackend(slurm_conf=slurm_conf, gpus=False, time_limit="15",
                        state_dir=str(tmp_path_factory.mktemp("jobs")))


def _trainer_ranks(run_dir: Path) -> list[psutil.Process]:
    """This run's `-m train` processes (torchrun's workers under slurmstepd), not any other trainer on the machine."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if "-m" in cmd and cmd[cmd.index("-m") + 1:cmd.index("-m") + 2] == ["train"] and "--print-config" not in cmd \
                and f"run.output={run_dir}" in cmd:
            out.append(p)
    return out


def test_a_rank_killed_on_the_node_is_restarted_by_a_new_job(backend, tmp_path_factory, tmp_path):
    manifest = real_token_shards(tmp_path_factory.mktemp("shards"), seq_len=256, rows=64)
    spec = JobSpec(run_dir=str(tmp_path), python=sys.executable, overrides=(
        f"data.manifest={manifest}", "logging.progress_bar=false", "logging.tensorboard=false",
        f"schedule.max_steps={STEPS}", f"checkpoint.every_steps={EVERY}", "checkpoint.keep_last=0",
        "run.export_hf=false"), env=(("PYTHONPATH", str(ROOT)), ("OMP_NUM_THREADS", "1")))
    sup = Supervisor(backend, spec, Policy(max_restarts=2, hang_seconds=120, startup_seconds=240, queue_seconds=120))
    killed, deadline = [], time.monotonic() + 480
    while time.monotonic() < deadline:
        v = sup.poke()
        if v.done:
            break
        beat = heartbeat.read(tmp_path)
        if not killed and v.attempt == 0 and beat and beat.phase == "training" and beat.step >= 15:
            for p in _trainer_ranks(tmp_path):
                p.send_signal(signal.SIGKILL)
            killed.append(beat.step)
        time.sleep(0.2)
    else:
        pytest.fail(f"waited 480 s for the supervised run to finish {STEPS} steps (killed at {killed}): last "
                    f"verdict {v}, attempts {sup.load()['attempts']}")
    attempts = sup.load()["attempts"]
    assert killed and v.done and v.step == STEPS, attempts
    assert len(attempts) == 2 and attempts[0]["job_id"] != attempts[1]["job_id"]
    assert attempts[0]["outcome"] == "failed" and "slurm" in attempts[0]["detail"].lower()
    resumed = int(attempts[1]["resume_from"].removeprefix("global_step"))
    assert resumed % EVERY == 0 and killed[0] - EVERY <= resumed <= killed[0]
    log = (tmp_path / "launch" / f"slurm-{attempts[1]['job_id']}.out").read_text()
    assert f"resumed from global_step{resumed}" in log
    steps = {json.loads(x)["step"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()}
    assert steps == set(range(1, STEPS + 1))


def test_health_sweep_checks_each_free_node_and_excludes_a_bad_one(backend):
    nodes = free_nodes(backend)
    assert len(nodes) == 1
    ok = sweep(backend, sys.executable)
    assert ok["exclude"] == [] and ok["nodes"][nodes[0]]["checked"] and "CPU path" in ok["nodes"][nodes[0]]["note"]
    bad_report = json.dumps({"host": nodes[0], "healthy": False, "gpus": 8, "good_gpus": [], "note": "canned",
                             "reasons": ["GPU 3: Xid 79 (node fault)"], "details": []})
    bad = sweep(backend, sys.executable, health_cmd=["sh", "-c", f"echo '{bad_report}'; exit 3"])
    assert bad["exclude"] == nodes and bad["nodes"][nodes[0]]["reasons"] == ["GPU 3: Xid 79 (node fault)"]
