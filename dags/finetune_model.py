"""The fine-tuning DAG: on a new pretrained export (or by hand) validate the SFT shards, check the nodes, submit the
DeepSpeed fine-tuning job, keep it alive until it finishes, export it, quantize it to int4, evaluate it per task."""
from __future__ import annotations

import os
import sys
from datetime import timedelta

from airflow.sdk import DAG, Param, task

from orchestration.assets import MODEL_EXPORT
from orchestration.finetune_plan import param_schemas

DAG_ID = "codefuse_finetune"
# the Python every rank (and deploy quantize) runs: the worker's own, unless set
TRAIN_PYTHON = os.environ.get("CODEFUSE_TRAIN_PYTHON", sys.executable)
# how often the supervising sensor looks at the job; between looks it holds no worker slot (reschedule mode)
POKE_SECONDS = float(os.environ.get("CODEFUSE_TRAIN_POKE_SECONDS", "60"))

with DAG(
    dag_id=DAG_ID,
    description="pretrained export + SFT shards -> DeepSpeed fine-tuning, supervised -> export -> int4 GPTQ -> "
                "per-task BLEU / pass@k",
    schedule=[MODEL_EXPORT],
    catchup=False,
    max_active_runs=1,
    tags=["codefuse", "fine-tuning", "deepspeed"],
    params={name: Param(**schema) for name, schema in param_schemas().items()},
    default_args={"owner": "training", "retries": 1, "retry_delay": timedelta(minutes=1)},
) as dag:

    @task(retries=0)
    def plan(params=None, run_id=None, triggering_asset_events=None) -> dict:
        """Validate the form (paths under $PIPELINE_ALLOWED_ROOTS, trainer keys); init_from from the export event."""
        from airflow.sdk.exceptions import AirflowFailException

        from common.form import ParamError
        from orchestration.finetune_plan import plan as make_plan

        events = list((triggering_asset_events or {}).get(MODEL_EXPORT, []))
        try:
            return make_plan(dict(params), run_id, dict(events[-1].extra or {}) if events else None)
        except ParamError as e:
            raise AirflowFailException(f"refused: {e}") from e

    @task(retries=0)
    def validate_manifest(planned: dict) -> dict:
        """The SFT shards and the calibration shards are whole and match their tokenizer, before any allocation."""
        from airflow.sdk.exceptions import AirflowFailException

        from orchestration.finetune_tasks import check_manifests

        try:
            return check_manifests(planned)
        except ValueError as e:
            raise AirflowFailException(str(e)) from e

    @task
    def node_health(planned: dict) -> dict:
        """NVML on the GPUs the job will use (the training DAG's check)."""
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

    @task
    def export_hf(planned: dict, trained: dict) -> str:
        """<run>/hf from the newest complete checkpoint (LoRA adapters merged), checked by loading it."""
        from orchestration.train_tasks import export_and_check

        return export_and_check(planned["run_dir"])

    @task
    def quantize(planned: dict, hf_dir: str) -> dict:
        """int4 GPTQ of the export into <run>/int4 with perplexity before/after (python -m deploy quantize)."""
        from airflow.sdk.exceptions import AirflowFailException

        from orchestration.finetune_tasks import QuantizeRefused
        from orchestration.finetune_tasks import quantize as run_quantize

        try:
            return run_quantize(planned, hf_dir, TRAIN_PYTHON)
        except QuantizeRefused as e:
            raise AirflowFailException(str(e)) from e

    @task
    def evaluate(planned: dict, hf_dir: str, quantized: dict) -> dict:
        """Per-task scores in <run>/eval: BLEU on held-out SFT samples, pass@k, quantization before/after."""
        from orchestration.finetune_tasks import evaluate as run_eval

        return run_eval(planned, hf_dir, quantized)

    planned = plan()
    shards = validate_manifest(planned)
    health = node_health(planned)
    submitted = submit(planned, health, shards)
    trained = supervise(planned, health, submitted)
    hf = export_hf(planned, trained)
    evaluate(planned, hf, quantize(planned, hf))
