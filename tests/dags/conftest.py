"""Airflow test home: a throwaway AIRFLOW_HOME with SQLite, dags/ as the DAG folder, spark_default = local[2]."""
from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
BIN = Path(sys.executable).parent  # spark-submit and airflow come with the venv's pyspark and apache-airflow

# Airflow reads its settings when first imported: set them before any test module imports it (only where it is
# installed: elsewhere the tests here skip and the environment stays as it was)
_home = tempfile.mkdtemp(prefix="airflow-home-") if importlib.util.find_spec("airflow") else ""
if _home:
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ.update({} if not _home else {
    "AIRFLOW_HOME": _home,
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow.db",
    "AIRFLOW_CONN_SPARK_DEFAULT": '{"conn_type": "spark", "host": "local[2]"}',
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
})


@pytest.fixture(scope="session")
def airflow_db():
    """`airflow db migrate` once for the session (dag.test needs the metadata tables)."""
    pytest.importorskip("airflow")
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, capture_output=True, timeout=300)
    return _home
