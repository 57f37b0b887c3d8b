"""Spark's status tracker as progress.Tasks: nothing while Spark is idle, the running stage's tasks while a job runs."""
from __future__ import annotations

import threading
import time

import pytest

from pipeline.spark.tasks import running_tasks

pytestmark = pytest.mark.spark


def test_tasks_of_a_running_job_then_nothing(spark):
    poll = running_tasks(spark)
    assert poll() is None
    # four tasks that each sleep 1 s inside the JVM (no Python worker to start), two at a time on local[2]
    slow = spark.range(0, 4, 1, 4).selectExpr("reflect('java.lang.Thread', 'sleep', cast(1000 as bigint)) AS s")
    job = threading.Thread(target=slow.collect)
    job.start()
    seen = []
    while job.is_alive():
        if (tasks := poll()) is not None:
            seen.append(tasks)
        time.sleep(0.1)
    job.join()
    assert seen, "never saw the job's tasks"
    assert {t.total for t in seen} == {4} and len({t.key for t in seen}) == 1
    # the tracker reads Spark's status store, which its listener bus updates behind the tasks (seconds on a busy
    # machine): a count may lag, never overshoot
    assert all(t.done >= 0 and t.running >= 0 and t.done + t.running <= 4 for t in seen), seen
    assert any(t.running or t.done for t in seen), seen  # tasks were seen starting or done mid-job
    assert poll() is None
