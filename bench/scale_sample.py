"""Runs a command while sampling its process tree's resident memory: Python driver, its JVM, Spark's Python workers."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

ROLES = ("python", "jvm", "workers", "other")
PARSE_HOOK_DIR = Path(__file__).resolve().parent / "parse_count"


def role(cmdline: list[str], is_root: bool) -> str:
    """Which part of a pipeline run a process is, from its command line: the root is the Python driver, `java ...
    SparkSubmit` its JVM, `python -m pyspark.daemon` (and the workers it forks, which keep its command line) or
    pyspark.worker the Spark Python workers; anything else is 'other'."""
    if is_root:
        return "python"
    words = " ".join(cmdline)
    if "pyspark.daemon" in words or "pyspark.worker" in words:
        return "workers"
    if "SparkSubmit" in words and cmdline and os.path.basename(cmdline[0]) == "java":
        return "jvm"
    return "other"


def sample(root: psutil.Process) -> dict:
    """One sample: the time and the RSS bytes of each role, summed over the processes alive right now."""
    try:
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return {"t": time.time(), **dict.fromkeys(ROLES, 0), "n_workers": 0}
    rows = []
    for proc in procs:
        try:
            with proc.oneshot():
                rows.append((proc.pid, proc.ppid(), proc.memory_info().rss, proc.cmdline()))
        except psutil.Error:  # it ended between the listing and the read
            continue
    return {"t": time.time(), **tally(rows, root.pid)}


def tally(rows: list[tuple[int, int, int, list[str]]], root_pid: int) -> dict:
    """RSS bytes per role and the number of worker processes, from (pid, parent pid, rss, command line) rows.

    A JVM child of the JVM is the JVM forking to start a process (a Python worker) before that process has exec'd:
    it shares the parent's pages, and counting it would double the JVM for that sample (seen: 8.6 GB for a 4.3 GB
    JVM in one sample), so it is left out."""
    kinds = {pid: role(cmd, pid == root_pid) for pid, _, _, cmd in rows}
    out = {**dict.fromkeys(ROLES, 0), "n_workers": 0}
    for pid, ppid, rss, _ in rows:
        kind = kinds[pid]
        if kind == "jvm" and kinds.get(ppid) == "jvm":
            continue
        out[kind] += rss
        out["n_workers"] += kind == "workers"
    return out


def run_sampled(cmd: list[str], env: dict, log_path: Path, interval_s: float, timeout_s: float,
                on_tick=None) -> tuple[int, list[dict], float, float]:
    """(exit code, samples, start, end): runs cmd in its own session with stdout and stderr into log_path, samples
    every interval_s, calls on_tick() after each sample; past timeout_s the session gets SIGTERM (exit code 124)."""
    samples = []
    with open(log_path, "wb") as log:
        t0 = time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        root = psutil.Process(proc.pid)
        code = None
        try:
            while code is None:
                samples.append(sample(root))
                if on_tick:
                    on_tick()
                if time.time() - t0 > timeout_s:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait()
                    code = 124
                    break
                try:
                    code = proc.wait(timeout=interval_s)
                except subprocess.TimeoutExpired:
                    pass
        except BaseException:  # Ctrl-C: take the run's JVM and workers down with it
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        t1 = time.time()
    if on_tick:
        on_tick()
    return code, samples, t0, t1


def parse_hook_env(env: dict, log_dir: Path) -> dict:
    """env with the parse-counting hook (bench/parse_count/sitecustomize.py) on PYTHONPATH, logging into log_dir;
    Spark's Python workers inherit PYTHONPATH, so the hook runs in them too."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = [str(PARSE_HOOK_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**env, "PYTHONPATH": os.pathsep.join(path), "BENCH_PARSE_LOG": str(log_dir)}


def parse_times(log_dir: Path) -> list[float]:
    """The time of every tree-sitter parse the hook logged, from all processes."""
    times = []
    for path in sorted(log_dir.glob("*.log")):
        times.extend(float(line) for line in path.read_text().split())
    return times


def incremental_parses(log_dir: Path) -> int:
    """How many parses the hook logged that were given an old tree (re-parsing only around its edits)."""
    return sum(len(path.read_text().split()) for path in log_dir.glob("*.incremental"))
