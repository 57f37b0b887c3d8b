"""Stage failures: a config error under spark-submit fails at once (one try), a JVM that dies is retried."""
from __future__ import annotations

import sys
from datetime import timedelta

import pytest

pytest.importorskip("airflow")

DIES_AT_START = {"spark.driver.memory": "1k"}  # the driver JVM cannot start: exit 1, like a JVM crash


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    sys.path.insert(0, str(__import__("tests.dags.conftest").dags.conftest.DAGS.parent / "scripts"))
    try:
        from make_dist import build
    finally:
        sys.path.pop(0)
    out = tmp_path_factory.mktemp("dist")
    return build(out), out / "run_pipeline.py"


def _operator(dist, args, conf=None):
    from orchestration.spark_stage import PipelineStageOperator

    zip_path, entry = dist
    return PipelineStageOperator(task_id="ingest", conn_id="spark_default", application=str(entry),
                                 py_files=str(zip_path), application_args=args, name="codefuse-test",
                                 env_vars={"PYSPARK_PYTHON": sys.executable},
                                 conf={"spark.pyspark.python": sys.executable, **(conf or {})})


def test_a_dead_jvm_raises_a_retryable_error(dist, tmp_path):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    op = _operator(dist, ["run", "--stages", "ingest", "--output", str(tmp_path / "out")], DIES_AT_START)
    with pytest.raises(AirflowException) as e:
        op.execute({})
    assert not isinstance(e.value, AirflowFailException)
    assert "Error code is: 1." in str(e.value) and "Too small maximum heap" in str(e.value)


def _run(dag_folder, conf, corpus, monkeypatch, change=None):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("PIPELINE_ALLOWED_ROOTS", str(corpus))
    dag = DagBag(dag_folder=str(dag_folder)).dags["codefuse_data"]
    if change:
        change(dag.get_task("ingest"))
    return dag.test(run_conf={"output_root": str(corpus / "out"), "run_name": "r", **conf})


@pytest.mark.spark
def test_dag_a_refused_input_inside_a_stage_fails_on_the_first_try(airflow_db, tmp_path, monkeypatch, capfd):
    from airflow.utils.state import DagRunState, TaskInstanceState

    from tests.dags.conftest import DAGS

    run = _run(DAGS, {"input_paths": [str(tmp_path / "missing")]}, tmp_path, monkeypatch)
    assert run.state == DagRunState.FAILED
    ingest = run.get_task_instance("ingest")
    assert (ingest.state, ingest.try_number) == (TaskInstanceState.FAILED, 1)
    assert run.get_task_instance("filter_to_decontam").state == TaskInstanceState.UPSTREAM_FAILED
    logged = "".join(capfd.readouterr())
    # the operator's AirflowFailException, word for word (one spark-submit proves it at both levels)
    assert f"ingest: exit code 2, which a retry cannot fix: config error: input not found: {tmp_path / 'missing'}" \
        in logged
    assert "new_state=up_for_retry" not in logged  # the execution API's state change: never marked for retry


def test_dag_a_dead_jvm_is_retried(airflow_db, tmp_path, monkeypatch, capfd):
    from airflow.utils.state import DagRunState, TaskInstanceState

    from tests.dags.conftest import DAGS

    (tmp_path / "data").mkdir()

    def dies_at_start(task):  # one retry, at once, instead of the DAG's two after 30 s and 60 s
        task.conf = {**task.conf, **DIES_AT_START}
        task.retries, task.retry_delay, task.retry_exponential_backoff = 1, timedelta(0), False

    run = _run(DAGS, {"input_paths": [str(tmp_path / "data")]}, tmp_path, monkeypatch, dies_at_start)
    assert run.state == DagRunState.FAILED
    ingest = run.get_task_instance("ingest")
    assert (ingest.state, ingest.try_number) == (TaskInstanceState.FAILED, 2)
    logged = "".join(capfd.readouterr())
    assert logged.count("new_state=up_for_retry") == 1  # try 1, then try 2 failed for good
    assert "Too small maximum heap" in logged and "which a retry cannot fix" not in logged
