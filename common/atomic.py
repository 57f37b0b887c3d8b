"""Whole-file writes a reader never sees half done: write a temporary file beside the target, then rename it."""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | Path, text: str, durable: bool = True) -> None:
    """durable: fsync before the rename, so the new content survives a crash (markers, state); off for files
    rewritten every step whose loss costs nothing (a heartbeat)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")  # per process: two writers never share a temporary
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
