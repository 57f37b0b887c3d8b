"""The pipeline CLI's exit codes, and which of them no retry can fix (what an orchestrator reads to skip retries)."""
from __future__ import annotations

from collections.abc import Iterable

OK = 0
# a config key or value, an input path or a stage order the pipeline refuses (argparse's usage errors are 2 too)
CONFIG = 2
# the data contradicts itself: a stage's rows in differ from its kept + rejected rows
DATA = 3
# the same config on the same inputs fails the same way again. Every other code may pass on a retry: 1 is an
# uncaught exception (a lost executor, a Py4J error, a full disk), a JVM that cannot start or dies, a process killed
# by a signal (137 after an OOM kill), spark-submit's own failures.
PERMANENT = frozenset({CONFIG, DATA})
# the first words of the one line the CLI prints to stderr before exiting with each permanent code
PREFIXES = {CONFIG: "config error: ", DATA: "data error: "}


def is_permanent(code: int | None) -> bool:
    """True when a retry cannot help; None (no exit code known, e.g. the process never ran) is not permanent."""
    return code in PERMANENT


def error_line(lines: Iterable[str]) -> str | None:
    """The last line of a stage's output that is the CLI's permanent-error message, or None."""
    found = None
    for line in lines:
        text = line.strip()
        if text.startswith(tuple(PREFIXES.values())):
            found = text
    return found
