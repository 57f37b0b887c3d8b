"""Spark's status tracker read as progress.Tasks: the done, total and running tasks of the Spark stages running now."""
from __future__ import annotations

from typing import Callable

from pipeline.progress import Tasks


def running_tasks(spark) -> Callable[[], Tasks | None]:
    """A poll for progress.TaskBar: None while no Spark stage runs (driver work, between jobs). A stage's jobs run
    one after another (write, then counts), so this shows the tasks of the job(s) running now."""
    tracker = spark.sparkContext.statusTracker()

    def poll() -> Tasks | None:
        infos = [info for info in map(tracker.getStageInfo, tracker.getActiveStageIds()) if info is not None]
        if not infos:
            return None
        return Tasks(done=sum(i.numCompletedTasks for i in infos), total=sum(i.numTasks for i in infos),
                     running=sum(i.numActiveTasks for i in infos), key=tuple(sorted(i.stageId for i in infos)))

    return poll
