"""spark-submit of the packaged pipeline to a real standalone cluster on 127.0.0.1 gives the local result."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import STAGES
from tests.conftest import free_ports

pytestmark = [pytest.mark.spark, pytest.mark.cluster]
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("cluster")
    port, ui = free_ports(2)  # not fixed ones: a second test session on the machine would share its cluster
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "SPARK_MASTER_PORT": str(port),
           "SPARK_MASTER_WEBUI_PORT": str(ui), "SPARK_LOG_DIR": str(state / "logs"),
           "SPARK_PID_DIR": str(state / "pids"), "SPARK_WORKER_DIR": str(state / "work"),
           "SPARK_WORKER_MEMORY": "2g", "PYSPARK_PYTHON": sys.executable}
    up = subprocess.run(["bash", str(ROOT / "scripts/spark_cluster.sh"), "up"], env=env, capture_output=True,
                        text=True, timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield f"spark://127.0.0.1:{port}", env
    finally:
        subprocess.run(["bash", str(ROOT / "scripts/spark_cluster.sh"), "down"], env=env, capture_output=True,
                       timeout=120)


def _rows(stage_dir: Path, status: str) -> list[dict]:
    folder = stage_dir / f"status={status}"
    if not folder.exists():
        return []
    return sorted(pq.read_table(folder).to_pylist(), key=lambda r: r["id"])


def test_spark_submit_on_standalone_cluster_matches_local(cluster, mixed_corpus, mixed_default_run, tmp_path):
    """The same corpus and settings as the session's local run (mixed_default_run), submitted to the cluster."""
    master, env = cluster
    corpus, _ = mixed_corpus
    local_out, local = mixed_default_run
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, str(ROOT / "scripts/make_dist.py"), str(dist)], check=True)
    out_cluster = tmp_path / "on_cluster"
    submit = subprocess.run(
        [str(BIN / "spark-submit"), "--master", master, "--conf", f"spark.pyspark.python={sys.executable}",
         "--py-files", str(dist / "pipeline.zip"), str(dist / "run_pipeline.py"), "run",
         "--input", f"corpus={corpus}", "--output", str(out_cluster), "--json"],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert submit.returncode == 0, submit.stderr[-4000:]
    summary = json.loads((out_cluster / "run.json").read_text())
    assert summary["finished"] and [s["status"] for s in summary["stages"]] == ["ran"] * len(STAGES)
    assert f"Connecting to master {master}" in submit.stderr or "StandaloneSchedulerBackend" in submit.stderr

    for stage in STAGES:
        for status in ("kept", "rejected"):
            assert _rows(out_cluster / stage, status) == _rows(local_out / stage, status)
    chat = [sorted(pq.read_table(d / "sft" / "chatml").to_pylist(), key=lambda r: r["id"])
            for d in (out_cluster, local_out)]
    assert chat[0] == chat[1] and len(chat[0]) > 0
    assert [s["kept"] for s in summary["stages"]] == [s["kept"] for s in local["stages"]]
