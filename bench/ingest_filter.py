"""Ingest + filter throughput on Spark local[2] vs the same rules in plain 2-process Python, over a real corpus.

Prints MB/s and files/s of both (median of --repeats runs, alternating) and the ratio Spark / plain.
The JVM is started, and each path runs --warmup times untimed (JIT, page cache), before timing.
Corpus: `PROFILE=small PARTS=code bash ../shared/corpus/make_corpus.sh`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time

from common import typed_config
from pipeline.config import VCS_DIRS, PipelineConfig
from pipeline.default_corpus import default_skip_dirs

DEFAULT_CORPUS = "/tmp/corpora/real"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", action="append", metavar="NAME=DIR",
                    help="a folder to ingest, repeatable (default: the make_corpus.sh corpus and the stdlib)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of each path first (JIT, page cache)")
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    roots = dict(c.split("=", 1) for c in (args.corpus or [f"corpus={DEFAULT_CORPUS}",
                                                            f"stdlib={sysconfig.get_paths()['stdlib']}"]))
    for root in roots.values():
        if not os.path.isdir(root):
            print(f"no corpus at {root}: run PROFILE=small PARTS=code bash ../shared/corpus/make_corpus.sh",
                  file=sys.stderr)
            return 1
    from bench.plain_pipeline import listing, run_plain
    from pipeline.runner import run
    from pipeline.spark.session import get_session

    work = tempfile.mkdtemp(prefix="bench-ingest-")
    inputs = ",".join(f"{name}={root}" for name, root in roots.items())
    cfg = typed_config.load(PipelineConfig, None, [
        f"run.inputs={inputs}", f"run.output={work}/spark", f"spark.master={args.master}",
        "spark.shuffle_partitions=2", "run.force=true", "run.stages=ingest,filter",
        "ingest.skip_dirs=" + ",".join(default_skip_dirs(VCS_DIRS))])
    listed = listing(roots, cfg)
    n_files = len(listed)
    read = [r["size_bytes"] for r in listed if r["uri"] is not None]
    mb = sum(read) / 1e6
    print(f"inputs: {', '.join(f'{k}={v}' for k, v in roots.items())}")
    print(f"{n_files:,} files listed ({sum(r['size_bytes'] or 0 for r in listed) / 1e6:,.1f} MB), {len(read):,} "
          f"read ({mb:,.1f} MB: MB/s below counts these); Spark {args.master} vs plain Python, 2 processes")
    spark = get_session(cfg.spark)
    spark.range(1000).selectExpr("sum(id)").collect()  # JVM up and warm before any timing
    times = {"spark": [], "plain": []}
    results = {}
    for i in range(-args.warmup, args.repeats):
        for name in ("spark", "plain") if i % 2 == 0 else ("plain", "spark"):
            shutil.rmtree(f"{work}/{name}", ignore_errors=True)
            t0 = time.perf_counter()
            if name == "spark":
                summary = run(cfg, spark)
                results["spark"] = {"rows_in": summary["stages"][0]["rows_in"],
                                    "ingest_kept": summary["stages"][0]["kept"],
                                    "filter_kept": summary["stages"][1]["kept"]}
            else:
                results["plain"] = run_plain(roots, f"{work}/plain", cfg)
            if i >= 0:
                times[name].append(time.perf_counter() - t0)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'path':<28} {'median s':>9} {'MB/s':>8} {'files/s':>9}   runs (s)")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, label in (("spark", f"Spark {args.master}"), ("plain", "plain Python, 2 processes")):
        print(f"{label:<28} {med[name]:>9.2f} {mb / med[name]:>8.1f} {n_files / med[name]:>9.0f}   "
              + " ".join(f"{t:.2f}" for t in times[name]))
    print(f"\nratio Spark / plain throughput: {med['plain'] / med['spark']:.2f}x  (goal >= 0.8x)")
    print(f"same rows: {results['spark'] == results['plain']}  spark={results['spark']}  plain={results['plain']}")
    return 0 if results["spark"] == results["plain"] else 1


if __name__ == "__main__":
    sys.exit(main())
