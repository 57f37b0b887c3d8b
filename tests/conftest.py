"""Shared fixtures: one session-scoped local[2] SparkSession, and a small run config writing under tmp_path."""
from __future__ import annotations

import pytest

from pipeline import typed_config
from pipeline.config import PipelineConfig, SparkConfig

TEST_SPARK = SparkConfig(master="local[2]", shuffle_partitions=2, driver_memory="2g", arrow_batch_rows=200)


@pytest.fixture(scope="session")
def spark():
    from pipeline.spark.session import get_session

    session = get_session(TEST_SPARK)
    yield session
    session.stop()


@pytest.fixture
def make_cfg(tmp_path):
    """make_cfg(inputs, *overrides) -> PipelineConfig writing to tmp_path/run, on the test Spark settings."""
    def build(inputs, *overrides: str, output=None):
        base = {"run": {"inputs": [str(i) for i in inputs], "output": str(output or tmp_path / "run")},
                "spark": {"master": TEST_SPARK.master, "shuffle_partitions": TEST_SPARK.shuffle_partitions,
                          "driver_memory": TEST_SPARK.driver_memory, "arrow_batch_rows": TEST_SPARK.arrow_batch_rows}}
        return typed_config.load(PipelineConfig, None, overrides, base=base)
    return build
