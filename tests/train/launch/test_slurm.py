"""SlurmBackend against a real one-node Slurm: the debug trainer runs to SUCCEEDED (1 and 2 processes), a bad
config fails with its exit code, scancel gives CANCELLED, unhealthy nodes stop the job, and states survive a purge."""
from __future__ import annotations

import json
import math
import socket
import time
from pathlib import Path

import psutil
import pytest

from tests.train.shards import real_token_shards
from train.launch.job import JobSpec, JobState, JobStatus
from train.launch.slurm import SlurmBackend, SlurmError

pytestmark = pytest.mark.slurm
ROOT = Path(__file__).resolve().parents[3]
STEPS = 4
COMMON = ("logging.progress_bar=false", "logging.tensorboard=false", f"schedule.max_steps={STEPS}",
          "schedule.warmup_steps=2", "batch.micro_batch=4", "batch.global_batch=8", "run.deterministic=true",
          f"checkpoint.every_steps={STEPS}")
ENV = (("PYTHONPATH", str(ROOT)), ("OMP_NUM_THREADS", "1"), ("DS_ACCELERATOR", "cpu"), ("PYTHONUNBUFFERED", "1"))


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return real_token_shards(tmp_path_factory.mktemp("shards"))


@pytest.fixture(scope="module")
def backend(slurm_conf, tmp_path_factory):
    return SlurmBackend(slurm_conf=slurm_conf, gpus=False, time_limit="15",
                        state_dir=str(tmp_path_factory.mktemp("jobs")))


def _spec(run_dir: Path, shards: Path, *overrides: str, **kw) -> JobSpec:
    return JobSpec(run_dir=str(run_dir), overrides=(f"data.manifest={shards}", *COMMON, *overrides), env=ENV, **kw)


def _wait(backend, job_id, done=lambda s: s.state.finished, timeout=300.0, what="the job to finish"):
    """Poll every 0.5 s until done(status): (last status, the states seen in order, seconds). Past timeout the job is
    cancelled (so it holds no CPUs the next test's job needs) and the test fails naming what it waited for."""
    start, seen = time.monotonic(), []
    while True:
        status = backend.poll(job_id)
        if not seen or seen[-1] != status.state:
            seen.append(status.state)
        if done(status):
            return status, seen, time.monotonic() - start
        if time.monotonic() - start > timeout:
            backend.cancel(job_id)
            pytest.fail(f"waited {timeout:.0f} s for {what}: job {job_id} is still {status} (states seen: "
                        f"{[s.value for s in seen]}); cancelled it")
        time.sleep(0.5)


def _wait_purged(backend, job_id, timeout=180.0):
    """Until `scontrol show job` no longer knows the job (MinJobAge=5 in the test cluster)."""
    start = time.monotonic()
    while "Invalid job id" not in backend._run(["scontrol", "show", "job", job_id]).stderr:
        assert time.monotonic() - start < timeout, \
            f"waited {timeout:.0f} s for Slurm to purge finished job {job_id} (MinJobAge=5): it still lists it"
        time.sleep(1)


def _log(run_dir: Path, job_id: str) -> str:
    return (run_dir / "launch" / f"slurm-{job_id}.out").read_text()


def _processes_of(run_dir: Path) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"]) if str(run_dir) in " ".join(p.info["cmdline"] or [])]


def _losses(run_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def one_process(backend, shards, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("one") / "run"
    job_id = backend.submit(_spec(run_dir, shards))
    status, seen, seconds = _wait(backend, job_id)
    print(f"slurm job {job_id}: {[s.value for s in seen]} in {seconds:.1f} s")
    return run_dir, job_id, status, seen


def test_debug_trainer_runs_to_succeeded(one_process):
    run_dir, job_id, status, seen = one_process
    assert (status.state, status.exit_code, status.detail) == (JobState.SUCCEEDED, 0, "slurm COMPLETED exit code 0"), \
        _log(run_dir, job_id)
    assert JobState.RUNNING in seen and seen[-1] == JobState.SUCCEEDED
    losses = _losses(run_dir)
    assert sorted(losses) == list(range(1, STEPS + 1)) and all(math.isfinite(v) for v in losses.values())
    assert losses[STEPS] < losses[1] - 0.3, losses
    assert (run_dir / "checkpoints" / "latest").read_text() == f"global_step{STEPS}"
    launch = run_dir / "launch"
    assert (launch / f"hostfile-{job_id}").read_text() == f"{socket.gethostname()} slots=1\n"
    assert (launch / f"slurm-{job_id}.exit").read_text() == "0\n"
    assert f"output: {run_dir}" in (launch / f"config-{job_id}.yaml").read_text()
    log = _log(run_dir, job_id)
    assert "1 node(s) x 1 process(es)" in log and f"step {STEPS}/{STEPS}  loss" in log


def test_two_processes_per_node_match_one(one_process, backend, shards, tmp_path):
    """torchrun --nproc_per_node 2 inside the Slurm step: 2 ranks x micro batch 4 = 1 rank x 2 micro batches, with
    gradient clipping on (the presets' 1.0). Not bit for bit, by construction: ZeRO sums the squared gradient norm
    per rank partition and all-reduces the partial sums, another order than one process's sum, so the norm may
    differ in its last bit (seen: one float32 ulp at one step of eight) and clipping divides every gradient by it.
    Hence a tolerance here; without clipping tests/train/test_training.py checks the same equality exactly."""
    run_dir = tmp_path / "run"
    job_id = backend.submit(_spec(run_dir, shards, procs_per_node=2))
    status, seen, seconds = _wait(backend, job_id)
    print(f"slurm job {job_id} (2 processes): {[s.value for s in seen]} in {seconds:.1f} s")
    assert status.state == JobState.SUCCEEDED, _log(run_dir, job_id)
    assert "2 process(es) on cpu" in _log(run_dir, job_id)
    one, two = _losses(one_process[0]), _losses(run_dir)
    assert sorted(two) == sorted(one) == list(range(1, STEPS + 1))
    for step in one:   # a last-bit difference in the clip scale, through Adam, over 4 steps: far below 1e-6
        assert two[step] == pytest.approx(one[step], rel=1e-6), (step, one, two)


def test_bad_override_fails_with_exit_2_and_stays_literal(backend, shards, tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"run.x=$(touch {marker})`touch {marker}`"
    run_dir = tmp_path / "run"
    job_id = backend.submit(_spec(run_dir, shards, hostile))
    status, _, _ = _wait(backend, job_id)
    assert (status.state, status.exit_code) == (JobState.FAILED, 2), status
    assert status.detail == "slurm FAILED exit code 2 (NonZeroExitCode)"
    assert f"config error: unknown config key 'run.x' in --set {hostile} " in _log(run_dir, job_id)
    assert not marker.exists() and not (run_dir / "metrics.jsonl").exists()
    _wait_purged(backend, job_id)                       # Slurm forgot it: the job's exit file answers
    after = backend.poll(job_id)
    assert (after.state, after.exit_code) == (JobState.FAILED, 2)
    assert after.detail == f"exit code 2 from slurm-{job_id}.exit (Slurm no longer remembers the job)"


def test_cancel_of_a_running_trainer(backend, shards, tmp_path):
    run_dir = tmp_path / "run"
    job_id = backend.submit(_spec(run_dir, shards, "schedule.max_steps=100000", "checkpoint.every_steps=100000"))
    _wait(backend, job_id, lambda s: s.state == JobState.RUNNING and (run_dir / "metrics.jsonl").exists(),
          what="the trainer to run and log its first step")
    backend.cancel(job_id)
    status, seen, seconds = _wait(backend, job_id, timeout=60, what="the cancelled job to end")
    print(f"slurm job {job_id}: cancelled, {[s.value for s in seen]} in {seconds:.1f} s")
    assert (status.state, status.exit_code) == (JobState.CANCELLED, 143), status
    assert "SIGTERM" in _log(run_dir, job_id)
    deadline = time.monotonic() + 30                    # torchrun and its workers go with the job
    while left := _processes_of(run_dir):
        assert time.monotonic() < deadline, f"waited 30 s for the cancelled job's processes to exit: {left} remain"
        time.sleep(1)
    backend.cancel(job_id)                              # already ended: nothing to do, no error
    _wait_purged(backend, job_id)
    after = backend.poll(job_id)
    assert (after.state, after.exit_code) == (JobState.CANCELLED, 143), after
    assert after.detail == f"cancelled by scancel; exit code 143 from slurm-{job_id}.exit"


def test_cancel_of_a_pending_job(slurm_conf, tmp_path):
    backend = SlurmBackend(slurm_conf=slurm_conf, gpus=False, state_dir=str(tmp_path / "jobs"),
                           sbatch_options=("--begin=now+3600",))
    job_id = backend.submit(JobSpec(run_dir=str(tmp_path / "run")))
    assert backend.poll(job_id) == JobStatus(JobState.PENDING, "slurm PENDING (BeginTime)")
    backend.cancel(job_id)
    assert backend.poll(job_id) == JobStatus(JobState.CANCELLED, "slurm CANCELLED exit code 0 (BeginTime)", 0)
    _wait_purged(backend, job_id)
    assert backend.poll(job_id) == JobStatus(JobState.CANCELLED,
                                             f"cancelled by scancel before its script ran (no slurm-{job_id}.exit)")
    assert not (tmp_path / "run" / "launch" / f"slurm-{job_id}.out").exists()


def test_unhealthy_nodes_are_left_out_and_too_few_fail(slurm_conf, shards, tmp_path):
    """The pre-flight with a health command that reports this node unhealthy (exit 3, health.py's JSON shape)."""
    answer = json.dumps({"host": "x", "healthy": False, "gpus": 0, "reasons": ["test: marked bad"], "note": ""})
    backend = SlurmBackend(slurm_conf=slurm_conf, gpus=False, state_dir=str(tmp_path / "jobs"), health_check=True,
                           health_cmd=("sh", "-c", f"echo '{answer}'; exit 3"))
    run_dir = tmp_path / "run"
    job_id = backend.submit(_spec(run_dir, shards))
    status, _, _ = _wait(backend, job_id)
    host = socket.gethostname()
    assert (status.state, status.exit_code) == (JobState.FAILED, 3), status
    log = _log(run_dir, job_id)
    assert f"unhealthy nodes left out: {host}" in log
    assert f"only 0 healthy node(s) of 1 allocated; the job needs 1 (unhealthy: {host})" in log
    launch = run_dir / "launch"
    assert (launch / f"slurm-{job_id}.unhealthy").read_text() == f"{host}\n"
    assert json.loads((launch / f"health-{job_id}" / f"{host}.json").read_text())["reasons"] == ["test: marked bad"]
    assert not (run_dir / "metrics.jsonl").exists()


def test_healthy_preflight_with_the_health_module(one_process):
    """The module backend runs the pre-flight (health_check is on by default) with train.launch.health itself: the
    first job's report says healthy and nothing was left out (no second job: that one already ran it)."""
    run_dir, job_id, status, _ = one_process
    assert status.state == JobState.SUCCEEDED, _log(run_dir, job_id)
    report = json.loads((run_dir / "launch" / f"health-{job_id}" / f"{socket.gethostname()}.json").read_text())
    assert report["healthy"] is True and report["host"] == socket.gethostname()
    assert (run_dir / "launch" / f"health-{job_id}" / f"{socket.gethostname()}.rc").read_text().strip() == "0"
    assert not (run_dir / "launch" / f"slurm-{job_id}.unhealthy").exists()


def test_sbatch_refusal_carries_its_message(slurm_conf, tmp_path):
    backend = SlurmBackend(slurm_conf=slurm_conf, gpus=False, partition="nosuchpartition",
                           state_dir=str(tmp_path / "jobs"))
    with pytest.raises(SlurmError, match=r"sbatch .* failed \(exit 1\): .*invalid partition"):
        backend.submit(JobSpec(run_dir=str(tmp_path / "run")))
    assert not (tmp_path / "jobs").exists()


def test_unknown_job_ids_are_errors_not_guesses(backend):
    with pytest.raises(SlurmError, match="Slurm does not know job 999999 and .* does not exist"):
        backend.poll("999999")
