"""The executor interface: check(problem, completion, limits) -> Result, and available() -> (ok, why), per language."""
from __future__ import annotations

from dataclasses import dataclass

from evaluation.sandbox import Limits, Outcome

# a sample's status: why it passed or failed
PASSED = "passed"
FAILED = "failed"        # the tests ran and an assertion failed
TIMEOUT = "timeout"      # wall clock or CPU limit
MEMORY = "memory"        # the address-space limit
SYNTAX = "syntax"        # Python could not parse the program
COMPILE = "compile"      # a compiled language's compiler refused the program
CRASHED = "crashed"      # any other error: an exception, a signal, a refused fork
EXITED = "exited"        # the program ended (sys.exit, SystemExit, os._exit, process::exit) before its tests finished
STATUSES = (PASSED, FAILED, TIMEOUT, MEMORY, SYNTAX, COMPILE, CRASHED, EXITED)


@dataclass(frozen=True)
class Result:
    status: str
    detail: str      # the last line that explains the status (an exception, a signal, a compiler error)
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == PASSED


class ToolchainMissing(RuntimeError):
    """Samples of a language cannot run here: its toolchain or the sandbox is missing (available() says why)."""


class Executor:
    """One language. Subclasses set `language` and implement available() and check()."""

    language = ""

    def available(self) -> tuple[bool, str]:
        raise NotImplementedError

    def check(self, problem, completion: str, limits: Limits, slot: int = 0) -> Result:
        raise NotImplementedError


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def signal_detail(outcome: Outcome) -> str | None:
    """'killed by signal N (NAME)' when a signal ended the run, else None."""
    import signal

    if outcome.signal is None:
        return None
    num = outcome.signal
    try:
        name = signal.Signals(num).name
    except ValueError:
        name = "?"
    return f"killed by signal {num} ({name})"


def executor_for(language: str) -> Executor:
    """The executor of a language (case-insensitive); ValueError naming the known ones otherwise."""
    from evaluation.executors.python import PythonExecutor
    from evaluation.executors.rust import RustExecutor

    known = {e.language: e for e in (PythonExecutor(), RustExecutor())}
    try:
        return known[language.lower()]
    except KeyError:
        raise ValueError(f"no executor for language {language!r}; known: {', '.join(sorted(known))}") from None
