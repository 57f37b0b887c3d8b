"""Supervisor decisions against a scripted backend and heartbeat: restarts, hang detection, giving up."""
from __future__ import annotations

import json

import pytest

from train.launch import heartbeat
from train.launch.job import JobSpec, JobState, JobStatus
from train.launch.supervisor import GaveUp, Policy, Supervisor


class ScriptedBackend:
    """Jobs whose states the test sets by hand; records submits and cancels."""
    name = "scripted"

    def __init__(self):
        self.states: dict[str, JobStatus] = {}
        self.submitted: list[JobSpec] = []
        self.cancelled: list[str] = []

    def submit(self, spec):
        job_id = f"job{len(self.submitted)}"
        self.submitted.append(spec)
        self.states[job_id] = JobStatus(JobState.PENDING, "queued")
        return job_id

    def poll(self, job_id):
        return self.states[job_id]

    def cancel(self, job_id):
        self.cancelled.append(job_id)
        self.states[job_id] = JobStatus(JobState.CANCELLED, "scancel")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def sup(tmp_path):
    backend, clock = ScriptedBackend(), Clock()
    spec = JobSpec(run_dir=str(tmp_path), overrides=("data.manifest=/m",))
    return Supervisor(backend, spec, Policy(max_restarts=2, hang_seconds=100, startup_seconds=300), clock), backend, \
        clock


def _beat(run_dir, phase, step, total=10, pid=1):
    heartbeat.beat(run_dir, phase, step, total)
    data = json.loads((run_dir / heartbeat.NAME).read_text())
    data["pid"] = pid
    (run_dir / heartbeat.NAME).write_text(json.dumps(data))


def test_first_poke_submits_then_success_needs_a_done_heartbeat(sup, tmp_path):
    s, backend, clock = sup
    v = s.poke()
    assert (v.done, v.state, v.attempt) == (False, "pending", 0)
    assert backend.submitted[0].attempt == 0 and "run.output=" + str(tmp_path) in backend.submitted[0].train_args()
    backend.states["job0"] = JobStatus(JobState.RUNNING, "r")
    _beat(tmp_path, "training", 3)
    assert s.poke().state == "running"
    _beat(tmp_path, "done", 10)
    backend.states["job0"] = JobStatus(JobState.SUCCEEDED, "exit code 0", 0)
    v = s.poke()
    assert (v.done, v.state, v.step) == (True, "succeeded", 10)
    assert s.poke().done  # a later poke (a rerun of the sensor) does not submit again
    assert len(backend.submitted) == 1


def test_failed_attempt_is_resubmitted_with_the_next_attempt_number(sup, tmp_path):
    s, backend, _ = sup
    s.poke()
    (tmp_path / "checkpoints").mkdir()
    for step in (4, 8):
        (tmp_path / "checkpoints" / f"global_step{step}").mkdir()
    backend.states["job0"] = JobStatus(JobState.FAILED, "exit code -9", -9)
    v = s.poke()
    assert (v.state, v.attempt) == ("restarted", 1)
    assert [spec.attempt for spec in backend.submitted] == [0, 1]
    state = s.load()
    assert state["attempts"][0]["outcome"] == "failed" and "exit code -9" in state["attempts"][0]["detail"]
    assert state["attempts"][1]["resume_from"] == "global_step8"


def test_success_without_the_last_step_counts_as_a_failure(sup, tmp_path):
    s, backend, _ = sup
    s.poke()
    _beat(tmp_path, "training", 4)
    backend.states["job0"] = JobStatus(JobState.SUCCEEDED, "exit code 0", 0)
    v = s.poke()
    assert (v.done, v.state, v.attempt) == (False, "restarted", 1)
    assert "not done" in s.load()["attempts"][0]["detail"]


def test_a_run_that_stops_advancing_is_cancelled_and_restarted(sup, tmp_path):
    s, backend, clock = sup
    s.poke()
    backend.states["job0"] = JobStatus(JobState.RUNNING, "r")
    clock.now += 250  # loading: within startup_seconds
    assert s.poke().state == "running"
    _beat(tmp_path, "training", 1)
    clock.now += 10
    assert s.poke().state == "running"
    for step in (2, 3):  # steps keep coming every 90 s: below hang_seconds
        clock.now += 90
        _beat(tmp_path, "training", step)
        assert s.poke().state == "running"
    clock.now += 101  # no new step for more than hang_seconds
    v = s.poke()
    assert backend.cancelled == ["job0"] and (v.state, v.attempt) == ("restarted", 1)
    assert "hung: no new step for 101 s" in s.load()["attempts"][0]["detail"]


def test_no_first_step_within_startup_is_a_hang_but_queueing_is_not(sup, tmp_path):
    s, backend, clock = sup
    s.poke()
    clock.now += 5000  # queued for a long time: fine
    assert s.poke().state == "pending"
    backend.states["job0"] = JobStatus(JobState.RUNNING, "r")
    _beat(tmp_path, "starting", 0)
    clock.now += 299
    assert s.poke().state == "running"
    clock.now += 301
    v = s.poke()
    assert v.state == "restarted" and "no first step" in s.load()["attempts"][0]["detail"]


def test_gives_up_after_max_restarts_with_every_attempt_in_the_message(sup, tmp_path):
    s, backend, _ = sup
    s.poke()
    for n in range(2):
        backend.states[f"job{n}"] = JobStatus(JobState.FAILED, f"boom {n}", 1)
        assert s.poke().attempt == n + 1
    backend.states["job2"] = JobStatus(JobState.FAILED, "boom 2", 1)
    with pytest.raises(GaveUp, match=r"failed 3 time\(s\), max_restarts=2.*boom 0.*boom 1.*boom 2"):
        s.poke()
    assert len(backend.submitted) == 3


def test_a_config_error_is_not_restarted(sup):
    s, backend, _ = sup
    s.poke()
    backend.states["job0"] = JobStatus(JobState.FAILED, "exit code 2", 2)
    with pytest.raises(GaveUp, match="config or data error"):
        s.poke()
    assert len(backend.submitted) == 1


def test_state_survives_a_new_supervisor_object(sup, tmp_path):
    """Each Airflow poke builds a new Supervisor: it must carry on from the file, not submit again."""
    s, backend, clock = sup
    s.poke()
    backend.states["job0"] = JobStatus(JobState.RUNNING, "r")
    again = Supervisor(backend, s.spec, s.policy, clock)
    assert again.poke().state == "running" and len(backend.submitted) == 1


def test_a_scheduler_that_does_not_answer_changes_nothing(sup):
    s, backend, _ = sup
    s.poke()

    def down(job_id):
        raise RuntimeError("slurm_load_jobs error: Unable to contact slurm controller")

    backend.poll = down
    v = s.poke()
    assert (v.done, v.state, v.attempt) == (False, "unknown", 0) and "Unable to contact" in v.detail
    assert s.poke().detail.endswith("2 failed poll(s) in a row") and len(backend.submitted) == 1


def test_a_new_trigger_after_giving_up_starts_a_fresh_count(sup):
    """Fix the cause, trigger the same run folder again: new attempts (numbered on), max_restarts counted anew."""
    s, backend, _ = sup
    s.poke()
    backend.states["job0"] = JobStatus(JobState.FAILED, "exit code 2", 2)
    with pytest.raises(GaveUp):
        s.poke()
    v = s.poke()
    assert (v.state, v.attempt) == ("restarted", 1) and "after 1 earlier attempt(s)" in v.detail
    backend.states["job1"] = JobStatus(JobState.FAILED, "node lost", 1)
    assert s.poke().attempt == 2  # a restart within the new supervision, not a give-up
    state = s.load()
    assert [a["attempt"] for a in state["earlier"]] == [0] and [a["attempt"] for a in state["attempts"]] == [1, 2]


def test_a_finished_run_triggered_again_with_more_steps_trains_on(sup, tmp_path):
    import dataclasses

    s, backend, clock = sup
    s.poke()
    _beat(tmp_path, "done", 10)
    backend.states["job0"] = JobStatus(JobState.SUCCEEDED, "exit code 0", 0)
    assert s.poke().done
    same = Supervisor(backend, s.spec, s.policy, clock)
    assert same.poke().done and len(backend.submitted) == 1  # the same request: nothing to do
    longer = dataclasses.replace(s.spec, overrides=(*s.spec.overrides, "schedule.max_steps=20"))
    v = Supervisor(backend, longer, s.policy, clock).poke()
    assert (v.done, v.attempt) == (False, 1) and backend.submitted[-1].overrides[-1] == "schedule.max_steps=20"


def test_a_job_queued_past_queue_seconds_is_cancelled_and_the_run_given_up(tmp_path):
    """Every wait has a deadline: a job that never leaves the queue is cancelled, and the error says it was queued
    and why (Slurm's reason), not a generic failure."""
    backend, clock = ScriptedBackend(), Clock()
    s = Supervisor(backend, JobSpec(run_dir=str(tmp_path)), Policy(queue_seconds=600), clock)
    s.poke()
    backend.states["job0"] = JobStatus(JobState.PENDING, "slurm PENDING (Resources)")
    clock.now += 600
    assert s.poke().state == "pending"
    clock.now += 1
    with pytest.raises(GaveUp, match=r"\(job0\) still queued after 601 s \(limit 600 s\): slurm PENDING "
                                     r"\(Resources\); cancelled"):
        s.poke()
    assert backend.cancelled == ["job0"] and len(backend.submitted) == 1


def test_the_queue_clock_restarts_when_a_running_job_is_requeued(tmp_path):
    backend, clock = ScriptedBackend(), Clock()
    s = Supervisor(backend, JobSpec(run_dir=str(tmp_path)), Policy(queue_seconds=600, startup_seconds=10_000), clock)
    s.poke()
    clock.now += 500
    backend.states["job0"] = JobStatus(JobState.RUNNING, "r")
    assert s.poke().state == "running"
    clock.now += 500
    backend.states["job0"] = JobStatus(JobState.PENDING, "slurm REQUEUED")
    clock.now += 599
    assert s.poke().state == "pending" and s.poke().state == "pending"
    assert backend.cancelled == []


def test_a_scheduler_silent_past_unreachable_seconds_gives_up_naming_the_job(sup):
    s, backend, clock = sup
    s.poke()
    backend.poll = lambda job_id: (_ for _ in ()).throw(RuntimeError("Unable to contact slurm controller"))
    limit = s.policy.unreachable_seconds
    assert s.poke().state == "unknown"
    clock.now += limit
    assert s.poke().state == "unknown"
    clock.now += 1
    with pytest.raises(GaveUp, match=rf"could not poll job0 \(RuntimeError: Unable to contact slurm controller\); "
                                     rf"3 failed poll\(s\) in a row over {limit + 1:.0f} s .*job job0 was left"):
        s.poke()
    assert backend.cancelled == [] and not s.load().get("gave_up")
    backend.poll = lambda job_id: backend.states[job_id]   # it answers again: the clock starts over
    assert s.poke().state == "pending" and s.load()["attempts"][0]["unreachable_since"] is None
