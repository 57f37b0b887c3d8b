"""Before submitting to Slurm: run the NVML health check on every idle node of the partition (one short srun each,
in parallel) and return the unhealthy ones for sbatch --exclude. Busy nodes are not checked here; the job's own
pre-flight checks whichever nodes it gets."""
from __future__ import annotations

import json
import subprocess
from typing import Sequence

from train.launch.health import UNHEALTHY_EXIT
from train.launch.slurm import SlurmBackend, SlurmError

_FREE = ("idle", "mixed", "mix")


def free_nodes(backend: SlurmBackend) -> list[str]:
    """Nodes of the backend's partition (or all) that can start a step now."""
    argv = ["sinfo", "-h", "-N", "-o", "%N %t"] + (["-p", backend.partition] if backend.partition else [])
    r = backend._run(argv)
    if r.returncode != 0:
        raise SlurmError(f"sinfo failed (exit {r.returncode}): {r.stderr.strip()}")
    nodes = []
    for line in r.stdout.splitlines():
        name, _, state = line.strip().partition(" ")
        if name and state.rstrip("*~#!%$@^-") in _FREE and name not in nodes:
            nodes.append(name)
    return nodes


def sweep(backend: SlurmBackend, python: str, health_cmd: Sequence[str] = (), timeout_s: float = 300.0) -> dict:
    """{node: report} for every free node, and the list of unhealthy ones. A node whose check cannot start or does
    not answer is reported but not excluded (the job's pre-flight decides for the nodes it gets)."""
    cmd = list(health_cmd) or [python, "-m", "train.launch.health", "--json"]
    env = backend.command_env()
    running = {}
    for node in free_nodes(backend):
        argv = ["srun", "--nodes=1", "--ntasks=1", f"--nodelist={node}", "--immediate=60", "--time=5",
                "--job-name=codefuse-health", *(["--partition", backend.partition] if backend.partition else []),
                *cmd]
        running[node] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    reports, unhealthy = {}, []
    for node, proc in running.items():
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            reports[node] = {"checked": False, "why": f"no answer within {timeout_s:.0f} s"}
            continue
        try:
            report = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            reports[node] = {"checked": False, "why": f"srun exit {proc.returncode}: {err.strip()[-500:]}"}
            continue
        reports[node] = {"checked": True, **report}
        if proc.returncode == UNHEALTHY_EXIT or not report.get("healthy", False):
            unhealthy.append(node)
    return {"nodes": reports, "exclude": unhealthy}
