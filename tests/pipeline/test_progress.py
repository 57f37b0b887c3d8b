"""Progress lines and the task bar: each stage's start and end line, bar and ETA text, non-terminal throttling, and a
poll thread that always stops, without Spark."""
from __future__ import annotations

import io
import threading
import time

import pytest

from pipeline.progress import (
    Eta,
    Printed,
    Quiet,
    TaskBar,
    Tasks,
    bar_line,
    failed_line,
    finished_line,
    plain_line,
    stage_label,
)
from pipeline.runner import StageResult


def result(status="ran", seconds=18.5, **kw) -> StageResult:
    values = dict(name="ingest", status=status, path="p", kept_table="k", rejected_table="r", fingerprint="f",
                  rows_in=26684, kept=11438, rejected=15246, mb_in=1622.0, mb_kept=170.0, seconds=seconds)
    return StageResult(**{**values, **kw})


def test_end_line_of_a_stage_that_ran_has_its_counts_and_speed():
    assert finished_line(stage_label("ingest", 1, 11), result()) == (
        "[pipeline] stage 1/11 ingest: done in 18.5 s: 26,684 rows in, 11,438 kept, 15,246 rejected, "
        "1622.0 MB in, 87.7 MB/s")
    # a stage faster than the runner's clock rounds to has no speed rather than a division by zero
    assert finished_line("filter", result(seconds=0.0)).endswith("1622.0 MB in, - MB/s")


def test_end_line_of_a_skipped_stage_says_why_and_keeps_its_counts():
    assert finished_line("stage 2/3 filter", result(status="skipped", seconds=0.0)) == (
        "[pipeline] stage 2/3 filter: skipped (finished, same fingerprint): 26,684 rows in, 11,438 kept, "
        "15,246 rejected, 1622.0 MB in")


def test_failed_line_names_the_error_type():
    assert failed_line("stage 3/3 near", 12.34, ValueError("x")) == "[pipeline] stage 3/3 near: failed after 12.3 s " \
                                                                     "(ValueError)"


def test_bar_line_shows_bar_tasks_elapsed_and_eta():
    line = bar_line("stage 2/11 filter", Tasks(45, 100, 4), elapsed=83.0, eta=40.0, width=200)
    assert line == "stage 2/11 filter  45%|#########           | 45/100 tasks, 4 running, 01:23 elapsed, ETA 00:40"
    full = bar_line("s", Tasks(7, 7, 0), elapsed=3700.0, eta=None, width=200)
    assert "100%|####################| 7/7 tasks" in full and full.endswith("1:01:40 elapsed, ETA ?")
    assert bar_line("s", None, elapsed=5.0, eta=None, width=200) == "s: 00:05 elapsed, no Spark tasks running"
    assert len(bar_line("stage 2/11 filter", Tasks(1, 2, 1), 1.0, 1.0, width=30)) == 30  # never wraps the terminal


def test_plain_line_is_a_log_line_without_a_bar():
    assert plain_line("stage 4/11 privacy", Tasks(1200, 4000, 2), 95.0, 230.0) == (
        "[pipeline] stage 4/11 privacy: 1,200/4,000 tasks done, 2 running, 01:35 elapsed, ETA 03:50")
    assert plain_line("x", None, 30.0, None) == "[pipeline] x: 00:30 elapsed, no Spark tasks running"


def test_eta_uses_the_rate_since_the_running_stages_were_first_seen_and_restarts_with_new_ones():
    eta = Eta()
    assert eta.update(Tasks(10, 100, 2, key=(3,)), now=100.0) is None  # first sight: no rate yet
    assert eta.update(Tasks(10, 100, 2, key=(3,)), now=105.0) is None  # nothing finished: no rate
    assert eta.update(Tasks(30, 100, 2, key=(3,)), now=110.0) == pytest.approx(35.0)  # 20 tasks / 10 s, 70 left
    assert eta.update(Tasks(0, 8, 2, key=(4,)), now=111.0) is None  # the next Spark stage: its own rate
    assert eta.update(Tasks(4, 8, 2, key=(4,)), now=113.0) == pytest.approx(2.0)


class Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_off_a_terminal_a_plain_line_comes_at_most_every_30_s():
    stream, clock = io.StringIO(), Clock(1000.0)
    bar = TaskBar("stage 1/2 ingest", lambda: Tasks(3, 10, 2), stream, tty=False, clock=clock)
    assert [bar.update(t) for t in (1001.0, 1029.9)] == [None, None]  # a short stage prints nothing extra
    assert bar.update(1030.0) == "[pipeline] stage 1/2 ingest: 3/10 tasks done, 2 running, 00:30 elapsed, ETA ?"
    assert bar.update(1050.0) is None
    assert bar.update(1060.5) is not None
    assert stream.getvalue().count("\n") == 2 and "\r" not in stream.getvalue()


def test_on_a_terminal_the_line_is_redrawn_in_place_and_wiped_at_the_end():
    stream = io.StringIO()
    polls = iter([Tasks(1, 4, 2, key=(0,)), None])
    bar = TaskBar("s", lambda: next(polls), stream, tty=True, clock=Clock(0.0))
    long_line = bar.update(2.0)
    short_line = bar.update(3.0)
    assert long_line.startswith("s  25%|#####") and short_line == "s: 00:03 elapsed, no Spark tasks running"
    # the shorter line is padded over the longer one, then the line is blanked for the next printed line
    assert stream.getvalue() == "\r" + long_line + "\r" + short_line.ljust(len(long_line))
    bar.stop()
    assert stream.getvalue().endswith("\r" + " " * len(short_line) + "\r")


def progress_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("progress ")]


def test_the_poll_thread_runs_during_a_stage_and_stops_when_it_ends():
    polled = threading.Event()

    def tasks():
        polled.set()
        return Tasks(1, 2, 1)

    stream = io.StringIO()
    printed = Printed(stream, tasks, tty=True)
    with printed.stage("ingest", 1, 2) as report:
        assert polled.wait(10), "the bar never polled while the stage ran"
        assert len(progress_threads()) == 1 and progress_threads()[0].daemon
        report([result()])
    assert progress_threads() == []
    lines = stream.getvalue().split("\n")
    assert lines[0] == "[pipeline] stage 1/2 ingest: started"
    assert "1/2 tasks, 1 running" in lines[1]  # the redrawn bar, wiped before the end line
    assert lines[1].endswith("\r[pipeline] stage 1/2 ingest: done in 18.5 s: 26,684 rows in, 11,438 kept, "
                             "15,246 rejected, 1622.0 MB in, 87.7 MB/s")


def test_a_row_pass_prints_each_stage_then_the_pass_with_its_seconds():
    stream = io.StringIO()
    with Printed(stream, None).stage("filter..quality", 2, 11) as report:
        report([result(name="filter", seconds=0.0, kept=20000, rejected=6684, kept_table=None),
                result(name="quality", rows_in=20000, kept=19000, rejected=1000, mb_in=1500.0, seconds=30.0)])
    assert stream.getvalue().splitlines() == [
        "[pipeline] stage 2/11 filter..quality: started",
        "[pipeline] stage 2/11 filter: done in the pass: 26,684 rows in, 20,000 kept, 6,684 rejected",
        "[pipeline] stage 3/11 quality: done in the pass: 20,000 rows in, 19,000 kept, 1,000 rejected",
        "[pipeline] stage 2/11 filter..quality: done in 30.0 s: 26,684 rows in, 19,000 kept, 7,684 rejected, "
        "1622.0 MB in, 54.1 MB/s"]


def test_a_failing_stage_stops_the_thread_prints_why_and_raises():
    stream = io.StringIO()
    with pytest.raises(KeyError):
        with Printed(stream, lambda: None, tty=False).stage("near", 8, 11):
            raise KeyError("boom")
    assert progress_threads() == []
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[pipeline] stage 8/11 near: started"
    assert lines[1].startswith("[pipeline] stage 8/11 near: failed after ") and lines[1].endswith(" s (KeyError)")


def test_a_bar_whose_poll_breaks_ends_quietly_and_the_stage_still_reports():
    calls = []

    def broken():
        calls.append(1)
        raise ConnectionError("the JVM went away")

    stream = io.StringIO()
    with Printed(stream, broken, tty=True).phase("rejects table and data portrait"):
        deadline = time.monotonic() + 10
        while (not calls or progress_threads()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls and progress_threads() == []  # polled once, met the error, ended
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0] == "[pipeline] rejects table and data portrait: started"
    assert lines[1].startswith("[pipeline] rejects table and data portrait: done in ") and len(calls) == 1


def test_quiet_says_nothing_and_takes_the_result(capsys):
    with Quiet().stage("ingest", 1, 1) as report:
        report([result()])
    with Quiet().phase("rejects table and data portrait"):
        pass
    assert capsys.readouterr() == ("", "")
    assert progress_threads() == []
