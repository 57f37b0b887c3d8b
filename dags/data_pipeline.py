"""The data DAG: a spark-submit task per pipeline stage (the row-local ones: one task), tokenizer and shards, then the
shard manifest as an Asset."""
from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from orchestration.assets import TOKEN_SHARDS
from orchestration.data_plan import DATA_STEPS, TOKEN_STEPS, param_schemas
from orchestration.spark_python import archive_problem, submit_settings
from orchestration.spark_stage import PipelineStageOperator

DAG_ID = "codefuse_data"
REPO = Path(__file__).resolve().parent.parent
# the Python the driver and (local or same-image) executors run: the one Airflow's worker runs, unless set
PYSPARK_PYTHON = os.environ.get("PIPELINE_PYSPARK_PYTHON", sys.executable)
# a packed Python env for the executors (scripts/pack_env.py), shipped with --archives: for workers without our env
PYTHON_ARCHIVE = os.environ.get("PIPELINE_PYTHON_ARCHIVE") or None


with DAG(
    dag_id=DAG_ID,
    description="raw code -> stages -> tokenizer -> packed token shards (the pipeline's CLI under spark-submit)",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["codefuse", "data", "spark"],
    params={name: Param(**schema) for name, schema in param_schemas().items()},
    default_args={"owner": "data-pipeline", "retries": 2, "retry_delay": timedelta(seconds=30),
                  "retry_exponential_backoff": True},
) as dag:

    @task(multiple_outputs=True)
    def plan(params=None, run_id=None, dag_run=None) -> dict:
        """Validate the trigger conf (paths under $PIPELINE_ALLOWED_ROOTS), build dist/, give each step's argv."""
        from importlib.util import module_from_spec, spec_from_file_location

        from airflow.sdk.exceptions import AirflowFailException

        from common.form import ParamError
        from orchestration.data_plan import plan as make_plan

        if problem := archive_problem(PYTHON_ARCHIVE):  # a deployment setting: no retry fixes it
            raise AirflowFailException(problem)
        try:
            out = make_plan(dict(params), DAG_ID, run_id)
        except ParamError as e:  # a refused value is not transient: fail now, no retries, nothing submitted
            raise AirflowFailException(f"refused: {e}") from e
        spec = spec_from_file_location("make_dist", REPO / "scripts" / "make_dist.py")
        make_dist = module_from_spec(spec)
        spec.loader.exec_module(make_dist)
        dist = Path(out["run_dir"]) / "_dist"
        out["py_files"] = str(make_dist.build(dist))
        out["application"] = str(dist / "run_pipeline.py")
        return out

    @task(outlets=[TOKEN_SHARDS])
    def publish(run_dir: str, outlet_events=None) -> dict:
        """The shard manifest of this run becomes an event of the token-shards Asset (the trainer's input)."""
        from orchestration.data_plan import manifest_summary

        summary = manifest_summary(run_dir)
        outlet_events[TOKEN_SHARDS].extra = summary
        return summary

    planned = plan()
    previous = planned
    for step in (*DATA_STEPS, *TOKEN_STEPS, "report"):
        # retries only for failures a retry can fix: exit codes 2 (config/input) and 3 (data) fail at once
        submit = PipelineStageOperator(
            task_id=step.replace("-", "_"),
            conn_id="spark_default",  # local[*], spark://host:7077 or yarn: change the connection, not the DAG
            application=planned["application"],
            py_files=planned["py_files"],
            application_args=planned[step],
            name=f"codefuse-{step}",
            **submit_settings(PYSPARK_PYTHON, PYTHON_ARCHIVE),
        )
        previous >> submit
        previous = submit
    previous >> publish(planned["run_dir"])
