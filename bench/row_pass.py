"""Row pass benchmark: filter..decontam as one pass against one job per stage, over the same files table.

Runs `python -m pipeline run --stages filter,quality,privacy,detox,decontam --input TABLE` with
run.fuse_row_stages true and false, alternating (fused, apart, fused, apart, ...) so that a machine whose speed
drifts affects both alike, and prints each run's stage seconds (the runner's, summed over the five stages) and wall
seconds (the whole subprocess: JVM start-up included), the medians, the ratio apart / fused, and whether both gave
the same per-stage counts.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROW_STAGES = "filter,quality,privacy,detox,decontam"
MODES = (("fused", "true"), ("apart", "false"))


def one_run(table: str, out: Path, fuse: str, master: str) -> tuple[float, float, list]:
    """(stage seconds summed, wall seconds, per-stage (name, rows in, kept, rejected)) of one run."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "pipeline", "run", "--stages", ROW_STAGES, "--input", table, "--output", str(out),
           "--set", f"spark.master={master}", "--set", f"run.fuse_row_stages={fuse}", "--set", "run.report=false",
           "--json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if done.returncode != 0:
        raise RuntimeError(f"run failed ({done.returncode}): {done.stderr[-2000:]}")
    stages = json.loads((out / "run.json").read_text())["stages"]
    return (round(sum(s["seconds"] for s in stages), 2), round(wall, 2),
            [(s["name"], s["rows_in"], s["kept"], s["rejected"]) for s in stages])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.row_pass", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", required=True, help="a files table, e.g. <run>/ingest/status=kept")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each mode (default 2)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--out", default="/tmp/bench-row-pass", help="run folders go here (replaced)")
    args = ap.parse_args(argv)
    if not Path(args.table.replace("file://", "")).exists():
        print(f"no table at {args.table}: give a files table, e.g. a run's ingest/status=kept", file=sys.stderr)
        return 2
    seconds: dict[str, list] = {m: [] for m, _ in MODES}
    walls: dict[str, list] = {m: [] for m, _ in MODES}
    counts: dict[str, list] = {}
    for r in range(args.repeats):
        for mode, fuse in MODES:
            s, w, c = one_run(args.table, Path(args.out) / f"{mode}-{r}", fuse, args.master)
            seconds[mode].append(s)
            walls[mode].append(w)
            counts.setdefault(mode, c)
            print(f"run {r + 1} {mode:<6} stage seconds {s:>8.1f}  wall {w:>8.1f}", flush=True)
    med = {m: statistics.median(seconds[m]) for m in seconds}
    med_wall = {m: statistics.median(walls[m]) for m in walls}
    print(f"\nmedian stage seconds: fused {med['fused']:.1f}, apart {med['apart']:.1f}; "
          f"apart / fused {med['apart'] / med['fused']:.2f}")
    print(f"median wall seconds:  fused {med_wall['fused']:.1f}, apart {med_wall['apart']:.1f}; "
          f"apart / fused {med_wall['apart'] / med_wall['fused']:.2f}")
    same = counts["fused"] == counts["apart"]
    print(f"same per-stage rows in, kept and rejected: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
