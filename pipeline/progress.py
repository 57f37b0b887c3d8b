"""What a run tells its user while it works: a line as each stage starts and ends, and a live task bar with an ETA."""
from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from tqdm import tqdm

PREFIX = "[pipeline]"
TTY_TICK_S = 0.5  # a terminal line is redrawn this often
POLL_TICK_S = 1.0  # elsewhere the tasks are still polled this often, so the rate (and ETA) stays right
PLAIN_EVERY_S = 30.0  # and a plain line is printed at most this often (Airflow task logs, CI)


@dataclass(frozen=True)
class Tasks:
    """The tasks of the Spark stages running now; key names those stages (a new set restarts the rate)."""
    done: int
    total: int
    running: int
    key: tuple = ()


def stage_label(name: str, index: int, count: int) -> str:
    return f"stage {index}/{count} {name}"


def started_line(label: str) -> str:
    return f"{PREFIX} {label}: started"


def finished_line(label: str, result) -> str:
    """The end of a stage from its StageResult: rows in, kept, rejected, MB in, seconds and MB/s."""
    rows = f"{result.rows_in:,} rows in, {result.kept:,} kept, {result.rejected:,} rejected"
    if result.status == "skipped":
        return f"{PREFIX} {label}: skipped (finished, same fingerprint): {rows}, {result.mb_in:.1f} MB in"
    speed = f"{result.mb_in / result.seconds:.1f} MB/s" if result.seconds > 0 else "- MB/s"
    return f"{PREFIX} {label}: done in {result.seconds:.1f} s: {rows}, {result.mb_in:.1f} MB in, {speed}"


def pass_stage_line(label: str, result) -> str:
    """One stage of a row pass: its rows (its seconds are the pass's, on the pass's own line)."""
    state = "skipped (finished, same fingerprint)" if result.status == "skipped" else "done in the pass"
    return f"{PREFIX} {label}: {state}: {result.rows_in:,} rows in, {result.kept:,} kept, {result.rejected:,} rejected"


def _pass_total(results):
    """A row pass as one result for its end line: rows and MB in of its first stage, kept of its last, all rejects."""
    from types import SimpleNamespace

    return SimpleNamespace(status=results[-1].status, rows_in=results[0].rows_in, kept=results[-1].kept,
                           rejected=sum(r.rejected for r in results), mb_in=results[0].mb_in,
                           seconds=sum(r.seconds for r in results))


def failed_line(label: str, seconds: float, error: BaseException) -> str:
    return f"{PREFIX} {label}: failed after {seconds:.1f} s ({type(error).__name__})"


def phase_done_line(label: str, seconds: float) -> str:
    return f"{PREFIX} {label}: done in {seconds:.1f} s"


def interval(seconds: float | None) -> str:
    return "?" if seconds is None else tqdm.format_interval(seconds)


def bar_line(label: str, tasks: Tasks | None, elapsed: float, eta: float | None, width: int) -> str:
    """The one terminal line: bar, tasks done/total of the running Spark stages, the stage's elapsed time, ETA."""
    if tasks is None:
        line = f"{label}: {interval(elapsed)} elapsed, no Spark tasks running"
    else:
        bar = tqdm.format_meter(tasks.done, tasks.total, elapsed, ascii=True,
                                bar_format="{percentage:3.0f}%|{bar:20}|")
        line = (f"{label} {bar} {tasks.done:,}/{tasks.total:,} tasks, {tasks.running} running, "
                f"{interval(elapsed)} elapsed, ETA {interval(eta)}")
    return line[:max(width, 1)]


def plain_line(label: str, tasks: Tasks | None, elapsed: float, eta: float | None) -> str:
    """The same news as a log line, for a stream that is not a terminal."""
    if tasks is None:
        return f"{PREFIX} {label}: {interval(elapsed)} elapsed, no Spark tasks running"
    return (f"{PREFIX} {label}: {tasks.done:,}/{tasks.total:,} tasks done, {tasks.running} running, "
            f"{interval(elapsed)} elapsed, ETA {interval(eta)}")


def terminal_width(stream, fallback: int = 100) -> int:
    """Columns of the terminal `stream` writes to (a line longer than that wraps, and \\r no longer redraws it)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return fallback


class Eta:
    """Seconds left for the tasks of the running Spark stages, at the rate they have finished since first seen."""

    def __init__(self):
        self.key, self.since, self.done_then = None, 0.0, 0

    def update(self, tasks: Tasks, now: float) -> float | None:
        if tasks.key != self.key:
            self.key, self.since, self.done_then = tasks.key, now, tasks.done
            return None
        rate = (tasks.done - self.done_then) / (now - self.since) if now > self.since else 0.0
        return (tasks.total - tasks.done) / rate if rate > 0 else None


class TaskBar:
    """While a stage runs, polls `tasks` from a daemon thread: on a terminal it redraws one line with \\r, elsewhere
    it prints a plain line at most every `every` seconds. `update(now)` is one poll, callable without the thread."""

    def __init__(self, label: str, tasks: Callable[[], Tasks | None], stream, tty: bool | None = None,
                 every: float = PLAIN_EVERY_S, clock: Callable[[], float] = time.monotonic):
        self.label, self.tasks, self.stream, self.every, self.clock = label, tasks, stream, every, clock
        self.tty = stream.isatty() if tty is None else tty
        self.started = self.last_plain = clock()
        self.eta = Eta()
        self.drawn = 0  # characters of the terminal line now on screen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, now: float) -> str | None:
        """Poll once; returns what was written, or None when the plain line is not due yet."""
        tasks = self.tasks()
        eta = self.eta.update(tasks, now) if tasks is not None else None
        elapsed = now - self.started
        if self.tty:
            line = bar_line(self.label, tasks, elapsed, eta, terminal_width(self.stream) - 1)
            self.stream.write("\r" + line.ljust(self.drawn))
            self.stream.flush()
            self.drawn = len(line)
            return line
        if now - self.last_plain < self.every:
            return None
        self.last_plain = now
        line = plain_line(self.label, tasks, elapsed, eta)
        print(line, file=self.stream, flush=True)
        return line

    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, name=f"progress {self.label}", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(TTY_TICK_S if self.tty else POLL_TICK_S):
            try:
                self.update(self.clock())
            except Exception:  # noqa: BLE001 - the bar is only a view: a JVM going away mid-poll ends it, not the run
                return

    def stop(self) -> None:
        """Stop the thread and wait for it, then wipe the terminal line so the next line starts clean."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.tty and self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0


class Quiet:
    """The runner's default, for library callers and tests: says nothing."""

    @contextlib.contextmanager
    def stage(self, name: str, index: int, count: int) -> Iterator[Callable]:
        yield lambda result: None

    def phase(self, label: str):
        return contextlib.nullcontext()


class Printed:
    """Lines on `stream` (the CLI gives stderr, so stdout keeps --json clean) as each stage starts and ends, and a
    TaskBar over `tasks` (the running Spark tasks; None: no bar) while it runs."""

    def __init__(self, stream, tasks: Callable[[], Tasks | None] | None = None, tty: bool | None = None,
                 every: float = PLAIN_EVERY_S):
        self.stream, self.tasks, self.tty, self.every = stream, tasks, tty, every

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    @contextlib.contextmanager
    def _watched(self, label: str) -> Iterator[float]:
        """Start line and bar; the bar always stops, and a failure gets its own line before it propagates."""
        self._print(started_line(label))
        t0 = time.monotonic()
        bar = TaskBar(label, self.tasks, self.stream, self.tty, self.every) if self.tasks else None
        if bar:
            bar.start()
        try:
            yield t0
        except BaseException as error:
            if bar:
                bar.stop()
            self._print(failed_line(label, time.monotonic() - t0, error))
            raise
        if bar:
            bar.stop()

    @contextlib.contextmanager
    def stage(self, name: str, index: int, count: int) -> Iterator[Callable]:
        """Yields report(results): the runner hands over the StageResults of the stage (or of each stage of a row
        pass, `name` then being 'first..last'), printed as end lines."""
        label = stage_label(name, index, count)
        reported: list = []
        with self._watched(label):
            yield reported.append
        results = reported[-1]
        if len(results) == 1:
            self._print(finished_line(label, results[0]))
            return
        for k, result in enumerate(results):
            self._print(pass_stage_line(stage_label(result.name, index + k, count), result))
        self._print(finished_line(label, _pass_total(results)))

    @contextlib.contextmanager
    def phase(self, label: str) -> Iterator[None]:
        """A step after the stages (the rejects table, the data portrait): start and end lines, and the bar."""
        with self._watched(label) as t0:
            yield
        self._print(phase_done_line(label, time.monotonic() - t0))
