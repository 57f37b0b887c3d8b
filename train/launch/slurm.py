"""Slurm backend: sbatch a generated script, poll squeue / scontrol (then the job's exit file), scancel."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from train.launch.job import JobSpec, JobState, JobStatus
from train.launch.slurm_script import ScriptOptions, exit_file, render, script_path

ACTIVE = {"PENDING": JobState.PENDING, "CONFIGURING": JobState.PENDING, "REQUEUED": JobState.PENDING,
          "REQUEUE_HOLD": JobState.PENDING, "REQUEUE_FED": JobState.PENDING, "RESV_DEL_HOLD": JobState.PENDING,
          "SPECIAL_EXIT": JobState.PENDING, "SUSPENDED": JobState.PENDING, "STOPPED": JobState.PENDING,
          "RUNNING": JobState.RUNNING, "COMPLETING": JobState.RUNNING, "SIGNALING": JobState.RUNNING,
          "RESIZING": JobState.RUNNING, "STAGE_OUT": JobState.RUNNING}
FINISHED = {"COMPLETED": JobState.SUCCEEDED, "CANCELLED": JobState.CANCELLED, "REVOKED": JobState.CANCELLED,
            **{s: JobState.FAILED for s in ("FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
                                            "BOOT_FAIL", "DEADLINE")}}
_UNKNOWN_JOB = "Invalid job id specified"


class SlurmError(RuntimeError):
    """A Slurm command is missing, failed, or answered something this backend cannot read."""


def _default_state_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".cache", "codefuse-train", "slurm-jobs")


def parse_exit_code(text: str) -> tuple[int | None, int]:
    """scontrol's ExitCode=<code>:<signal> -> (code, signal); a job killed by a signal reports 128 + signal."""
    m = re.match(r"^(\d+):(\d+)$", text or "")
    if not m:
        return None, 0
    code, sig = int(m.group(1)), int(m.group(2))
    return (128 + sig if sig and not code else code), sig


def status_from_slurm(state: str, exit_code: str = "", reason: str = "") -> JobStatus:
    """One Slurm job state (squeue %T or scontrol JobState) -> JobStatus; an unknown state is an error, not a guess."""
    base = state.split()[0].rstrip("+") if state else ""
    mapped = ACTIVE.get(base) or FINISHED.get(base)
    if mapped is None:
        raise SlurmError(f"unknown Slurm job state {state!r}")
    code, sig = parse_exit_code(exit_code)
    detail = f"slurm {base}"
    if code is not None and mapped.finished:
        detail += f" exit code {code}" + (f" (signal {sig})" if sig else "")
    if reason and reason not in ("None", "(null)"):
        detail += f" ({reason})"
    return JobStatus(mapped, detail, code if mapped.finished else None)


def parse_scontrol(text: str) -> dict[str, str]:
    """`scontrol show job ID` -> the fields this backend reads (JobState, ExitCode, Reason)."""
    out = {}
    for key in ("JobState", "ExitCode", "Reason"):
        m = re.search(rf"(?:^|\s){key}=(\S*)", text)
        if m:
            out[key] = m.group(1)
    if "JobState" not in out:
        raise SlurmError(f"no JobState in scontrol's answer: {text[:300]!r}")
    return out


@dataclass(frozen=True)
class SlurmBackend(ScriptOptions):
    """Backend over the sbatch / squeue / scontrol / scancel commands of the submitting machine.

    slurm_conf sets SLURM_CONF for those commands (a private cluster such as scripts/slurm_local.sh's); state_dir
    keeps one small record per job id (its run_dir) so poll and cancel work from any later process."""
    slurm_conf: str | None = None
    state_dir: str = field(default_factory=_default_state_dir)
    timeout_s: float = 60.0
    name: str = field(default="slurm", init=False)

    def command_env(self) -> dict[str, str]:
        """The environment of every Slurm command we run: ours, with SLURM_CONF pointing at slurm_conf if set."""
        env = dict(os.environ)
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(argv, capture_output=True, text=True, env=self.command_env(),
                                  timeout=self.timeout_s)
        except FileNotFoundError:
            raise SlurmError(f"{argv[0]} not found on PATH: install Slurm's client commands (apt-get install "
                             "slurm-wlm) or start a local one with `make slurm-up`") from None
        except subprocess.TimeoutExpired:
            raise SlurmError(f"{' '.join(argv)} did not answer within {self.timeout_s:.0f} s") from None

    def _record(self, job_id: str) -> Path:
        return Path(self.state_dir) / f"{job_id}.json"

    def write_script(self, spec: JobSpec) -> Path:
        path = script_path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(spec, self))
        path.chmod(0o755)
        return path

    def submit(self, spec: JobSpec) -> str:
        """Write the script and sbatch it; a relative run_dir is made absolute (the record must find it later)."""
        spec = dataclasses.replace(spec, run_dir=os.path.abspath(spec.run_dir))
        script = self.write_script(spec)
        r = self._run(["sbatch", "--parsable", str(script)])
        if r.returncode != 0:
            raise SlurmError(f"sbatch {script} failed (exit {r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
        job_id = r.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise SlurmError(f"sbatch --parsable printed no job id: {r.stdout!r} {r.stderr!r}")
        self._record(job_id).parent.mkdir(parents=True, exist_ok=True)
        self._record(job_id).write_text(json.dumps({"run_dir": spec.run_dir, "script": str(script),
                                                    "attempt": spec.attempt, "cancelled": False}))
        return job_id

    def _queue_state(self, job_id: str) -> tuple[str, str]:
        """squeue's (state, reason) for the job; ("", "") once it has left the queue."""
        r = self._run(["squeue", "-h", "-j", job_id, "-o", "%T|%r"])
        if r.returncode != 0:
            if _UNKNOWN_JOB in r.stderr:
                return "", ""
            raise SlurmError(f"squeue -j {job_id} failed (exit {r.returncode}): {r.stderr.strip()}")
        line = r.stdout.strip().splitlines()[0] if r.stdout.strip() else ""
        state, _, reason = line.partition("|")
        return state, reason

    def poll(self, job_id: str) -> JobStatus:
        state, reason = self._queue_state(job_id)
        if state in ACTIVE:
            return status_from_slurm(state, reason=reason)
        r = self._run(["scontrol", "show", "job", job_id])
        if r.returncode == 0:
            f = parse_scontrol(r.stdout)
            return status_from_slurm(f["JobState"], f.get("ExitCode", ""), f.get("Reason", ""))
        if _UNKNOWN_JOB not in r.stderr:
            raise SlurmError(f"scontrol show job {job_id} failed (exit {r.returncode}): {r.stderr.strip()}")
        return self._from_exit_file(job_id)

    def _from_exit_file(self, job_id: str) -> JobStatus:
        """Slurm has purged the job (MinJobAge): its own exit file and our cancel mark say how it ended."""
        try:
            record = json.loads(self._record(job_id).read_text())
        except FileNotFoundError:
            raise SlurmError(f"Slurm does not know job {job_id} and {self._record(job_id)} does not exist: it was "
                             "not submitted through this state_dir") from None
        path = exit_file(record["run_dir"], job_id)
        if not path.exists() and record.get("cancelled"):
            return JobStatus(JobState.CANCELLED, f"cancelled by scancel before its script ran (no {path.name})")
        if not path.exists():
            return JobStatus(JobState.FAILED, f"slurm job {job_id} is gone and left no exit file {path} (killed "
                                              "before its trap ran: node failure or SIGKILL)")
        code = int(path.read_text().strip())
        if record.get("cancelled") and code != 0:
            return JobStatus(JobState.CANCELLED, f"cancelled by scancel; exit code {code} from {path.name}", code)
        state = JobState.SUCCEEDED if code == 0 else JobState.FAILED
        return JobStatus(state, f"exit code {code} from {path.name} (Slurm no longer remembers the job)", code)

    def cancel(self, job_id: str) -> None:
        """scancel a queued or running job; one that already ended (or that Slurm forgot) is left as it is."""
        if self._queue_state(job_id)[0] not in ACTIVE:
            return
        record = self._record(job_id)
        if record.exists():   # for _from_exit_file: a non-zero exit after our scancel means cancelled, not failed
            record.write_text(json.dumps({**json.loads(record.read_text()), "cancelled": True}))
        r = self._run(["scancel", job_id])
        if r.returncode != 0:
            raise SlurmError(f"scancel {job_id} failed (exit {r.returncode}): {r.stderr.strip()}")
