"""Keep a training run going: submit it, watch job state and heartbeat, restart a failed or hung attempt from the
newest checkpoint (the trainer resumes by itself) up to max_restarts times.

Stateless between calls: everything lives in <run>/launch/supervisor.json, so each `poke` may come from a new
process (an Airflow sensor in reschedule mode) and clocks are only compared on the supervising machine."""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from common.atomic import write_atomic
from train import checkpoint as ckpt
from train.launch import heartbeat
from train.launch.job import Backend, JobSpec, JobState

STATE_NAME = "supervisor.json"
# `python -m train` exits 2 on a config or data error: the same launch would fail the same way, so no restart
PERMANENT_EXIT = 2


@dataclass(frozen=True)
class Policy:
    max_restarts: int = 3
    hang_seconds: float = 1800.0     # a running attempt that completes no step for this long is hung
    startup_seconds: float = 3600.0  # until an attempt's first step (loading shards, model, checkpoint, compiling)
    queue_seconds: float = 7 * 86400.0  # an attempt queued (PENDING) this long is cancelled and the run given up
    unreachable_seconds: float = 3600.0  # polls failing in a row this long: give up (the job is left as it is)


@dataclass(frozen=True)
class Verdict:
    done: bool          # True: training finished (heartbeat says done at the last step)
    state: str          # running, pending, restarted, succeeded
    detail: str
    attempt: int
    step: int


class GaveUp(RuntimeError):
    """The run failed more often than max_restarts allows; the message holds every attempt's outcome."""


def _progress_key(beat) -> list | None:
    """What must change for a run to count as progressing: a new step, a new phase, or a new process writing
    (a list, as it is stored in the JSON state)."""
    return [beat.phase, beat.step, beat.pid] if beat else None


class Supervisor:
    def __init__(self, backend: Backend, spec: JobSpec, policy: Policy = Policy(), clock=time.time):
        self.backend, self.spec, self.policy, self.clock = backend, spec, policy, clock
        self.path = Path(spec.run_dir) / "launch" / STATE_NAME

    # state file -------------------------------------------------------------------------------------------------
    def load(self) -> dict:
        if self.path.exists():
            return json.loads(self.path.read_text())
        return {"backend": self.backend.name, "spec": dataclasses.asdict(self.spec), "attempts": [], "done": False}

    def _save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(state, indent=1))

    # one look ---------------------------------------------------------------------------------------------------
    def poke(self) -> Verdict:
        state = self.load()
        spec = json.loads(json.dumps(dataclasses.asdict(self.spec)))
        changed = state["spec"] != spec and state["done"]  # e.g. more steps for a finished run: train on from there
        if state.get("gave_up") or changed:  # a new supervision of this run folder (a new trigger)
            state["earlier"] = state.get("earlier", []) + state["attempts"]
            state["attempts"], state["gave_up"], state["done"], state["spec"] = [], False, False, spec
        if state["done"]:
            last = state["attempts"][-1]
            return Verdict(True, "succeeded", "finished earlier", last["attempt"], last.get("step", 0))
        if not state["attempts"]:
            first = len(state.get("earlier", []))  # attempt numbers name log folders: never reuse one
            return self._submit(state, first, "first launch" if not first else
                                f"new supervision after {first} earlier attempt(s)")
        cur = state["attempts"][-1]
        try:
            status = self.backend.poll(cur["job_id"])
        except Exception as e:  # a scheduler that does not answer now (slurmctld restarting): decide next time
            now = self.clock()
            cur["poll_errors"] = cur.get("poll_errors", 0) + 1
            cur["unreachable_since"] = since = cur.get("unreachable_since") or now
            self._save(state)
            why = (f"could not poll {cur['job_id']} ({type(e).__name__}: {e}); "
                   f"{cur['poll_errors']} failed poll(s) in a row")
            if now - since > self.policy.unreachable_seconds:  # not marked gave_up: a new trigger polls this job again
                raise GaveUp(f"training run {self.spec.run_dir}: {why} over {now - since:.0f} s (limit "
                             f"{self.policy.unreachable_seconds:.0f} s); job {cur['job_id']} was left as it is")
            return Verdict(False, "unknown", why, cur["attempt"], cur.get("step", 0))
        cur["poll_errors"], cur["unreachable_since"] = 0, None
        beat = heartbeat.read(self.spec.run_dir)
        now = self.clock()
        if status.state is JobState.PENDING and cur.get("state") != JobState.PENDING.value:
            cur["queued_at"] = now  # queued again (a requeue): the queue clock restarts
        key = _progress_key(beat)
        if key != cur["beat"]:  # progress: a new step, a new phase, or a new process writing
            cur["beat"], cur["progress_at"] = key, now
            if beat and beat.phase in ("training", "done") and key != cur["beat_at_submit"]:
                cur["started"] = True
        cur["step"] = beat.step if beat else 0
        cur["state"] = status.state.value

        if status.state is JobState.SUCCEEDED:
            if beat and beat.phase == "done" and beat.step >= beat.total:
                cur["outcome"], cur["detail"], state["done"] = "succeeded", status.detail, True
                self._save(state)
                return Verdict(True, "succeeded", f"finished {beat.step} steps", cur["attempt"], beat.step)
            return self._failed(state, cur, f"the job ended with success but the heartbeat says "
                                            f"{key or 'nothing'} (not done)")
        if status.state in (JobState.FAILED, JobState.CANCELLED):
            return self._failed(state, cur, f"{status.state.value}: {status.detail}",
                                permanent=status.exit_code == PERMANENT_EXIT)
        if status.state is JobState.PENDING:
            cur["progress_at"] = now  # queued: the startup clock starts when the job runs
            queued = now - cur.get("queued_at", cur["submitted_at"])
            if queued > self.policy.queue_seconds:
                self.backend.cancel(cur["job_id"])
                cur["outcome"], cur["finished_at"] = "failed", now
                cur["detail"] = (f"still queued after {queued:.0f} s (limit {self.policy.queue_seconds:.0f} s): "
                                 f"{status.detail}; cancelled")
                state["gave_up"] = True
                self._save(state)
                raise GaveUp(f"training run {self.spec.run_dir}: attempt {cur['attempt']} ({cur['job_id']}) "
                             f"{cur['detail']} - a resubmission would queue the same way")
        if status.state is JobState.RUNNING:
            limit = self.policy.hang_seconds if cur.get("started") else self.policy.startup_seconds
            quiet = now - cur["progress_at"]
            if quiet > limit:
                self.backend.cancel(cur["job_id"])
                what = "no new step" if cur.get("started") else "no first step"
                return self._failed(state, cur, f"hung: {what} for {quiet:.0f} s (limit {limit:.0f} s); cancelled")
        self._save(state)
        return Verdict(False, status.state.value, status.detail, cur["attempt"], cur["step"])

    # transitions ------------------------------------------------------------------------------------------------
    def _submit(self, state: dict, attempt: int, why: str) -> Verdict:
        spec = dataclasses.replace(self.spec, attempt=attempt)
        beat = heartbeat.read(spec.run_dir)
        key = _progress_key(beat)
        tags = ckpt.tags_newest_first(Path(spec.run_dir) / "checkpoints")
        job_id = self.backend.submit(spec)
        now = self.clock()
        state["attempts"].append({"attempt": attempt, "job_id": job_id, "submitted_at": now, "why": why,
                                  "resume_from": tags[0] if tags else None, "beat_at_submit": key, "beat": key,
                                  "progress_at": now, "queued_at": now, "started": False,
                                  "step": beat.step if beat else 0,
                                  "state": JobState.PENDING.value, "outcome": None, "detail": ""})
        self._save(state)
        return Verdict(False, "restarted" if attempt else "pending", f"{why}: submitted {job_id}", attempt,
                       beat.step if beat else 0)

    def _failed(self, state: dict, cur: dict, detail: str, permanent: bool = False) -> Verdict:
        cur["outcome"], cur["detail"], cur["finished_at"] = "failed", detail, self.clock()
        restarts = len(state["attempts"]) - 1
        if permanent:
            state["gave_up"] = True
            self._save(state)
            raise GaveUp(f"training run {self.spec.run_dir}: attempt {cur['attempt']} ({cur['job_id']}) {detail} - "
                         f"a config or data error (exit {PERMANENT_EXIT}), not restarted; see its log")
        if restarts >= self.policy.max_restarts:
            state["gave_up"] = True
            self._save(state)
            raise GaveUp(f"training run {self.spec.run_dir} failed {len(state['attempts'])} time(s), "
                         f"max_restarts={self.policy.max_restarts}: " + "; ".join(
                             f"attempt {a['attempt']} ({a['job_id']}): {a['detail']}" for a in state["attempts"]))
        return self._submit(state, cur["attempt"] + 1, f"restart {restarts + 1}/{self.policy.max_restarts} after "
                                                       f"attempt {cur['attempt']} {detail}")
