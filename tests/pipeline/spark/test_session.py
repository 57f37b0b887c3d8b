"""Quiet Spark logs: the shipped log4j2 file reaches a JVM the pipeline starts, its levels reach a running one, and
--verbose (or a file the user chose) leaves Spark's own settings alone."""
from __future__ import annotations

import pytest

from pipeline.config import SparkConfig
from pipeline.spark.session import quiet_levels, quiet_log_file, session_conf

QUIETED = ["org.apache.hadoop.util.NativeCodeLoader", "org.apache.spark.util.SparkStringUtils",
           "org.apache.spark.sql.catalyst.util.StringUtils"]


def test_quiet_levels_come_from_the_shipped_file():
    levels = quiet_levels()
    assert {name: levels[name] for name in QUIETED} == dict.fromkeys(QUIETED, "ERROR")
    assert "org.apache.spark.util.Utils" not in levels  # only two of its messages are filtered, in the file itself
    assert set(levels.values()) <= {"WARN", "ERROR"}  # nothing quieter than ERROR: real errors stay visible


def test_a_jvm_the_pipeline_starts_reads_the_file_unless_verbose(monkeypatch):
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    flag = f"-Dlog4j2.configurationFile={quiet_log_file().as_uri()}"
    assert session_conf(SparkConfig())["spark.driver.extraJavaOptions"] == flag
    assert "spark.driver.extraJavaOptions" not in session_conf(SparkConfig(), verbose=True)
    own = SparkConfig(conf={"spark.driver.extraJavaOptions": "-Xss4m"})
    assert session_conf(own)["spark.driver.extraJavaOptions"] == f"{flag} -Xss4m"
    chosen = SparkConfig(conf={"spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=/etc/mine.properties"})
    assert session_conf(chosen)["spark.driver.extraJavaOptions"] == "-Dlog4j2.configurationFile=/etc/mine.properties"


def test_under_spark_submit_the_jvm_is_already_running(monkeypatch):
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "12345")
    assert "spark.driver.extraJavaOptions" not in session_conf(SparkConfig())


@pytest.mark.spark
def test_the_running_jvm_has_the_quiet_levels_and_the_startup_filter(spark):
    log4j = spark.sparkContext._jvm.org.apache.logging.log4j
    for name in QUIETED:
        assert log4j.LogManager.getLogger(name).getLevel().toString() == "ERROR"
    assert log4j.LogManager.getLogger("org.apache.spark.util.Utils").isEnabled(log4j.Level.WARN)
    # the session fixture's JVM was started by get_session, so it read the shipped file: its Utils filter drops the
    # loopback-hostname warning and lets other Utils warnings through
    config = log4j.LogManager.getContext(False).getConfiguration().getLoggerConfig("org.apache.spark.util.Utils")

    def verdict(text: str) -> str:
        event = log4j.core.impl.Log4jLogEvent.newBuilder().setLoggerName("org.apache.spark.util.Utils") \
            .setLevel(log4j.Level.WARN).setMessage(log4j.message.SimpleMessage(text)).build()
        return config.getFilter().filter(event).toString()

    assert verdict("Your hostname, vm, resolves to a loopback address: 127.0.0.1; using 10.0.0.2 instead") == "DENY"
    assert verdict("Service 'SparkUI' could not bind on port 4040. Attempting port 4041.") == "DENY"
    assert verdict("Failed to delete the temporary folder /tmp/x") == "NEUTRAL"
