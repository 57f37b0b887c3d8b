"""`python -m train.launch --backend local|slurm --run-dir D [--preset P] [--set k=v ...]`: launch and supervise a
training run without Airflow (what the training DAG's submit and wait tasks do), printing each state change."""
from __future__ import annotations

import argparse
import sys
import time

from train.launch.job import JobSpec
from train.launch.supervisor import GaveUp, Policy, Supervisor


def backend_for(name: str, **options):
    if name == "local":
        from train.launch.local import LocalBackend

        return LocalBackend(**options)
    if name == "slurm":
        from train.launch.slurm import SlurmBackend

        return SlurmBackend(**options)
    raise ValueError(f"backend {name!r} is not one of local, slurm")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.launch", description=__doc__)
    p.add_argument("--backend", choices=("local", "slurm"), default="local")
    p.add_argument("--run-dir", required=True, help="the trainer's run.output (checkpoints, heartbeat, logs)")
    p.add_argument("--preset", default="debug")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="trainer override (repeatable)")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--procs-per-node", type=int, default=1, help="GPUs per node (CPU: processes)")
    p.add_argument("--max-restarts", type=int, default=Policy.max_restarts)
    p.add_argument("--hang-seconds", type=float, default=Policy.hang_seconds)
    p.add_argument("--startup-seconds", type=float, default=Policy.startup_seconds)
    p.add_argument("--poll-seconds", type=float, default=30.0)
    a = p.parse_args(argv)
    spec = JobSpec(run_dir=a.run_dir, preset=a.preset, overrides=tuple(a.set), nodes=a.nodes,
                   procs_per_node=a.procs_per_node)
    sup = Supervisor(backend_for(a.backend), spec, Policy(a.max_restarts, a.hang_seconds, a.startup_seconds))
    last = None
    while True:
        try:
            v = sup.poke()
        except GaveUp as e:
            print(f"[supervisor] gave up: {e}", file=sys.stderr, flush=True)
            return 1
        line = (v.state, v.attempt, v.step)
        if line != last:
            print(f"[supervisor] attempt {v.attempt}: {v.state} at step {v.step} - {v.detail}", flush=True)
            last = line
        if v.done:
            return 0
        time.sleep(a.poll_seconds)


if __name__ == "__main__":
    sys.exit(main())
