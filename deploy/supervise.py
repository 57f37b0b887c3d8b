"""Start `python -m deploy serve` as a child process, wait for its /health with a deadline, stop it with SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on host now (the server binds it a moment later; a collision fails its start with a reason)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _health(url: str) -> str | None:
    """None when GET url answers 200 {"status": "ok"}; else what it answered instead."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            body = r.read()
            if json.loads(body).get("status") == "ok":
                return None
            return f"HTTP {r.status} {body[:200]!r}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} {e.read()[:200]!r}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return str(getattr(e, "reason", e))


class ServerProcess:
    """One server: `with ServerProcess(model, port, log=path) as s:` is ready at s.url inside, stopped after."""

    def __init__(self, model: str | Path, port: int, host: str = "127.0.0.1", args: tuple[str, ...] = (),
                 log: str | Path = "serve.log", deadline_s: float = 120.0, env: dict | None = None):
        self.model, self.port, self.host, self.args = str(model), port, host, tuple(args)
        self.log, self.deadline_s = Path(log), deadline_s
        self.env = {**os.environ, **(env or {})}
        self.url = f"http://{host}:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "deploy", "serve", "--model", self.model, "--port", str(self.port),
               "--host", self.host, *self.args]
        with open(self.log, "wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        self.wait_healthy()
        return self

    def wait_healthy(self) -> float:
        """Seconds until GET /health answered ok; raises with what was awaited, the last answer and the log."""
        start, health = time.monotonic(), f"{self.url}/health"
        last = "no answer yet"
        while time.monotonic() - start < self.deadline_s:
            code = self.proc.poll()
            if code is not None:
                raise RuntimeError(f"the server exited with status {code} before GET {health} answered "
                                   f"(log {self.log}):\n{_tail(self.log)}")
            last = _health(health)
            if last is None:
                return time.monotonic() - start
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"waited {self.deadline_s:g} s for GET {health} to answer 200 {{\"status\": \"ok\"}}; "
                           f"last answer: {last} (log {self.log}):\n{_tail(self.log)}")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then wait for the graceful shutdown; SIGKILL (and a RuntimeError) if it does not end in time.
        Returns the exit status (0 after a clean stop)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the server and anything it started
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise RuntimeError(f"the server did not stop within {timeout_s:.0f} s of SIGTERM; killed "
                               f"(log {self.log}):\n{_tail(self.log)}") from None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
