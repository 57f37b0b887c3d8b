"""End to end: dag.test() of the data DAG on a few real stdlib files gives token shards and the Asset event."""
from __future__ import annotations

import json

import pytest

from tests.dags.conftest import copy_corpus

pytest.importorskip("airflow")


@pytest.fixture
def corpus(tmp_path):
    return copy_corpus(tmp_path)


@pytest.mark.spark
def test_dag_run_produces_shards_and_publishes_the_manifest(data_run):
    from airflow.utils.state import DagRunState

    run, corpus = data_run
    assert run.state == DagRunState.SUCCESS, {ti.task_id: ti.state for ti in run.get_task_instances()}

    out = corpus / "out" / "codefuse_data" / "e2e"
    summary = json.loads((out / "run.json").read_text())
    assert [s["name"] for s in summary["stages"]] == ["ingest", "filter", "quality", "privacy", "detox",
                                                       "decontam", "exact", "near", "segments", "resample"]
    assert summary["finished"] and summary["stages"][0]["kept"] > 0
    # the report step re-ran `run` over the finished folder: every stage skipped, nothing recomputed
    assert {s["status"] for s in summary["stages"]} == {"skipped"}
    manifest = json.loads((out / "tokens" / "manifest.json").read_text())
    assert manifest["seq_len"] == 64 and manifest["shards"]
    assert all((out / "tokens" / s["path"]).is_file() for s in manifest["shards"])

    # the Asset event carries where the manifest is and what it holds (what a training DAG would be triggered by)
    from tests.dags.conftest import asset_extras

    extras = asset_extras("codefuse_token_shards")
    assert extras and extras[-1]["manifest"] == str(out / "tokens" / "manifest.json")
    assert extras[-1]["tokens"] == sum(s["tokens"] for s in manifest["shards"]) > 0


@pytest.mark.parametrize("hostile", [{"output_root": "/tmp/x; rm -rf /"}, {"input_paths": ["$(reboot)"]},
                                     {"input_paths": ["/etc"]}])
def test_hostile_conf_fails_the_plan_and_submits_nothing(airflow_db, corpus, monkeypatch, capfd, hostile):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState, TaskInstanceState

    from tests.dags.conftest import DAGS

    monkeypatch.setenv("PIPELINE_ALLOWED_ROOTS", str(corpus))
    dag = DagBag(dag_folder=str(DAGS)).dags["codefuse_data"]
    conf = {"input_paths": [str(corpus / "data")], "output_root": str(corpus / "out"), **hostile}
    run = dag.test(run_conf=conf)
    assert run.state == DagRunState.FAILED
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["plan"] == TaskInstanceState.FAILED and run.get_task_instance("plan").try_number == 1
    assert states["ingest"] == TaskInstanceState.UPSTREAM_FAILED
    assert not (corpus / "out").joinpath("codefuse_data").exists()
    logged = "".join(capfd.readouterr())
    assert "refused: param '" in logged and ("not allowed in a path" in logged or "outside the allowed roots" in logged
                                             or "not an absolute path" in logged)


def test_a_missing_packed_env_fails_the_plan_once_and_submits_nothing(airflow_db, corpus, monkeypatch, capfd):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState, TaskInstanceState

    from tests.dags.conftest import DAGS

    monkeypatch.setenv("PIPELINE_ALLOWED_ROOTS", str(corpus))
    monkeypatch.setenv("PIPELINE_PYTHON_ARCHIVE", str(corpus / "missing_env.tar.gz"))
    dag = DagBag(dag_folder=str(DAGS / "data_pipeline.py")).dags["codefuse_data"]
    run = dag.test(run_conf={"input_paths": [str(corpus / "data")], "output_root": str(corpus / "out")})
    assert run.state == DagRunState.FAILED
    assert run.get_task_instance("plan").state == TaskInstanceState.FAILED
    assert run.get_task_instance("plan").try_number == 1
    assert run.get_task_instance("ingest").state == TaskInstanceState.UPSTREAM_FAILED
    assert not (corpus / "out").joinpath("codefuse_data").exists()
    assert "missing_env.tar.gz' is not a file: build it with `python scripts/pack_env.py" in "".join(capfd.readouterr())
