"""End to end: dag.test() of the training DAG on the data DAG's shards, on CPU, with the trainer SIGKILLed mid-run:
the supervisor restarts it from its checkpoint, the run succeeds, the export loads, the evaluation writes results."""
from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

pytest.importorskip("airflow")

STEPS, EVERY = 16, 4


def _kill_trainer_once(run_dir: Path, at_step: int, stop: threading.Event, killed: list) -> None:
    """Watch the heartbeat; after step at_step of the first attempt, SIGKILL the `-m train` rank."""
    from train.launch import heartbeat

    while not stop.is_set() and not killed:
        beat = heartbeat.read(run_dir)
        runner = run_dir / "launch" / "local-attempt-0" / "runner.pid"
        if beat and beat.phase == "training" and beat.step >= at_step and runner.exists():
            for p in psutil.Process(int(runner.read_text().split()[0])).children(recursive=True):
                cmd = p.cmdline()
                if "-m" in cmd and cmd[cmd.index("-m") + 1] == "train":
                    p.send_signal(signal.SIGKILL)
                    p.wait(30)
                    # the step it died at: it may have finished (and checkpointed) steps after `beat` was read,
                    # and it beats each step before it saves that step's checkpoint
                    killed.append(heartbeat.read(run_dir).step)
        time.sleep(0.05)


@pytest.mark.spark
def test_train_dag_survives_a_killed_trainer_and_exports(data_run, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from tests.dags.conftest import DAGS

    _, corpus = data_run
    manifest = corpus / "out" / "codefuse_data" / "e2e" / "tokens" / "manifest.json"
    assert manifest.is_file(), "the data DAG run made no shards"
    monkeypatch.setenv("CODEFUSE_TRAIN_POKE_SECONDS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    dag = DagBag(dag_folder=str(DAGS)).dags["codefuse_train"]
    conf = {"manifest": str(manifest), "run_name": "e2e", "max_steps": STEPS, "checkpoint_every": EVERY,
            "max_restarts": 2, "hang_minutes": 2.0, "startup_minutes": 4.0,
            "overrides": ["logging.tensorboard=false", "checkpoint.keep_last=0", "schedule.warmup_steps=2"],
            "evaluate": True, "eval_limit": 2, "eval_max_new_tokens": 8}
    run_dir = corpus / "out" / "codefuse_data" / "e2e" / "train" / "e2e"
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=_kill_trainer_once, args=(run_dir, 6, stop, killed), daemon=True)
    watcher.start()
    try:
        run = dag.test(run_conf=conf)
    finally:
        stop.set()
        watcher.join(5)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == DagRunState.SUCCESS, states
    assert killed, "the trainer finished before it could be killed"

    attempts = json.loads((run_dir / "launch" / "supervisor.json").read_text())["attempts"]
    assert len(attempts) == 2 and attempts[0]["outcome"] == "failed" and attempts[1]["outcome"] == "succeeded"
    resumed = int(attempts[1]["resume_from"].removeprefix("global_step"))
    assert resumed % EVERY == 0 and killed[0] - EVERY <= resumed <= killed[0]
    assert f"resumed from global_step{resumed}" in (Path(attempts[1]["job_id"]) / "output.log").read_text()
    losses = {r["step"]: r["loss"] for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())}
    assert sorted(losses) == list(range(1, STEPS + 1))
    assert losses[STEPS] < losses[1]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = run_dir / "hf"
    tok = AutoTokenizer.from_pretrained(hf)
    model = AutoModelForCausalLM.from_pretrained(hf)
    out = model.generate(tok("def parse(", return_tensors="pt").input_ids, max_new_tokens=4, do_sample=False)
    assert tok.decode(out[0]).startswith("def parse(")
    assert f"global_step{STEPS}" in (hf / "codefuse_checkpoint.txt").read_text()
    # the export is published as a codefuse_model_export event: what the fine-tuning DAG is scheduled on
    from tests.dags.conftest import asset_extras

    extras = asset_extras("codefuse_model_export")
    assert extras and extras[-1] == {"hf": str(hf), "run_dir": str(run_dir), "manifest": str(manifest)}
    result = json.loads((run_dir / "eval" / "eval.json").read_text())
    assert result["n_tasks"] == 2 and result["n_samples"] == 2 and 0.0 <= result["overall"]["pass@1"] <= 1.0
    assert sum(result["status_counts"].values()) == 2


@pytest.mark.spark
@pytest.mark.slurm
def test_train_dag_submits_to_slurm(data_run, slurm_conf, monkeypatch):
    """backend=slurm: the health sweep srun-checks the node, sbatch runs the trainer (torchrun under srun), the
    sensor sees it finish, the export loads."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from tests.dags.conftest import DAGS

    _, corpus = data_run
    manifest = corpus / "out" / "codefuse_data" / "e2e" / "tokens" / "manifest.json"
    monkeypatch.setenv("SLURM_CONF", slurm_conf)
    monkeypatch.setenv("CODEFUSE_TRAIN_POKE_SECONDS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    dag = DagBag(dag_folder=str(DAGS)).dags["codefuse_train"]
    conf = {"manifest": str(manifest), "run_name": "slurm", "backend": "slurm", "slurm_gpus": False,
            "slurm_time_limit": "15", "max_steps": 6, "checkpoint_every": 3, "evaluate": False,
            "overrides": ["logging.tensorboard=false"]}
    run = dag.test(run_conf=conf)
    assert run.state == DagRunState.SUCCESS, {ti.task_id: ti.state for ti in run.get_task_instances()}
    run_dir = corpus / "out" / "codefuse_data" / "e2e" / "train" / "slurm"
    attempts = json.loads((run_dir / "launch" / "supervisor.json").read_text())["attempts"]
    assert len(attempts) == 1 and attempts[0]["job_id"].isdigit() and attempts[0]["outcome"] == "succeeded"
    script = (run_dir / "launch" / "slurm-attempt-0.sbatch").read_text()
    assert "#SBATCH --time=" in script and "torch.distributed.run" in script and "--gpus-per-node" not in script
    assert (run_dir / "launch" / f"slurm-{attempts[0]['job_id']}.exit").read_text().strip() == "0"
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(run_dir / "hf").config.vocab_size >= 2048
    assert run.get_task_instance("evaluate").state == "success"  # evaluate=false: the task says so and passes
