"""The data DAG's spark-submit Python settings: the worker's Python, or a packed env shipped as ./environment."""
from __future__ import annotations

import pytest

from orchestration.spark_python import archive_problem, submit_settings


def test_without_an_archive_driver_and_executors_run_the_given_python():
    assert submit_settings("/opt/py/bin/python", None) == {
        "env_vars": {"PYSPARK_PYTHON": "/opt/py/bin/python"},
        "conf": {"spark.pyspark.python": "/opt/py/bin/python"}, "archives": None}


def test_with_an_archive_executors_run_its_python_and_the_driver_keeps_its_own():
    got = submit_settings("/opt/py/bin/python", "hdfs:///apps/env.tar.gz")
    assert got["archives"] == "hdfs:///apps/env.tar.gz#environment"
    assert got["conf"] == {"spark.pyspark.python": "./environment/bin/python",
                           "spark.pyspark.driver.python": "/opt/py/bin/python"}
    assert got["env_vars"]["PYSPARK_DRIVER_PYTHON"] == "/opt/py/bin/python"


def test_an_archive_that_exists_or_is_remote_is_accepted(tmp_path):
    local = tmp_path / "env.tar.gz"
    local.write_bytes(b"x")
    assert archive_problem(None) is None and archive_problem("") is None
    assert archive_problem(str(local)) is None and archive_problem(f"file://{local}") is None
    assert archive_problem("s3a://bucket/envs/env.tar.gz") is None  # the cluster resolves remote URIs


@pytest.mark.parametrize("archive, says", [
    ("/nowhere/env.tar.gz", "is not a file: build it with `python scripts/pack_env.py --out /nowhere/env.tar.gz`"),
    ("file:///nowhere/env.tgz", "is not a file"),
    ("/tmp/env.tar.gz#environment", "give the archive alone; the DAG adds '#environment'"),
    ("/tmp/env.whl", "not a .tar.gz, .tgz, .tar or .zip archive")])
def test_a_bad_archive_setting_is_named_with_what_to_do(archive, says):
    assert says in archive_problem(archive) and archive_problem(archive).startswith("PIPELINE_PYTHON_ARCHIVE=")
