"""What a training job is (JobSpec), what state it is in (JobStatus), and the small interface every backend meets."""
from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field
from typing import Protocol


class JobState(str, enum.Enum):
    PENDING = "pending"      # queued or starting; no hang detection yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"        # non-zero exit, node failure, killed from outside
    CANCELLED = "cancelled"  # cancelled by us (hang) or by an operator

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    detail: str = ""                 # the backend's own words: "exit code 1", "slurm NODE_FAIL", ...
    exit_code: int | None = None


@dataclass(frozen=True)
class JobSpec:
    """One launch of `python -m train` over nodes x processes; a restart is the same spec with the next attempt."""
    run_dir: str                              # the trainer's run.output: checkpoints, metrics, heartbeat, launch logs
    preset: str = "debug"
    overrides: tuple[str, ...] = ()           # KEY=VALUE for `--set` (data.manifest, model.flavor, ...)
    nodes: int = 1
    procs_per_node: int = 1                   # GPUs per node; on a CPU machine, processes
    hosts: tuple[str, ...] = ()               # healthy hosts to use (empty: the backend's choice)
    exclude_hosts: tuple[str, ...] = ()       # hosts found unhealthy: never schedule on them
    gpu_ids: tuple[int, ...] = ()             # one node: use these GPUs only (the healthy ones); empty = any
    python: str = field(default_factory=lambda: sys.executable)
    env: tuple[tuple[str, str], ...] = ()     # extra environment for every rank
    attempt: int = 0                          # 0 = first launch, n = n-th restart (names logs and scripts)
    name: str = "codefuse-train"

    def train_args(self) -> list[str]:
        """Arguments after `-m train` (the same for every launcher)."""
        args = ["--preset", self.preset]
        for item in self.overrides:
            args += ["--set", item]
        args += ["--set", f"run.output={self.run_dir}"]
        return args


class Backend(Protocol):
    """Submission backends: job ids are plain strings that survive a process restart (Airflow pokes from new
    processes), so poll/cancel must work from any process on the submitting machine."""
    name: str

    def submit(self, spec: JobSpec) -> str: ...

    def poll(self, job_id: str) -> JobStatus: ...

    def cancel(self, job_id: str) -> None: ...
