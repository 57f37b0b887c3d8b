"""Rust samples: prompt + completion + the #[cfg(test)] module built with `rustc --test`, then run; both sandboxed."""
from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from evaluation import sandbox
from evaluation.executors import (
    COMPILE,
    CRASHED,
    EXITED,
    FAILED,
    MEMORY,
    PASSED,
    TIMEOUT,
    Executor,
    Result,
    ToolchainMissing,
    last_line,
    signal_detail,
)

# rustc and its linker need far more memory, time and processes than the tests they build
COMPILE_LIMITS = sandbox.Limits(wall_seconds=120, cpu_seconds=120, memory_bytes=8 << 30, file_bytes=256 << 20,
                                processes=64)
DEFAULT_EDITION = "2021"
_SUMMARY = re.compile(r"^test result: ok\. (\d+) passed; 0 failed;")
_EDITION_REFUSED = re.compile(r"latest edition supported by this Rust version|edition \d+ is unstable|"
                              r"argument for `--edition` must be one of")
_OK = re.compile(r"^test (\S+) \.\.\. ok$")


def program(problem, completion: str, nonce: str = "") -> str:
    """The crate: HumanEval-Rust's prompt ends inside the function signature's brace; the tests are a test module.
    With a nonce, one more test named by it: the run must report it ok, which a program cannot know to forge."""
    crate = f"{problem.prompt}{completion}\n\n{problem.test}\n"
    if nonce:
        crate += f"\n#[cfg(test)]\nmod {nonce_module(nonce)} {{\n    #[test]\n    fn finished() {{}}\n}}\n"
    return crate


def nonce_module(nonce: str) -> str:
    """libtest runs tests sorted by name: a non-ASCII first letter sorts after every ASCII test path, so the nonce
    test runs last."""
    return f"\u03c9_nonce_{nonce}"


def finished(stdout: str, nonce: str) -> bool:
    """The test binary ran to its end: libtest's summary is the last line, the nonce test's ok comes right before
    it, and the summary counts every test that reported ok."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    summary = _SUMMARY.match(lines[-1]) if lines else None
    if not summary or lines[-2:-1] != [f"test {nonce_module(nonce)}::finished ... ok"]:
        return False
    return sum(1 for line in lines if _OK.match(line)) == int(summary.group(1))


@functools.lru_cache(maxsize=1)
def toolchain() -> tuple[str, str] | None:
    """(rustc inside the sysroot, sysroot) of the rustc on PATH or in ~/.cargo/bin, or None when there is none."""
    rustc = shutil.which("rustc") or shutil.which("rustc", path=str(Path.home() / ".cargo" / "bin"))
    if not rustc:
        return None
    try:
        sysroot = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=60,
                                 check=True).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return None
    real = os.path.join(sysroot, "bin", "rustc")
    return (real, sysroot) if os.path.isfile(real) else None


def classify_test_run(outcome: sandbox.Outcome, nonce: str) -> tuple[str, str]:
    out = outcome.stdout + outcome.stderr
    if outcome.timed_out:
        return TIMEOUT, "wall-clock limit"
    if outcome.returncode == 0:
        if finished(outcome.stdout, nonce):
            return PASSED, ""
        return EXITED, "exit status 0 before the tests finished (no complete test summary)"
    if "memory allocation of" in out or "capacity overflow" in out:
        return MEMORY, next(line for line in out.splitlines() if "memory allocation of" in line
                            or "capacity overflow" in line)[:300]
    if outcome.signal == 24:  # SIGXCPU
        return TIMEOUT, "CPU-time limit (SIGXCPU)"
    if outcome.returncode == 101 and "panicked at" in out:
        panic = [line for line in out.splitlines() if "panicked at" in line or "assertion" in line]
        return FAILED, (panic[-1] if panic else last_line(out))[:300]
    return CRASHED, signal_detail(outcome) or last_line(out) or f"exit status {outcome.returncode}"


class RustExecutor(Executor):
    language = "rust"

    def available(self) -> tuple[bool, str]:
        if toolchain() is None:
            return False, "Rust toolchain missing: no rustc on PATH or in ~/.cargo/bin (install it with rustup)"
        if shutil.which("cc") is None:
            return False, "Rust toolchain missing: rustc needs a linker and `cc` is not installed (apt-get install gcc)"
        ok, why = sandbox.available()
        return (True, "") if ok else (False, f"sandbox unavailable: {why}")

    def check(self, problem, completion: str, limits: sandbox.Limits, slot: int = 0) -> Result:
        tools = toolchain()
        if tools is None:
            raise ToolchainMissing(self.available()[1])
        rustc, sysroot = tools
        edition = str((problem.extra or {}).get("edition") or DEFAULT_EDITION)
        nonce = secrets.token_hex(16)
        with sandbox.Sandbox(slot, ro_paths=(sysroot,)) as box:
            src = box.write("main.rs", program(problem, completion, nonce))
            built = box.run([rustc, "--test", f"--edition={edition}", "-C", "opt-level=1", "-C", "codegen-units=1",
                             "--cap-lints=allow", "-o", f"{sandbox.INSIDE}/tests", src],
                            replace(COMPILE_LIMITS, processes=max(COMPILE_LIMITS.processes, limits.processes)))
            if built.timed_out:
                return Result(TIMEOUT, "compile: wall-clock limit", round(built.seconds, 4))
            if built.returncode != 0 and _EDITION_REFUSED.search(built.stderr):
                # every sample of this edition would "fail to compile": a toolchain problem, not the model's
                raise ToolchainMissing(f"{rustc} cannot build edition {edition} crates (Debian bookworm: apt-get "
                                       f"install -y rustc-web; elsewhere: rustup update)")
            if built.returncode != 0:
                errors = [line for line in built.stderr.splitlines() if line.startswith("error")]
                return Result(COMPILE, (errors[0] if errors else last_line(built.stderr))[:300],
                              round(built.seconds, 4))
            ran = box.run([f"{sandbox.INSIDE}/tests", "--test-threads=1"], limits)
        status, detail = classify_test_run(ran, nonce)
        return Result(status, detail, round(built.seconds + ran.seconds, 4))
