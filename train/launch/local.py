"""The `local` backend: the DeepSpeed launcher on this machine (CPU processes in tests, the GPUs where present)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from common.atomic import write_atomic
from train.launch.job import JobSpec, JobState, JobStatus
from train.procenv import free_port


def _alive(record: str) -> bool:
    """The runner recorded as "pid create_time" still runs (a reused pid has another start time; a zombie is done)."""
    import psutil  # DeepSpeed's own dependency

    try:
        pid, started = record.split()
        proc = psutil.Process(int(pid))
        return abs(proc.create_time() - float(started)) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
    except (ValueError, psutil.NoSuchProcess):
        return False


class LocalBackend:
    """Job id = the job's folder (<run>/launch/local-attempt-N): pid, command, log and exit code live there."""
    name = "local"

    def __init__(self, cpu: bool | None = None, grace_seconds: float = 20.0):
        self.cpu = cpu  # None: ask torch whether CUDA is there (in the launched job's environment)
        self.grace_seconds = grace_seconds

    def command(self, spec: JobSpec) -> list[str]:
        if spec.nodes != 1:
            raise ValueError(f"the local backend runs on this machine only: nodes={spec.nodes} needs the slurm "
                             f"backend")
        launcher = Path(spec.python).parent / "deepspeed"
        if not launcher.exists():
            raise FileNotFoundError(f"the deepspeed launcher is not next to {spec.python} (pip install deepspeed)")
        if spec.gpu_ids:  # the launcher ignores CUDA_VISIBLE_DEVICES when told a count: name the GPUs instead
            if len(spec.gpu_ids) < spec.procs_per_node:
                raise ValueError(f"{spec.procs_per_node} processes but only GPUs {list(spec.gpu_ids)} to use")
            where = ["--include", "localhost:" + ",".join(map(str, spec.gpu_ids[:spec.procs_per_node]))]
        else:
            where = ["--num_gpus", str(spec.procs_per_node)]
        return [str(launcher), *where, "--master_port", str(free_port()), "--module", "train", *spec.train_args()]

    def _env(self, spec: JobSpec) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
        cpu = self.cpu if self.cpu is not None else not _cuda_available()
        if cpu:
            env.setdefault("DS_ACCELERATOR", "cpu")
            env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // spec.procs_per_node)))
        # the launcher starts `python -m train` with the Python found on PATH: make it the spec's
        env["PATH"] = f"{Path(spec.python).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"
        env.update(dict(spec.env))
        return env

    def submit(self, spec: JobSpec) -> str:
        job_dir = Path(spec.run_dir).resolve() / "launch" / f"local-attempt-{spec.attempt}"
        if job_dir.exists() and not (job_dir / "exit_code").exists() and self.poll(str(job_dir)).state in (
                JobState.RUNNING, JobState.PENDING):
            raise RuntimeError(f"{job_dir} is still running: cancel it before submitting that attempt again")
        job_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("exit_code", "cancelled", "runner.pid", "child.pid"):
            (job_dir / stale).unlink(missing_ok=True)
        cmd = self.command(spec)
        (job_dir / "command.json").write_text(json.dumps({"argv": cmd, "submitted": time.time()}, indent=1))
        runner = subprocess.Popen([spec.python, "-m", "train.launch.local_runner", str(job_dir), "--", *cmd],
                                  env=self._env(spec), cwd=spec.run_dir if Path(spec.run_dir).is_dir() else None,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)  # outlives the submitter; cancel kills the whole session
        import psutil

        try:
            started = psutil.Process(runner.pid).create_time()
        except psutil.NoSuchProcess:  # already gone: poll then reads its exit code, or calls it failed
            started = 0.0
        write_atomic(job_dir / "runner.pid", f"{runner.pid} {started}")  # readers never see half a record
        return str(job_dir)

    def poll(self, job_id: str) -> JobStatus:
        job_dir = Path(job_id)
        if not (job_dir / "command.json").exists():
            return JobStatus(JobState.FAILED, f"no local job at {job_dir}")
        exit_file = job_dir / "exit_code"
        if (job_dir / "cancelled").exists():
            return JobStatus(JobState.CANCELLED, "cancelled", _int(exit_file))
        if exit_file.exists():
            code = _int(exit_file)
            return JobStatus(JobState.SUCCEEDED if code == 0 else JobState.FAILED, f"exit code {code}", code)
        record = _text(job_dir / "runner.pid")
        if record is None:
            return JobStatus(JobState.PENDING, "starting")
        pid = record.split()[0]
        if _alive(record):
            return JobStatus(JobState.RUNNING, f"runner pid {pid}")
        if exit_file.exists():  # finished between the two looks
            return self.poll(job_id)
        return JobStatus(JobState.FAILED, f"runner pid {pid} is gone without an exit code (killed, or the machine "
                                          f"rebooted)")

    def cancel(self, job_id: str) -> None:
        job_dir = Path(job_id)
        (job_dir / "cancelled").write_text(str(time.time()))
        record = _text(job_dir / "runner.pid")
        if record is None or not _alive(record):
            return
        pid = int(record.split()[0])
        import psutil  # DeepSpeed's own dependency

        try:
            runner = psutil.Process(pid)
            tree = [runner, *runner.children(recursive=True)]  # ranks may sit in process groups of their own
        except psutil.NoSuchProcess:
            return
        for proc in tree:
            _signal(proc, signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=self.grace_seconds)
        for proc in alive:  # ranks stuck in a collective ignore SIGTERM
            _signal(proc, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=10)


def _signal(proc, sig) -> None:
    import psutil

    try:
        proc.send_signal(sig)
    except psutil.NoSuchProcess:
        pass


def _text(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
