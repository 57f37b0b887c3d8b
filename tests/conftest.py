"""Shared fixtures: one session-scoped local[2] SparkSession, a small run config writing under tmp_path, and a real
one-node Slurm (scripts/slurm_local.sh) for the tests that submit to it; the grouping of tests for pytest-xdist."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from common import typed_config
from pipeline.config import PipelineConfig, SparkConfig

ROOT = Path(__file__).resolve().parents[1]
TEST_SPARK = SparkConfig(master="local[2]", shuffle_partitions=2, driver_memory="2g", arrow_batch_rows=200)


@pytest.fixture(scope="session")
def spark():
    from pipeline.spark.session import get_session

    session = get_session(TEST_SPARK)
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def spark_settings_restored(request):
    """After a test that had the session, its per-query settings are the test ones again: a run in the test's own
    process (`pipeline.cli.main`, get_session with another config) sets shuffle partitions and Arrow batch sizes on
    the shared session, and every later test would run with them (8 shuffle partitions and 1,000-row batches where
    the tests mean 2 and 200)."""
    yield
    if "spark" in request.fixturenames:
        from pipeline.spark.session import PER_QUERY_SETTINGS, session_conf

        conf = session_conf(TEST_SPARK)
        session = request.getfixturevalue("spark")
        for key in PER_QUERY_SETTINGS:
            session.conf.set(key, conf[key])


# A session-wide resource lives once per pytest-xdist worker: the tests that share one run on one worker (with
# `--dist loadgroup`, as `make test` runs them), so there is still one SparkSession, one Airflow DB and one Slurm.
# Every other test goes with its module, whose module-scoped fixtures (a training run, token shards) are then built
# once, not on each worker.
SHARED_BY_GROUP = (("spark", "spark"), ("airflow_db", "airflow"), ("slurm_conf", "slurm"))
# Units that start first, so that no long one is left alone at the end: the shared groups, then the training modules.
FIRST_MODULES = "tests/train/"


def xdist_group_of(fixturenames, module: str) -> str:
    """The worker group of a test: the first shared session fixture it uses (SHARED_BY_GROUP), else its module."""
    return next((group for fixture, group in SHARED_BY_GROUP if fixture in fixturenames), module)


def xdist_order(group: str) -> int:
    return 0 if group in dict(SHARED_BY_GROUP).values() else 1 if group.startswith(FIRST_MODULES) else 2


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks into the test ids
def pytest_collection_modifyitems(config, items):
    if not getattr(config.option, "loadgroup", False):  # set in pytest-xdist's workers under --dist loadgroup
        return
    groups = {}
    for item in items:
        named = item.get_closest_marker("xdist_group")  # a module's own choice, e.g. to share its module fixtures
        if named is not None:
            groups[item] = named.args[0]
            continue
        groups[item] = xdist_group_of(getattr(item, "fixturenames", ()), item.nodeid.split("::")[0])
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    items.sort(key=lambda item: xdist_order(groups[item]))  # stable: each group keeps its tests' order


def pipeline_cfg(inputs, output, *overrides: str) -> PipelineConfig:
    """A PipelineConfig reading inputs and writing output, on the test Spark settings."""
    base = {"run": {"inputs": [str(i) for i in inputs], "output": str(output)},
            "spark": {"master": TEST_SPARK.master, "shuffle_partitions": TEST_SPARK.shuffle_partitions,
                      "driver_memory": TEST_SPARK.driver_memory, "arrow_batch_rows": TEST_SPARK.arrow_batch_rows}}
    return typed_config.load(PipelineConfig, None, overrides, base=base)


@pytest.fixture
def make_cfg(tmp_path):
    """make_cfg(inputs, *overrides) -> PipelineConfig writing to tmp_path/run, on the test Spark settings."""
    def build(inputs, *overrides: str, output=None):
        return pipeline_cfg(inputs, output or tmp_path / "run", *overrides)
    return build


def require_or_skip(switch: str, why: str):
    """Skip with why, or fail with it when the environment sets switch=1 (CI does: what it installed must work)."""
    if os.environ.get(switch) == "1":
        pytest.fail(f"required here ({switch}=1) but: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def mixed_corpus(tmp_path_factory):
    """tests.corpus's mixed corpus, written once per session: (root, what each file should become). Read only."""
    from tests.corpus import write_mixed_corpus

    root = tmp_path_factory.mktemp("mixed-corpus")
    return root, write_mixed_corpus(root)


@pytest.fixture(scope="session")
def mixed_default_run(spark, mixed_corpus, tmp_path_factory):
    """One run of every stage with the default settings over mixed_corpus, on the test Spark, shared by the tests
    that compare another run with it (determinism, the standalone cluster): (output folder, summary). Read only."""
    from pipeline.runner import run

    root, _ = mixed_corpus
    out = tmp_path_factory.mktemp("mixed-default-run") / "run"
    return out, run(pipeline_cfg([f"corpus={root}"], out), spark)


def free_ports(n: int) -> list[int]:
    """n distinct ports free now on 127.0.0.1 (fixed ones collide when two test sessions share a machine: the
    second cluster's daemons cannot bind, and its clients then talk to the first cluster)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="session")
def slurm_conf(tmp_path_factory):
    """SLURM_CONF of a cluster started for this session on free ports; MinJobAge=5 so finished jobs leave scontrol
    quickly. Skips when not root, or fails there when TEST_REQUIRE_SLURM=1 (as in CI)."""
    if os.geteuid() != 0:
        require_or_skip("TEST_REQUIRE_SLURM", "the local Slurm runs slurmd as root (it must, to start jobs); run the "
                        "slurm tests as root")
    state = tmp_path_factory.mktemp("slurm")
    ctld, slurmd = free_ports(2)
    # job ids from 1 on xdist worker gw0, 1001 on gw1, ...: two workers' clusters would otherwise both run a job 2,
    # whose training steps rendezvous on the same port (20000 + job id % 20000)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    env = {**os.environ, "SLURM_LOCAL_DIR": str(state), "SLURM_LOCAL_CTLD_PORT": str(ctld),
           "SLURM_LOCAL_D_PORT": str(slurmd), "SLURM_LOCAL_MIN_JOB_AGE": "5",
           "SLURM_LOCAL_FIRST_JOB_ID": str(1 + 1000 * worker)}
    script = str(ROOT / "scripts" / "slurm_local.sh")
    up = subprocess.run(["bash", script, "up"], env=env, capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, f"slurm_local.sh up failed:\n{up.stdout}\n{up.stderr}"
    try:
        yield str(state / "slurm.conf")
    finally:
        down = subprocess.run(["bash", script, "down"], env=env, capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
