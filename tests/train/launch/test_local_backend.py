"""The local backend for real: the DeepSpeed launcher on CPU; kill or freeze the trainer mid-run and the supervisor
brings the run to its last step from the newest checkpoint."""
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
from train.launch.job import JobSpec, JobState
from train.launch.local import LocalBackend
from train.launch.supervisor import GaveUp, Policy, Supervisor

STEPS = 60  # at seq 256 a CPU step takes ~0.2 s: a window of seconds to interfere in
EVERY = 10
SETS = ("logging.progress_bar=false", "logging.tensorboard=false", f"schedule.max_steps={STEPS}",
        "schedule.warmup_steps=2", "batch.micro_batch=4", "batch.global_batch=8", f"checkpoint.every_steps={EVERY}",
        "checkpoint.keep_last=0", "run.export_hf=false")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return real_token_shards(tmp_path_factory.mktemp("shards"), seq_len=256, rows=64)


def _spec(run_dir: Path, manifest: Path, *extra: str) -> JobSpec:
    return JobSpec(run_dir=str(run_dir), preset="debug", overrides=(*SETS, f"data.manifest={manifest}", *extra),
                   procs_per_node=1, python=sys.executable, env=(("OMP_NUM_THREADS", "1"),))


def _trainer(job_dir: Path) -> psutil.Process:
    """The `-m train` rank under the runner and the deepspeed launcher."""
    runner = psutil.Process(int((job_dir / "runner.pid").read_text().split()[0]))
    for p in runner.children(recursive=True):
        cmd = p.cmdline()
        if "-m" in cmd and cmd[cmd.index("-m") + 1] == "train":
            return p
    raise AssertionError(f"no trainer under {runner.cmdline()}")


def _losses(run_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())}


def _supervise(sup: Supervisor, on_step=None, timeout: float = 400.0):
    """Poke every 0.1 s until done; on_step(step, attempt, job_dir) may interfere with the run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = sup.poke()
        if v.done:
            return v
        beat = heartbeat.read(sup.spec.run_dir)
        if on_step and beat and beat.phase == "training":
            on_step(beat.step, v.attempt, Path(sup.load()["attempts"][-1]["job_id"]))
        time.sleep(0.1)
    raise AssertionError(f"not done after {timeout} s: {sup.load()}")


def _no_processes_left(job_dir: Path) -> bool:
    return not any(str(job_dir) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))


def test_killed_trainer_is_restarted_from_its_checkpoint_and_finishes(manifest, tmp_path):
    sup = Supervisor(LocalBackend(cpu=True), _spec(tmp_path, manifest), Policy(max_restarts=2, hang_seconds=120,
                                                                                 startup_seconds=240))
    killed = []

    def kill_once(step, attempt, job_dir):
        if attempt == 0 and step >= 15 and not killed:
            proc = _trainer(job_dir)
            proc.send_signal(signal.SIGKILL)
            killed.append(step)

    v = _supervise(sup, kill_once)
    state = sup.load()
    assert killed and v.step == STEPS and len(state["attempts"]) == 2
    first, second = state["attempts"]
    assert first["outcome"] == "failed" and "failed: exit code" in first["detail"], first
    resumed = int(second["resume_from"].removeprefix("global_step"))  # killed after step k's beat: k's save may
    assert resumed % EVERY == 0 and killed[0] - EVERY <= resumed <= killed[0], (killed, second)  # not be there yet
    log = (Path(second["job_id"]) / "output.log").read_text()
    assert f"resumed from {second['resume_from']}" in log
    losses = _losses(tmp_path)
    assert sorted(losses) == list(range(1, STEPS + 1))  # every step logged; the replayed ones overwritten
    assert sum(losses[s] for s in (STEPS - 1, STEPS)) < sum(losses[s] for s in (1, 2)) - 0.3
    assert (tmp_path / "checkpoints" / "latest").read_text() == f"global_step{STEPS}"
    assert _no_processes_left(Path(first["job_id"])) and _no_processes_left(Path(second["job_id"]))


def test_frozen_trainer_is_detected_as_hung_cancelled_and_restarted(manifest, tmp_path):
    """SIGSTOP: the process lives but makes no progress, like a rank stuck in a collective."""
    sup = Supervisor(LocalBackend(cpu=True, grace_seconds=3), _spec(tmp_path, manifest),
                     Policy(max_restarts=1, hang_seconds=10, startup_seconds=240))
    frozen = []

    def freeze_once(step, attempt, job_dir):
        if attempt == 0 and step >= 6 and not frozen:
            _trainer(job_dir).send_signal(signal.SIGSTOP)
            frozen.append(step)

    v = _supervise(sup, freeze_once)
    first, second = sup.load()["attempts"]
    assert v.step == STEPS and frozen
    assert first["detail"].startswith("hung: no new step for") and first["job_id"] != second["job_id"]
    assert LocalBackend().poll(first["job_id"]).state is JobState.CANCELLED
    assert _no_processes_left(Path(first["job_id"]))


def test_config_error_fails_once_with_exit_code_2(manifest, tmp_path):
    sup = Supervisor(LocalBackend(cpu=True), _spec(tmp_path, manifest, "batch.global_batch=7"), Policy(max_restarts=3))
    with pytest.raises(GaveUp, match="exit code 2.*not restarted"):
        _supervise(sup, timeout=120)
    assert len(sup.load()["attempts"]) == 1
    assert "config error" in (Path(sup.load()["attempts"][0]["job_id"]) / "output.log").read_text()


def test_cancel_stops_every_process_and_reads_as_cancelled(manifest, tmp_path):
    backend = LocalBackend(cpu=True, grace_seconds=5)
    job = backend.submit(_spec(tmp_path, manifest, "schedule.max_steps=100000"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (heartbeat.read(tmp_path) is None or heartbeat.read(tmp_path).step < 1):
        assert backend.poll(job).state in (JobState.RUNNING, JobState.PENDING)
        time.sleep(0.5)
    if heartbeat.read(tmp_path) is None or heartbeat.read(tmp_path).step < 1:
        backend.cancel(job)
        pytest.fail(f"waited 120 s for the trainer's first step (heartbeat: {heartbeat.read(tmp_path)}); cancelled")
    backend.cancel(job)
    assert backend.poll(job).state is JobState.CANCELLED
    assert _no_processes_left(Path(job))
    with pytest.raises(ValueError, match="slurm"):
        backend.submit(JobSpec(run_dir=str(tmp_path), nodes=2))


def test_a_reused_pid_is_not_mistaken_for_the_runner():
    import os

    from train.launch.local import _alive

    me = psutil.Process(os.getpid())
    assert _alive(f"{me.pid} {me.create_time()}")
    assert not _alive(f"{me.pid} {me.create_time() - 5}")  # same pid, another start: the runner is gone
    assert not _alive("not a record")
