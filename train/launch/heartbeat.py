"""The trainer's heartbeat file: rank 0 rewrites <run>/heartbeat.json after every step; supervisors read it."""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from common.atomic import write_atomic

NAME = "heartbeat.json"
PHASES = ("starting", "training", "done")


@dataclass(frozen=True)
class Beat:
    phase: str        # starting (loading data, model, checkpoint), training, done (last step taken, exported)
    step: int         # optimizer steps completed
    total: int        # steps the run is configured for
    time: float       # writer's wall clock (unix seconds): readers on other machines compare steps, not clocks
    host: str
    pid: int


def beat(run_dir: str | Path, phase: str, step: int, total: int) -> None:
    """Write atomically (rename) so a reader never sees half a file."""
    if phase not in PHASES:
        raise ValueError(f"phase {phase!r} is not one of {PHASES}")
    write_atomic(Path(run_dir) / NAME, json.dumps(asdict(Beat(phase, step, total, time.time(), socket.gethostname(),
                                                               os.getpid()))), durable=False)


def read(run_dir: str | Path) -> Beat | None:
    """The last beat, or None when there is none yet (or it cannot be parsed: a writer on a broken disk)."""
    try:
        return Beat(**json.loads((Path(run_dir) / NAME).read_text()))
    except (OSError, ValueError, TypeError):
        return None
