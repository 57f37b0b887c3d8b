"""Airflow as a user runs it: standalone up, codefuse_data triggered over REST on a few files, its grid screenshot."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "codefuse_data"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = ["textwrap.py", "shlex.py", "fnmatch.py", "bisect.py", "json/decoder.py", "json/encoder.py",
         "json/scanner.py", "csv.py", "glob.py", "colorsys.py"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--virtual-time-budget=15000", "--window-size=1600,1000"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    """One JSON request to the REST API; raises with the server's answer on an HTTP error."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: HTTP {e.code}: {e.read()[:2000].decode(errors='replace')}") from e


def small_corpus(root: Path) -> Path:
    data = root / "data" / "stdlib"
    for name in FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, data / name)
    return root / "data"


def wait_for_dag(base: str, token: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            api(base, "GET", f"/api/v2/dags/{DAG_ID}", token)
            return
        except RuntimeError as e:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{DAG_ID} not parsed after {timeout:.0f} s: {e}") from e
            time.sleep(3)


def wait_for_run(base: str, token: str, run_id: str, timeout: float) -> str:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        state = api(base, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", token)["state"]
        tis = api(base, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", token)["task_instances"]
        now = {t["task_id"]: t["state"] for t in tis}
        if now != last:
            done = sum(s == "success" for s in now.values())
            print(f"  {time.strftime('%H:%M:%S')} run {state}: {done}/{len(now)} tasks done", flush=True)
            last = now
        if state in ("success", "failed"):
            return state
        time.sleep(5)
    return "timed out"


def print_failed_logs(base: str, token: str, run_id: str) -> None:
    tis = api(base, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", token)["task_instances"]
    for t in tis:
        if t["state"] not in ("failed", "up_for_retry"):
            continue
        log = api(base, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{t['task_id']}/logs/"
                               f"{t['try_number']}?full_content=true", token)
        lines = [c.get("event", json.dumps(c)) if isinstance(c, dict) else str(c) for c in log.get("content", [])]
        print(f"--- {t['task_id']} try {t['try_number']} ({t['state']}), last lines of its log:")
        print("\n".join(lines[-60:]))


def screenshot(url: str, png: Path) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", url],
                       check=True, capture_output=True, timeout=120)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot of {url}")


def drawn_share(png: Path) -> float:
    """Share of pixels that differ from the most common colour (the page background)."""
    from PIL import Image

    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=img.width * img.height)
    return 1 - max(colours)[0] / (img.width * img.height)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=str(REPO / "out" / "airflow-live" / "grid.png"), help="screenshot PNG")
    p.add_argument("--timeout", type=float, default=1200,
                   help="seconds the DAG run may take (~7 min on an idle 2-core machine; 630 s under load)")
    p.add_argument("--min-drawn", type=float, default=0.02, help="least share of non-background pixels")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix="airflow-live-"))
    port = free_port()
    base = f"http://localhost:{port}"
    env = {**os.environ, "AIRFLOW_HOME_DIR": str(tmp / "home"), "AIRFLOW_PORT": str(port),
           "VENV": str(Path(sys.executable).parent.parent), "PIPELINE_ALLOWED_ROOTS": str(tmp),
           "PIPELINE_OUTPUT_ROOT": str(tmp / "out"),
           "AIRFLOW_CONN_SPARK_DEFAULT": '{"conn_type": "spark", "host": "local[2]"}',
           # a throwaway instance on localhost: every request is admin, so the browser needs no login
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
    script = [str(REPO / "scripts" / "airflow_local.sh")]
    state = "not started"
    try:
        subprocess.run(["bash", *script, "start"], env=env, check=True, timeout=300)
        timings["standalone up"] = time.monotonic() - t0
        token = api(base, "POST", "/auth/token", body={"username": "admin", "password": "unused"})["access_token"]
        wait_for_dag(base, token, 180)
        timings["DAG parsed"] = time.monotonic() - t0
        api(base, "PATCH", f"/api/v2/dags/{DAG_ID}", token, {"is_paused": False})
        conf = {"input_paths": [str(small_corpus(tmp))], "run_name": "live", "languages": ["Python"],
                "vocab_size": 2491, "tokenizer_sample_mb": 1.0, "seq_len": 64, "shard_rows": 64,
                "shuffle_partitions": 2, "min_quality_score": 0.0}
        run_id = api(base, "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", token,
                     {"logical_date": None, "conf": conf})["dag_run_id"]
        print(f"triggered {DAG_ID} run {run_id}", flush=True)
        state = wait_for_run(base, token, run_id, args.timeout)
        timings["DAG run finished"] = time.monotonic() - t0
        if state != "success":
            print_failed_logs(base, token, run_id)
        url = f"{base}/dags/{DAG_ID}/runs/{urllib.request.quote(run_id, safe='')}"
        png = Path(args.out)
        screenshot(url, png)
        share = drawn_share(png)
        timings["screenshot"] = time.monotonic() - t0
        print(f"grid screenshot: {png} ({share:.1%} of the page drawn) from {url}")
        if share < args.min_drawn:
            print(f"the screenshot is blank (under {args.min_drawn:.0%} drawn)")
            state = "blank screenshot"
        manifest = tmp / "out" / DAG_ID / "live" / "tokens" / "manifest.json"
        if state == "success":
            shards = json.loads(manifest.read_text())["shards"]
            print(f"token shards: {len(shards)} in {manifest.parent}")
    finally:
        subprocess.run(["bash", *script, "stop"], env=env, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)
    timings["stopped"] = time.monotonic() - t0
    print("timings (s from start): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"live check: {state}")
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
