"""spark-submit of the packaged pipeline, with its packed Python env, to a real two-worker standalone cluster on
127.0.0.1 gives the local result, and the executors on both workers ran the archive's Python."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import STAGES
from tests.conftest import free_ports

# both tests on the worker that has the Spark session (the first one compares with the session's local run), so
# that the cluster and the packed env, module fixtures, are made once and not on each worker
pytestmark = [pytest.mark.spark, pytest.mark.cluster, pytest.mark.xdist_group("spark")]
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKERS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(master URL, environment for spark-submit, the workers' work dir): two workers of one core each."""
    state = tmp_path_factory.mktemp("cluster")
    port, ui = free_ports(2)  # not fixed ones: a second test session on the machine would share its cluster
    # no PYTHONPATH: driver and executors find our code only in the shipped zip, and their packages only in the env
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env = {**base, "PATH": f"{BIN}:{os.environ['PATH']}", "SPARK_MASTER_PORT": str(port),
           "SPARK_MASTER_WEBUI_PORT": str(ui), "SPARK_LOG_DIR": str(state / "logs"),
           "SPARK_PID_DIR": str(state / "pids"), "SPARK_WORKER_DIR": str(state / "work"),
           "SPARK_WORKERS": str(WORKERS), "SPARK_WORKER_CORES": "1", "SPARK_WORKER_MEMORY": "2g"}
    up = subprocess.run(["bash", str(ROOT / "scripts/spark_cluster.sh"), "up"], env=env, capture_output=True,
                        text=True, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"up with {WORKERS} workers of 1 core(s)" in up.stdout
    try:
        yield f"spark://127.0.0.1:{port}", env, state / "work"
    finally:
        down = subprocess.run(["bash", str(ROOT / "scripts/spark_cluster.sh"), "down"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not list((state / "pids").glob("*.pid")), "cluster-down left daemons running"


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """What make dist builds: pipeline.zip, run_pipeline.py and the packed env (from the shared cache if built)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "scripts/make_dist.py"), str(out)], check=True, timeout=120)
    packed = []
    for _ in range(2):  # the second call must come from the cache, whatever the first did
        done = subprocess.run([sys.executable, str(ROOT / "scripts/pack_env.py"), "--out",
                               str(out / "pipeline_env.tar.gz"), "--json"], capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, done.stderr[-4000:]
        packed.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert packed[1]["cached"] and packed[1]["seconds"] < 30 and packed[1]["key"] == packed[0]["key"]
    assert (out / "pipeline_env.tar.gz").stat().st_size == packed[1]["bytes"] > 10 * 2**20
    return out


def _submit(cluster, dist: Path, script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """spark-submit as `make submit` does it; cores.max and the registered ratio make every job wait for both
    executors, so that tasks go to both workers."""
    master, env, _ = cluster
    return subprocess.run(
        [str(BIN / "spark-submit"), "--master", master,
         "--archives", f"{dist / 'pipeline_env.tar.gz'}#environment",
         "--conf", "spark.pyspark.python=./environment/bin/python",
         "--conf", f"spark.pyspark.driver.python={sys.executable}",
         "--conf", f"spark.cores.max={WORKERS}", "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
         "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=300s",
         "--py-files", str(dist / "pipeline.zip"), str(script), *args],
        env=env, capture_output=True, text=True, timeout=1200, cwd=cwd)


def _apps(work: Path) -> set[str]:
    return {p.name for p in work.glob("worker-*/app-*")}


def _rows(stage_dir: Path, status: str) -> list[dict]:
    folder = stage_dir / f"status={status}"
    if not folder.exists():
        return []
    return sorted(pq.read_table(folder).to_pylist(), key=lambda r: r["id"])


@pytest.mark.timeout(2400)
def test_spark_submit_on_standalone_cluster_matches_local(cluster, dist, mixed_corpus, mixed_default_run, tmp_path):
    """The same corpus and settings as the session's local run (mixed_default_run), submitted to the cluster."""
    master, _, work = cluster
    corpus, _ = mixed_corpus
    local_out, local = mixed_default_run
    before = _apps(work)
    out_cluster = tmp_path / "on_cluster"
    submit = _submit(cluster, dist, dist / "run_pipeline.py", "run", "--input", f"corpus={corpus}",
                     "--output", str(out_cluster), "--json", cwd=tmp_path)
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

    # the executor logs of this application: each worker unpacked the env and ran Python tasks of the pipeline
    (app,) = _apps(work) - before
    for i in range(1, WORKERS + 1):
        (executor,) = (work / f"worker-{i}" / app).iterdir()
        assert (executor / "environment" / "bin" / "python").exists(), f"worker-{i} did not unpack the env"
        assert "Starting Python task execution" in (executor / "stderr").read_text(), f"worker-{i} ran no Python task"


PROBE = '''
import json, os, sys, time
from pyspark.sql import SparkSession

def where(_):
    time.sleep(1)  # holds the core so that the other executor takes the next task
    import pipeline, pyarrow
    return json.dumps({"executable": sys.executable, "prefix": sys.prefix, "path": sys.path,
                       "pyarrow": pyarrow.__file__, "pipeline": pipeline.__file__})

spark = SparkSession.builder.getOrCreate()
rows = spark.sparkContext.parallelize(range(8), 8).map(where).collect()
with open(sys.argv[1], "w") as f:
    json.dump([json.loads(r) for r in rows], f)
spark.stop()
'''


@pytest.mark.timeout(1200)
def test_executors_run_the_archive_python_on_both_workers(cluster, dist, tmp_path):
    """Tasks report the interpreter they run in: the env unpacked in each executor's folder, on both workers, with
    our code from pipeline.zip, and the driver's site-packages nowhere on their path."""
    _, _, work = cluster
    script, report = tmp_path / "probe.py", tmp_path / "probe.json"
    script.write_text(PROBE)
    done = _submit(cluster, dist, script, str(report), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = json.loads(report.read_text())
    assert len(rows) == 8
    driver_site = sysconfig.get_paths()["purelib"]
    workers = set()
    for row in rows:
        prefix = Path(row["prefix"])
        assert prefix.name == "environment" and prefix.is_relative_to(work), row["prefix"]
        assert row["executable"] == str(prefix / "bin" / "python")
        assert Path(row["pyarrow"]).is_relative_to(prefix / "lib"), row["pyarrow"]
        assert row["pipeline"].replace(os.sep, "/").endswith("pipeline.zip/pipeline/__init__.py"), row["pipeline"]
        assert driver_site not in row["path"] and sys.prefix not in row["path"]
        workers.add(prefix.relative_to(work).parts[0])
    assert workers == {f"worker-{i}" for i in range(1, WORKERS + 1)}
