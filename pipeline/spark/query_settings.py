"""Session settings for the queries of one block only (set, then put back), and the one-read-task-per-file one."""
from __future__ import annotations

from contextlib import contextmanager

OPEN_COST = "spark.sql.files.openCostInBytes"
MAX_SPLIT = "spark.sql.files.maxPartitionBytes"


@contextmanager
def query_settings(spark, settings: dict[str, str]):
    """`settings` hold for the queries run inside the block; afterwards each key has its value from before."""
    before = {key: spark.conf.get(key) for key in settings}
    try:
        for key, value in settings.items():
            spark.conf.set(key, value)
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def one_task_per_file(spark) -> dict[str, str]:
    """Settings under which a file scan gives each file its own task (a file over maxPartitionBytes still splits).
    Spark packs small files into tasks of up to maxPartitionBytes, which suits a cheap scan; for the row pass (CPU
    bound, ~0.5 MB/s per core) 13 ingest files of ~21 MB became 3 tasks on 2 cores, and the third ran alone. A file
    that costs a whole split to open is never packed with another. Left alone where the user set the open cost."""
    if spark.sparkContext.getConf().contains(OPEN_COST):
        return {}
    return {OPEN_COST: spark.conf.get(MAX_SPLIT)}
