"""The process environment of a training job: a free rendezvous port, a world of one for plain `python -m train`,
and the per-virtualenv folder of DeepSpeed's JIT-built ops."""
from __future__ import annotations

import hashlib
import os
import socket
import sys


def free_port() -> int:
    """A TCP port nobody listens on now (the rendezvous port of a one-machine job)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def single_process_env() -> None:
    """Plain `python -m train`: a world of one, as torchrun would describe it (a launcher's RANK wins)."""
    if "RANK" in os.environ:
        return
    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"})
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(free_port()))


def extensions_dir() -> str:
    """Where DeepSpeed's JIT-built ops go: one folder per Python environment, so two virtualenvs on one machine do not
    rebuild the shared default (~/.cache/torch_extensions) over each other on every start."""
    key = hashlib.sha1(sys.prefix.encode()).hexdigest()[:10]
    return os.path.join(os.path.expanduser("~"), ".cache", "codefuse-train", f"torch_extensions-{key}")
