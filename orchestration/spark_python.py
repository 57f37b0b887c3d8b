"""Which Python the data DAG's spark-submits run: the Airflow worker's own, or a packed env shipped with --archives."""
from __future__ import annotations

import os
from urllib.parse import urlparse

ALIAS = "environment"  # the folder each executor unpacks the archive into (its work dir), as `make submit` names it
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def submit_settings(python: str, archive: str | None) -> dict:
    """SparkSubmitOperator keyword arguments (env_vars, conf, archives).

    Without an archive the driver and the executors run `python` (a local master, or workers that share the
    worker's image). With one (scripts/pack_env.py's output: a local path, or hdfs://, s3a://, ... on a cluster)
    each executor unpacks it as ./environment and runs its Python, and the driver (client mode) keeps `python`."""
    if not archive:
        return {"env_vars": {"PYSPARK_PYTHON": python}, "conf": {"spark.pyspark.python": python}, "archives": None}
    return {"env_vars": {"PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python},
            "conf": {"spark.pyspark.python": f"./{ALIAS}/bin/python", "spark.pyspark.driver.python": python},
            "archives": f"{archive}#{ALIAS}"}


def archive_problem(archive: str | None) -> str | None:
    """Why the configured archive cannot be shipped (None when it can, or when none is configured).

    Only a local file is checked for existence; a remote URI is the cluster's to resolve."""
    if not archive:
        return None
    if "#" in archive:
        return f"PIPELINE_PYTHON_ARCHIVE={archive!r}: give the archive alone; the DAG adds '#{ALIAS}'"
    if not archive.endswith(ARCHIVE_SUFFIXES):
        return f"PIPELINE_PYTHON_ARCHIVE={archive!r}: not a .tar.gz, .tgz, .tar or .zip archive"
    url = urlparse(archive)
    if url.scheme in ("", "file") and not os.path.isfile(url.path):
        return (f"PIPELINE_PYTHON_ARCHIVE={archive!r} is not a file: build it with "
                f"`python scripts/pack_env.py --out {archive}` (or `make dist`)")
    return None
