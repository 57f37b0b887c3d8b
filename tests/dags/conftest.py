"""Airflow test home: a throwaway AIRFLOW_HOME with SQLite, dags/ as the DAG folder, spark_default = local[2]."""
from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
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


STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = ["textwrap.py", "shlex.py", "fnmatch.py", "bisect.py", "json/decoder.py", "json/encoder.py",
         "json/scanner.py", "csv.py", "glob.py", "colorsys.py"]


def copy_corpus(root: Path) -> Path:
    """A few real stdlib files under root/data/stdlib (the data DAG's input); returns root."""
    data = root / "data" / "stdlib"
    for name in FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, data / name)
    return root


@pytest.fixture(scope="session")
def data_run(airflow_db, tmp_path_factory):
    """One dag.test of the data DAG on the stdlib files (about 4 minutes): its shards feed the training DAG test."""
    from airflow.dag_processing.dagbag import DagBag

    from pipeline.config import MIN_VOCAB_SIZE

    corpus = copy_corpus(tmp_path_factory.mktemp("data-dag"))
    os.environ["PIPELINE_ALLOWED_ROOTS"] = str(corpus)
    dag = DagBag(dag_folder=str(DAGS)).dags["codefuse_data"]
    conf = {"input_paths": [str(corpus / "data")], "output_root": str(corpus / "out"), "run_name": "e2e",
            "languages": ["Python"], "vocab_size": MIN_VOCAB_SIZE, "tokenizer_sample_mb": 1.0, "seq_len": 64,
            "shard_rows": 64, "shuffle_partitions": 2, "min_quality_score": 0.0}
    # the smallest vocabulary the trigger form allows: it always holds the 618 keyword forms as single tokens
    return dag.test(run_conf=conf), corpus


def asset_extras(name: str) -> list[dict]:
    """The extra of each event of the Asset `name`, oldest first, read back from Airflow's metadata DB."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                  .filter(AssetModel.name == name).order_by(AssetEvent.id).all())
        return [e.extra for e in events]
