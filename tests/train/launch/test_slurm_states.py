"""Slurm job states -> JobStatus, from scontrol / squeue text as Slurm 22.05 printed it here."""
from __future__ import annotations

import pytest

from train.launch.job import JobSpec, JobState, JobStatus
from train.launch.slurm import SlurmBackend, SlurmError, parse_exit_code, parse_scontrol, status_from_slurm

# `scontrol show job 2` for a batch script that exited 2 (captured on this machine, trimmed)
FAILED_JOB = """JobId=2 JobName=t1.sh
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=4294901759 Nice=0 Account=(null) QOS=(null)
   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=2:0
   RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A
   NodeList=vm
   BatchHost=vm
"""
CANCELLED_JOB = "JobId=3 JobName=t2.sh\n   JobState=CANCELLED Reason=None Dependency=(null)\n" \
                "   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=143:0\n"


def test_captured_scontrol_output():
    fields = parse_scontrol(FAILED_JOB)
    assert fields == {"JobState": "FAILED", "ExitCode": "2:0", "Reason": "NonZeroExitCode"}
    assert status_from_slurm(**{"state": fields["JobState"], "exit_code": fields["ExitCode"],
                                "reason": fields["Reason"]}) == \
        JobStatus(JobState.FAILED, "slurm FAILED exit code 2 (NonZeroExitCode)", 2)
    f = parse_scontrol(CANCELLED_JOB)
    assert status_from_slurm(f["JobState"], f["ExitCode"], f["Reason"]) == \
        JobStatus(JobState.CANCELLED, "slurm CANCELLED exit code 143", 143)
    with pytest.raises(SlurmError, match="no JobState"):
        parse_scontrol("slurm_load_jobs error: Invalid job id specified")


@pytest.mark.parametrize("state, expected", [
    ("PENDING", JobState.PENDING), ("CONFIGURING", JobState.PENDING), ("REQUEUED", JobState.PENDING),
    ("RUNNING", JobState.RUNNING), ("COMPLETING", JobState.RUNNING), ("COMPLETED", JobState.SUCCEEDED),
    ("CANCELLED", JobState.CANCELLED), ("FAILED", JobState.FAILED), ("TIMEOUT", JobState.FAILED),
    ("NODE_FAIL", JobState.FAILED), ("OUT_OF_MEMORY", JobState.FAILED), ("PREEMPTED", JobState.FAILED),
    ("BOOT_FAIL", JobState.FAILED), ("DEADLINE", JobState.FAILED),
])
def test_every_state_maps(state, expected):
    status = status_from_slurm(state)
    assert status.state == expected and status.detail.startswith(f"slurm {state}")


def test_signals_reasons_and_unknown_states():
    assert parse_exit_code("0:9") == (137, 9)
    assert parse_exit_code("1:0") == (1, 0) and parse_exit_code("") == (None, 0)
    assert status_from_slurm("NODE_FAIL", "0:9", "NodeDown") == \
        JobStatus(JobState.FAILED, "slurm NODE_FAIL exit code 137 (signal 9) (NodeDown)", 137)
    assert status_from_slurm("TIMEOUT", "0:15").exit_code == 143
    assert status_from_slurm("PENDING", "", "Resources") == JobStatus(JobState.PENDING, "slurm PENDING (Resources)")
    assert status_from_slurm("RUNNING", "0:0").exit_code is None          # no exit code before the end
    with pytest.raises(SlurmError, match="unknown Slurm job state 'EXPLODED'"):
        status_from_slurm("EXPLODED")


def test_missing_sbatch_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    backend = SlurmBackend(state_dir=str(tmp_path / "state"), gpus=False)
    with pytest.raises(SlurmError, match="sbatch not found on PATH: install Slurm"):
        backend.submit(JobSpec(run_dir=str(tmp_path / "run")))
    assert (tmp_path / "run" / "launch" / "slurm-attempt-0.sbatch").exists()
    assert not (tmp_path / "state").exists()
