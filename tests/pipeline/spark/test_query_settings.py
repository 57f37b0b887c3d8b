"""Settings for one block of queries: set inside, put back after (also on an error); one read task per file."""
from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.spark.query_settings import MAX_SPLIT, OPEN_COST, one_task_per_file, query_settings

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def four_files(tmp_path_factory):
    """Four Parquet files of 1 MiB each (random bytes, uncompressed, so the file is as large as its data)."""
    folder = tmp_path_factory.mktemp("four_files")
    rng = random.Random(0)
    for i in range(4):
        table = pa.table({"blob": [rng.randbytes(1 << 20)]})
        pq.write_table(table, folder / f"part-{i}.parquet", compression="none")
    return str(folder)


def test_small_files_are_packed_by_default_and_read_one_per_task_inside(spark, four_files):
    before = spark.conf.get(OPEN_COST)
    # packed: each 1 MiB file plus the 4 MiB open cost, into splits of (4 x 5 MiB) / 2 cores = 10 MiB: two tasks
    assert spark.read.parquet(four_files).rdd.getNumPartitions() == 2
    settings = one_task_per_file(spark)
    assert settings == {OPEN_COST: spark.conf.get(MAX_SPLIT)}
    with query_settings(spark, settings):
        assert spark.conf.get(OPEN_COST) == spark.conf.get(MAX_SPLIT)
        df = spark.read.parquet(four_files)
        assert df.rdd.getNumPartitions() == 4
        assert df.count() == 4
    assert spark.conf.get(OPEN_COST) == before
    assert spark.read.parquet(four_files).rdd.getNumPartitions() == 2


def test_settings_are_put_back_when_the_block_fails(spark):
    before = spark.conf.get("spark.sql.shuffle.partitions")
    with pytest.raises(RuntimeError, match="inside"):
        with query_settings(spark, {"spark.sql.shuffle.partitions": "7"}):
            assert spark.conf.get("spark.sql.shuffle.partitions") == "7"
            raise RuntimeError("inside")
    assert spark.conf.get("spark.sql.shuffle.partitions") == before


def test_an_open_cost_the_user_set_is_left_alone(spark, monkeypatch):
    conf = spark.sparkContext.getConf()
    monkeypatch.setattr(type(spark.sparkContext), "getConf", lambda self: conf.set(OPEN_COST, "1048576"))
    assert one_task_per_file(spark) == {}
