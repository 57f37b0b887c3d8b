"""One SparkSession per program, configured from the `spark` config section (or left to spark-submit)."""
from __future__ import annotations

import os
import sys

from pipeline.config import SparkConfig


def under_spark_submit() -> bool:
    """True when spark-submit started this Python driver (it passes the gateway port in the environment)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def session_conf(cfg: SparkConfig) -> dict[str, str]:
    conf = {
        "spark.app.name": cfg.app_name,
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(cfg.arrow_batch_rows),
        "spark.sql.execution.arrow.maxBytesPerBatch": str(cfg.arrow_batch_bytes),
        # the pipeline writes its own _SUCCESS (with a fingerprint) last; Hadoop's would mark a half-done stage
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.sql.sources.partitionOverwriteMode": "static",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
    }
    if not under_spark_submit():
        conf["spark.master"] = cfg.master
        conf["spark.driver.memory"] = cfg.driver_memory
        # executors' Python must be this interpreter (it has pyarrow and this package); a bare `python3` does not
        conf["spark.pyspark.python"] = os.environ.get("PYSPARK_PYTHON", sys.executable)
        conf["spark.pyspark.driver.python"] = sys.executable
    conf.update(cfg.conf)
    return conf


def get_session(cfg: SparkConfig):
    """The active session if there is one (tests, spark-submit), otherwise a new one built from `cfg`."""
    from pyspark.sql import SparkSession

    if not under_spark_submit():
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in session_conf(cfg).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # getOrCreate keeps an existing session's static settings; the per-query ones still apply
    for key in ("spark.sql.shuffle.partitions", "spark.sql.execution.arrow.maxRecordsPerBatch",
                "spark.sql.execution.arrow.maxBytesPerBatch"):
        spark.conf.set(key, session_conf(cfg)[key])
    return spark
