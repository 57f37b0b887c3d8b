"""Scale benchmark: every data stage (ingest .. resample, sft) on local[2] over half and all of a real corpus.

Each run is `python -m pipeline run` in a subprocess whose process tree is sampled every 0.5 s (driver = the Python
driver + its JVM; workers = Spark's Python workers, summed at each sample), samples going to the stage running at
the time. Prints per stage rows in, kept, MB in, seconds, MB/s, peak RSS and tree-sitter parses, both runs side by
side with time(whole)/time(half), the quality stage against a bare parse of the same files, and the issue's goals
(whole run <= 5 min on the full profile, ~3 MB/s end to end, peak <= 8 GB, 2x data <= 2.2x time).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from bench import scale_report, scale_sample
from bench.scale_subset import MB, link_tree, list_files, select

REPO = Path(__file__).resolve().parents[1]
MAKE_CORPUS = "bash ../shared/corpus/make_corpus.sh"
PROFILES = {  # profile -> (default corpus folder, the command that builds it, from the repository root)
    "small": ("/tmp/corpora-small/real", f"ROOT=/tmp/corpora-small PROFILE=small PARTS=code {MAKE_CORPUS}"),
    # the corpus: every part (code, text, zh, ...), 76,975 files and 929.7 MB when last built
    "full": ("/tmp/corpora/real", MAKE_CORPUS),
}


class Progress:
    """Prints each stage as run.json reports it finished (the runner rewrites run.json after every stage)."""

    def __init__(self, label: str, run_dir: Path):
        self.label, self.path, self.seen, self.mtime = label, run_dir / "run.json", 0, None

    def __call__(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self.mtime:
                return
            stages = json.loads(self.path.read_text())["stages"]
        except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
            return
        self.mtime = mtime
        for s in stages[self.seen:]:
            print(f"  [{self.label}] {s['name']:<9} {s['seconds']:>7.1f} s  {s['rows_in']:>9,} rows in "
                  f"{s['kept']:>9,} kept  {s['mb_in']:>8.1f} MB in", flush=True)
        self.seen = len(stages)


def stage_ends(run_dir: Path, run_json: dict) -> list[tuple[str, float, float]]:
    """(stage, seconds, end time) per stage, a row pass as one: the runner writes <stage>/_SUCCESS right after timing
    the stage (for a row pass, its last stage's)."""
    out = []
    for s in scale_report.merged_stages(run_json.get("stages", [])):
        marker = run_dir / s["members"][-1] / "_SUCCESS"
        if marker.exists():
            out.append((s["name"], s["seconds"], marker.stat().st_mtime))
    return out


def local_path(uri: str) -> str:
    return urlparse(uri).path if uri.startswith("file:") else uri


def run_one(label: str, corpus: Path, out: Path, args) -> tuple[dict, dict]:
    """(figures, run.json) of one pipeline run over `corpus`, in out/<label>."""
    base = out / label
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    run_dir = base / "run"
    cmd = [sys.executable, "-m", "pipeline", "run", "--input", f"corpus={corpus}", "--output", str(run_dir),
           "--set", f"spark.master={args.master}", "--json"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO)] + [p for p in os.environ.get(
        "PYTHONPATH", "").split(os.pathsep) if p])}
    if args.parse_count:
        env = scale_sample.parse_hook_env(env, base / "parses")
    print(f"{label}: {' '.join(cmd)}", flush=True)
    code, samples, t0, t1 = scale_sample.run_sampled(cmd, env, base / "pipeline.log", args.interval,
                                                      args.timeout_min * 60, Progress(label, run_dir))
    if code != 0:
        tail = (base / "pipeline.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{label} run failed with exit code {code} (log: {base / 'pipeline.log'}):\n{tail}")
    run_json = json.loads((run_dir / "run.json").read_text())
    files = list_files(corpus)
    figures = scale_report.summarise(
        label, run_json, stage_ends(run_dir, run_json), samples,
        scale_sample.parse_times(base / "parses") if args.parse_count else None, t0, t1,
        len(files), sum(size for _, size in files) / MB)
    figures["incremental_parses"] = scale_sample.incremental_parses(base / "parses") if args.parse_count else None
    (base / "samples.json").write_text(json.dumps(samples))
    return figures, run_json


def quality_input(run_json: dict) -> dict[str, list[bytes]]:
    """language -> contents of the files the quality stage parsed: its input (ingest's kept rows less the ones filter
    rejected; in a row pass filter keeps no table of its own) in a language with a grammar, within
    quality.max_parse_bytes."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pipeline.config import QualityConfig
    from pipeline.quality.specs import SPECS

    stages = {s["name"]: s for s in run_json["stages"]}
    table = pq.read_table(local_path(stages["ingest"]["kept_table"]), columns=["id", "content", "language"])
    if stages["filter"]["rejected"]:
        rejected = pq.read_table(local_path(stages["filter"]["rejected_table"]), columns=["id"]).column("id")
        table = table.filter(pc.invert(pc.is_in(table.column("id"), value_set=rejected)))
    limit = QualityConfig().max_parse_bytes
    found: dict[str, list[bytes]] = {}
    for text, lang in zip(table.column("content").to_pylist(), table.column("language").to_pylist()):
        if text is not None and lang in SPECS:
            data = text.encode("utf-8")
            if len(data) <= limit:
                found.setdefault(lang, []).append(data)
    return found


def quality_vs_parse(run: dict, run_json: dict) -> dict:
    """The quality stage's seconds (local[2]) beside a bare tree-sitter parse of the same files (one core)."""
    from bench.quality_validation import bare_parse_seconds

    files = quality_input(run_json)
    parse_s = sum(bare_parse_seconds(lang, docs) for lang, docs in sorted(files.items()))
    # in a row pass quality's seconds are not apart from the other row stages': the pass's, an upper bound
    quality = next(r for r in run["rows"] if "quality" in r["members"])
    n = sum(map(len, files.values()))
    return {"files": n, "mb": round(sum(len(d) for docs in files.values() for d in docs) / MB, 3),
            "quality_s": quality["seconds"], "quality_phase": quality["stage"],
            "bare_parse_1core_s": round(parse_s, 2),
            "ratio_to_parse_on_2_cores": scale_report.ratio(quality["seconds"], parse_s / 2),
            # the machine's speed moves both (a bare parse took 52-62 s on one 2-core machine within an hour)
            "run_wall_per_bare_parse": scale_report.ratio(run["wall_s"], parse_s),
            "quality_parses": quality["parses"], "run_parses": run["parses"],
            "run_incremental_parses": run.get("incremental_parses"),
            "parses_per_file": scale_report.ratio(run["parses"], n)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="small",
                    help="which make_corpus.sh profile the corpus is (default folder, build command, goal check)")
    ap.add_argument("--corpus", help="corpus folder (default: the profile's, e.g. /tmp/corpora/real)")
    ap.add_argument("--limit-mb", type=float, help="use only about this many MB of the corpus (chosen by path hash)")
    ap.add_argument("--out", default="/tmp/bench-scale", help="inputs (hard links), run folders, logs and "
                                                             "bench_scale.json go here; its half/ whole/ inputs/ "
                                                             "are replaced")
    ap.add_argument("--master", default="local[2]", help="spark.master of both runs")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between memory samples")
    ap.add_argument("--timeout-min", type=float, default=30.0, help="stop a run that takes longer")
    ap.add_argument("--no-parse-count", dest="parse_count", action="store_false",
                    help="do not count tree-sitter parses (no hook on the runs' PYTHONPATH)")
    args = ap.parse_args(argv)
    default_dir, build = PROFILES[args.profile]
    corpus = Path(args.corpus or default_dir)
    if not corpus.is_dir():
        print(f"no corpus at {corpus}: build it with\n  {build}", file=sys.stderr)
        return 2
    out = Path(args.out)
    files = list_files(corpus)
    whole, half = select(files, args.limit_mb)
    how = {label: link_tree(corpus, rels, out / "inputs" / label) for label, rels in (("half", half),
                                                                                       ("whole", whole))}
    print(f"corpus {corpus} ({args.profile} profile): {len(files):,} files; whole {len(whole):,}, half {len(half):,} "
          f"(by path hash{f', limit {args.limit_mb:g} MB' if args.limit_mb else ''}; {how['whole']})", flush=True)
    load_before = os.getloadavg()
    runs, run_jsons = {}, {}
    try:
        for label in ("half", "whole"):
            runs[label], run_jsons[label] = run_one(label, out / "inputs" / label, out, args)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    qp = quality_vs_parse(runs["whole"], run_jsons["whole"])
    goal_rows = scale_report.goals(runs["half"], runs["whole"], args.profile, limited=bool(args.limit_mb))
    print()
    for label in ("half", "whole"):
        print(scale_report.run_table(runs[label]) + "\n")
    print(scale_report.compare_table(runs["half"], runs["whole"]) + "\n")
    print(f"quality ({qp['quality_phase']}) {qp['quality_s']:.1f} s on local[2] vs a bare tree-sitter parse of "
          f"the same {qp['files']:,} files ({qp['mb']:.1f} MB) {qp['bare_parse_1core_s']:.1f} s on one core: "
          f"{scale_report.fmt_ratio(qp['ratio_to_parse_on_2_cores'])}x the parse split over 2 cores")
    print(f"the whole run's wall time is {scale_report.fmt_ratio(qp['run_wall_per_bare_parse'])}x that bare parse "
          f"(a figure that compares runs on machines of different speed)")
    if args.parse_count:
        print(f"tree-sitter parses in the whole run: {qp['run_parses']:,} for {qp['files']:,} parseable files = "
              f"{scale_report.fmt_ratio(qp['parses_per_file'])} per file "
              f"({qp['quality_phase']}: {qp['quality_parses']:,}); besides, {qp['run_incremental_parses']:,} "
              f"incremental re-parses of a tree around privacy's replacements (not counted above)")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after\n\ngoals:\n" + scale_report.goals_text(goal_rows))
    result = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "profile": args.profile, "corpus": str(corpus),
              "limit_mb": args.limit_mb, "inputs": how["whole"], "master": args.master, "cpus": os.cpu_count(),
              "load_before": load_before, "load_after": os.getloadavg(), "half": runs["half"],
              "whole": runs["whole"], "quality_vs_parse": qp,
              "goals": [{"figure": f, "goal": g, "met": m} for f, g, m in goal_rows]}
    (out / "bench_scale.json").write_text(json.dumps(result, indent=2))
    print(f"\nfigures: {out / 'bench_scale.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
