"""Python samples: prompt + completion + tests + check(entry_point), run in the sandbox under py_driver.py."""
from __future__ import annotations

import secrets
import signal
import sys
from pathlib import Path

from evaluation import sandbox
from evaluation.executors import (
    CRASHED,
    EXITED,
    FAILED,
    MEMORY,
    PASSED,
    SYNTAX,
    TIMEOUT,
    Executor,
    Result,
    last_line,
    signal_detail,
)

_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
DRIVER = Path(__file__).with_name("py_driver.py")


def program(problem, completion: str) -> str:
    """The file the sandbox runs: HumanEval's shape (the prompt, the model's body, the tests, then the check call)."""
    return f"{problem.prompt}{completion}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


def interpreter() -> tuple[str, str]:
    """(python executable, its installation prefix): the base interpreter, not the project's virtual environment."""
    prefix = sys.base_prefix
    return f"{prefix}/bin/python{sys.version_info.major}.{sys.version_info.minor}", prefix


def classify(outcome: sandbox.Outcome, nonce: str) -> tuple[str, str]:
    """(status, detail) of one run of the driver: passed only with exit status 0 and the run's nonce on the last
    line of stdout, which the driver writes after the program (and so its check call) returned."""
    err = outcome.stderr
    if outcome.timed_out:
        return TIMEOUT, "wall-clock limit"
    if outcome.returncode == 0:
        if outcome.stdout.splitlines()[-1:] == [nonce]:
            return PASSED, ""
        return EXITED, "exit status 0 before the tests finished (no completion marker)"
    if outcome.signal == signal.SIGXCPU:
        return TIMEOUT, "CPU-time limit (SIGXCPU)"
    tail = last_line(err)
    if "MemoryError" in tail or "Cannot allocate memory" in err:
        return MEMORY, tail or "MemoryError"
    if tail.startswith("SystemExit(") and tail.endswith("before the tests finished"):
        return EXITED, tail
    if tail.split(":")[0] in _SYNTAX_ERRORS:
        return SYNTAX, tail
    if tail.startswith("AssertionError"):
        return FAILED, tail
    return CRASHED, signal_detail(outcome) or tail or f"exit status {outcome.returncode}"


class PythonExecutor(Executor):
    language = "python"

    def available(self) -> tuple[bool, str]:
        ok, why = sandbox.available()
        return (True, "") if ok else (False, f"sandbox unavailable: {why}")

    def check(self, problem, completion: str, limits: sandbox.Limits, slot: int = 0) -> Result:
        python, prefix = interpreter()
        nonce = secrets.token_hex(16)  # per run, never in the program's text
        with sandbox.Sandbox(slot, ro_paths=(prefix,)) as box:
            path = box.write("program.py", program(problem, completion))
            driver = box.write("driver.py", DRIVER.read_text(encoding="utf-8"))
            outcome = box.run([python, "-I", "-B", driver, path], limits, stdin=f"{nonce}\n".encode())
        status, detail = classify(outcome, nonce)
        return Result(status, detail, round(outcome.seconds, 4))
