"""Every DAG in dags/ imports cleanly, cheaply, with tags, an owner and retries; the params carry the schema."""
from __future__ import annotations

import copy
import subprocess
import sys
import time

import pytest

pytest.importorskip("airflow")

from tests.dags.conftest import DAGS  # noqa: E402


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    start = time.monotonic()
    bag = DagBag(dag_folder=str(DAGS))
    bag.parse_seconds = time.monotonic() - start
    return bag


def test_every_dag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"codefuse_data", "codefuse_train", "codefuse_finetune"} <= set(dagbag.dag_ids)


# tasks a retry cannot help: a refused form, shards that fail their checksums, and the job's own submission and
# supervision (the supervisor restarts the training job itself; retrying the sensor would submit a second job)
NO_RETRY = {(dag, task) for dag in ("codefuse_train", "codefuse_finetune")
            for task in ("plan", "validate_manifest", "submit", "supervise")}


def test_dags_have_tags_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        for t in dag.tasks:
            assert t.owner not in ("", "airflow"), (dag_id, t.task_id)
            assert (t.retries == 0) == ((dag_id, t.task_id) in NO_RETRY), (dag_id, t.task_id, t.retries)


def test_the_training_dag_waits_on_the_shards_without_holding_a_slot(dagbag):
    dag = dagbag.dags["codefuse_train"]
    assert [a.name for a in dag.timetable.asset_condition.objects] == ["codefuse_token_shards"]
    sensor = dag.get_task("supervise")
    assert sensor.mode == "reschedule" and sensor.timeout >= 7 * 24 * 3600
    assert [t.task_id for t in dag.topological_sort()] == ["plan", "validate_manifest", "node_health", "submit",
                                                           "supervise", "export_hf", "evaluate"]
    params = dag.params
    assert params.get_param("backend").schema["enum"] == ["local", "slurm"]
    assert "13B" in params.get_param("flavor").schema["enum"]
    assert params.get_param("max_restarts").schema["maximum"] == 100


def test_the_finetune_dag_runs_on_the_training_dags_export(dagbag):
    train, dag = dagbag.dags["codefuse_train"], dagbag.dags["codefuse_finetune"]
    assert [a.name for a in train.get_task("export_hf").outlets] == ["codefuse_model_export"]
    assert [a.name for a in dag.timetable.asset_condition.objects] == ["codefuse_model_export"]
    assert [t.task_id for t in dag.topological_sort()] == ["plan", "validate_manifest", "node_health", "submit",
                                                           "supervise", "export_hf", "quantize", "evaluate"]
    sensor = dag.get_task("supervise")
    assert sensor.mode == "reschedule" and sensor.timeout == train.get_task("supervise").timeout
    params = dag.params
    assert params.get_param("preset").value == "sft" and params.get_param("quantize").value is True
    # the training form's trainer and cluster fields, with the fine-tuning ones added
    assert set(train.params.keys()) < set(params.keys())
    assert {"init_from", "quantize_manifest", "quantize_group_size", "eval_task_limit"} <= set(params.keys())


# run in a fresh interpreter: this one may already hold the suite's shared Spark session
_SPARK_AFTER_IMPORT = """
import runpy, sys
for f in sys.argv[1:]:
    runpy.run_path(f)
pyspark = sys.modules.get("pyspark")
print(bool(pyspark and (pyspark.SparkContext._gateway or pyspark.sql.SparkSession._instantiatedSession)))
"""


def test_no_work_at_import_time(dagbag):
    # parsing starts no Spark (no JVM, no session) and stays fast; the plan runs only inside a task
    assert dagbag.parse_seconds < 10
    files = sorted(str(f) for f in DAGS.glob("*.py"))
    done = subprocess.run([sys.executable, "-c", _SPARK_AFTER_IMPORT, *files], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout


def test_one_spark_submit_task_per_step_on_spark_default(dagbag):
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    from orchestration.data_plan import DATA_STEPS
    from orchestration.spark_stage import PipelineStageOperator

    dag = dagbag.dags["codefuse_data"]
    submits = [t for t in dag.tasks if isinstance(t, SparkSubmitOperator)]
    assert [t.task_id for t in submits] == ["ingest", "filter_to_decontam", "exact", "near", "segments", "resample",
                                            "tokenizer_train", "tokenize", "report"]
    assert list(DATA_STEPS) == [t.task_id for t in submits][:6]
    # each fails at once on the pipeline's permanent exit codes and keeps its retries for the rest
    assert all(isinstance(t, PipelineStageOperator) and t.retries == 2 for t in submits)
    assert {t._conn_id for t in submits} == {"spark_default"}
    assert dag.get_task("publish").outlets[0].name == "codefuse_token_shards"


def test_params_are_typed_with_ranges_and_enums(dagbag):
    params = dagbag.dags["codefuse_data"].params
    assert params.get_param("dedup_threshold").schema["maximum"] == 1.0
    assert params.get_param("seq_len").schema["type"] == "integer"
    assert "Python" in params.get_param("languages").schema["items"]["enum"]


@pytest.mark.parametrize("host", ["local[2]", "spark://127.0.0.1:7077", "yarn"])
def test_the_master_comes_from_the_connection_alone(dagbag, monkeypatch, host):
    import json

    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": host}))
    task = dagbag.dags["codefuse_data"].get_task("filter_to_decontam")
    cmd = SparkSubmitHook(conn_id=task._conn_id, conf=task.conf, py_files="pipeline.zip")._build_spark_submit_command(
        "run_pipeline.py")
    assert cmd[cmd.index("--master") + 1] == host
    assert cmd[-1] == "run_pipeline.py" and "spark.pyspark.python=" + sys.executable in cmd


@pytest.mark.parametrize("name, value, reason", [("dedup_threshold", 1.5, "maximum"), ("seq_len", "64", "type"),
                                                 ("languages", ["Klingon"], "is not one of")])
def test_the_trigger_form_refuses_wrong_types_ranges_and_choices(dagbag, name, value, reason):
    from airflow.sdk.exceptions import ParamValidationError

    params = copy.deepcopy(dagbag.dags["codefuse_data"].params)
    params.validate()  # the defaults are valid
    with pytest.raises(ParamValidationError, match=reason):
        params[name] = value


def test_parsing_the_dags_imports_no_torch():
    """The scheduler parses DAG files again and again: the training DAG's form must not pull in torch (~1.5 s)."""
    import subprocess

    code = ("import sys; from airflow.dag_processing.dagbag import DagBag; "
            f"bag = DagBag(dag_folder={str(DAGS)!r}); assert not bag.import_errors, bag.import_errors; "
            "print(sorted(bag.dag_ids), 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith("['codefuse_data', 'codefuse_finetune', 'codefuse_train'] False"), r.stdout


def test_a_packed_env_archive_is_shipped_by_every_stage_submit(monkeypatch, tmp_path):
    """PIPELINE_PYTHON_ARCHIVE set where the DAG is parsed: the spark-submit line is `make submit`'s shape."""
    import json

    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    archive = tmp_path / "pipeline_env.tar.gz"
    monkeypatch.setenv("PIPELINE_PYTHON_ARCHIVE", str(archive))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "spark://h:7077"}))
    dag = DagBag(dag_folder=str(DAGS / "data_pipeline.py")).dags["codefuse_data"]
    for step in ("ingest", "near", "tokenize", "report"):
        task = dag.get_task(step)
        cmd = SparkSubmitHook(conn_id=task._conn_id, conf=task.conf, archives=task._archives,
                              env_vars=task.env_vars, py_files="pipeline.zip")._build_spark_submit_command("app.py")
        assert cmd[cmd.index("--archives") + 1] == f"{archive}#environment"
        assert "spark.pyspark.python=./environment/bin/python" in cmd
        assert f"spark.pyspark.driver.python={sys.executable}" in cmd
