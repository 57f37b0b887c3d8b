"""The training DAG: on new token shards (or by hand) validate them, check the nodes, submit the DeepSpeed job, keep
it alive until it finishes (restarts from checkpoints), export the Hugging Face model, evaluate it."""
from __future__ import annotations

import os
import sys
from datetime import timedelta

from airflow.sdk import DAG, Param, task

from orchestration.assets import MODEL_EXPORT, TOKEN_SHARDS
from orchestration.train_plan import param_schemas

DAG_ID = "codefuse_train"
# the Python every rank runs (the deepspeed launcher beside it): the worker's own, unless set
TRAIN_PYTHON = os.environ.get("CODEFUSE_TRAIN_PYTHON", sys.executable)
# how often the supervising sensor looks at the job; between looks it holds no worker slot (reschedule mode)
POKE_SECONDS = float(os.environ.get("CODEFUSE_TRAIN_POKE_SECONDS", "60"))

with DAG(
    dag_id=DAG_ID,
    description="token shards -> DeepSpeed training (local or Slurm), supervised -> Hugging Face export -> pass@k",
    schedule=[TOKEN_SHARDS],
    catchup=False,
    max_active_runs=1,
    tags=["codefuse", "training", "deepspeed"],
    params={name: Param(**schema) for name, schema in param_schemas().items()},
    default_args={"owner": "training", "retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:

    @task(retries=0)
    def plan(params=None, run_id=None, triggering_asset_events=None) -> dict:
        """Validate the form (paths under $PIPELINE_ALLOWED_ROOTS, trainer keys) and resolve the manifest."""
        from airflow.sdk.exceptions import AirflowFailException

        from common.form import ParamError
        from orchestration.train_plan import plan as make_plan

        events = list((triggering_asset_events or {}).get(TOKEN_SHARDS, []))
        asset_manifest = (events[-1].extra or {}).get("manifest") if events else None
        try:
            return make_plan(dict(params), run_id, asset_manifest)
        except ParamError as e:
            raise AirflowFailException(f"refused: {e}") from e

    @task(retries=0)
    def validate_manifest(planned: dict) -> dict:
        """Every shard is there with its checksum, the tokenizer matches: before any node is allocated."""
        from airflow.sdk.exceptions import AirflowFailException

        from orchestration.train_tasks import check_manifest

        try:
            return check_manifest(planned["values"]["manifest"])
        except ValueError as e:
            raise AirflowFailException(str(e)) from e

    @task
    def node_health(planned: dict) -> dict:
        """NVML on the GPUs the job will use; a bad GPU or node is left out, too few good ones fail the task."""
        from airflow.sdk.exceptions import AirflowFailException

        from orchestration.train_tasks import node_health as check

        try:
            return check(planned, TRAIN_PYTHON)
        except RuntimeError as e:
            raise AirflowFailException(str(e)) from e

    @task(retries=0)
    def submit(planned: dict, health: dict, shards: dict) -> dict:
        """The first attempt (a rerun of this task finds it in the supervisor's state and does not submit again)."""
        from orchestration.train_tasks import supervisor

        verdict = supervisor(planned, health, TRAIN_PYTHON).poke()
        return {"attempt": verdict.attempt, "state": verdict.state, "detail": verdict.detail}

    @task.sensor(poke_interval=POKE_SECONDS, timeout=timedelta(days=60).total_seconds(), mode="reschedule",
                 retries=0)
    def supervise(planned: dict, health: dict, submitted: dict):
        """Poll the job and its heartbeat; restart failed or hung attempts from the newest checkpoint."""
        from airflow.sdk import PokeReturnValue
        from airflow.sdk.exceptions import AirflowFailException

        from orchestration.train_tasks import supervisor
        from train.launch.supervisor import GaveUp

        try:
            verdict = supervisor(planned, health, TRAIN_PYTHON).poke()
        except GaveUp as e:
            raise AirflowFailException(str(e)) from e
        print(f"attempt {verdict.attempt}: {verdict.state} at step {verdict.step} - {verdict.detail}")
        return PokeReturnValue(is_done=verdict.done, xcom_value={"attempt": verdict.attempt, "step": verdict.step})

    @task(outlets=[MODEL_EXPORT])
    def export_hf(planned: dict, trained: dict, outlet_events=None) -> str:
        """<run>/hf from the newest complete checkpoint, checked by loading it with transformers; published as an
        event of the codefuse_model_export Asset (the fine-tuning DAG's input)."""
        from orchestration.train_tasks import export_and_check

        hf = export_and_check(planned["run_dir"])
        outlet_events[MODEL_EXPORT].extra = {"hf": hf, "run_dir": planned["run_dir"],
                                             "manifest": planned["values"]["manifest"]}
        return hf

    @task
    def evaluate(planned: dict, hf_dir: str) -> dict:
        """pass@k (and comment BLEU where the data run has SFT pairs) beside the checkpoint, in <run>/eval."""
        from orchestration.train_tasks import evaluate as run_eval

        return run_eval(planned, hf_dir)

    planned = plan()
    shards = validate_manifest(planned)
    health = node_health(planned)
    submitted = submit(planned, health, shards)
    trained = supervise(planned, health, submitted)
    evaluate(planned, export_hf(planned, trained))
