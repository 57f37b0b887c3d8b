"""One SparkSession per program, configured from the `spark` config section (or left to spark-submit)."""
from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from pipeline.config import SparkConfig

QUIET_LOG4J = "log4j2-quiet.properties"
# the settings get_session applies to a session that already exists (the others are fixed when it starts)
PER_QUERY_SETTINGS = ("spark.sql.shuffle.partitions", "spark.sql.execution.arrow.maxRecordsPerBatch",
                      "spark.sql.execution.arrow.maxBytesPerBatch")


def under_spark_submit() -> bool:
    """True when spark-submit started this Python driver (it passes the gateway port in the environment)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def quiet_log_file() -> Path | None:
    """The shipped log4j2 file as a real path (None inside a zip, e.g. dist/pipeline.zip: the JVM cannot read it)."""
    found = resources.files("pipeline.spark").joinpath(QUIET_LOG4J)
    return found if isinstance(found, Path) and found.is_file() else None


def quiet_levels() -> dict[str, str]:
    """logger name -> level, as the shipped log4j2 file sets them (read from it, so the two never disagree)."""
    props = {}
    for line in resources.files("pipeline.spark").joinpath(QUIET_LOG4J).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().startswith("logger."):
            props[key.strip()] = value.strip()
    return {props[f"{key[:-len('.level')]}.name"]: level.upper()
            for key, level in props.items() if key.endswith(".level") and f"{key[:-len('.level')]}.name" in props}


def session_conf(cfg: SparkConfig, verbose: bool = False) -> dict[str, str]:
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
    log_file = quiet_log_file()
    if not verbose and not under_spark_submit() and log_file is not None:
        # read when the driver JVM starts, so it also quiets what Spark says before any Python code could
        options = conf.get("spark.driver.extraJavaOptions", "")
        if "log4j2.configurationFile" not in options:  # a file the user chose wins
            conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={log_file.as_uri()} {options}".strip()
    return conf


def quiet_spark_logs(spark) -> None:
    """Set the shipped file's logger levels in a running JVM (spark-submit's, or a session that already exists)."""
    jvm = spark.sparkContext._jvm
    log4j = jvm.org.apache.logging.log4j
    for name, level in quiet_levels().items():
        log4j.core.config.Configurator.setLevel(name, log4j.Level.toLevel(level))


def get_session(cfg: SparkConfig, verbose: bool = False):
    """The active session if there is one (tests, spark-submit), otherwise a new one built from `cfg`. Unless
    verbose, Spark's startup and planning chatter is left out of the driver's log (see log4j2-quiet.properties)."""
    from pyspark.sql import SparkSession

    if not under_spark_submit():
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    conf = session_conf(cfg, verbose)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if not verbose:
        quiet_spark_logs(spark)
    # getOrCreate keeps an existing session's static settings; the per-query ones still apply
    for key in PER_QUERY_SETTINGS:
        spark.conf.set(key, conf[key])
    return spark
