#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the pip package: `up` starts a master and one worker, `down` stops them.
# The pip package has no start-master.sh, but it does ship sbin/spark-daemon.sh, which is what those scripts call.
set -euo pipefail
cmd=${1:-up}
SPARK_HOME=${SPARK_HOME:-$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
export SPARK_HOME
export SPARK_LOG_DIR=${SPARK_LOG_DIR:-/tmp/codefuse-spark/logs}
export SPARK_PID_DIR=${SPARK_PID_DIR:-/tmp/codefuse-spark/pids}
export SPARK_WORKER_DIR=${SPARK_WORKER_DIR:-/tmp/codefuse-spark/work}
export SPARK_LOCAL_IP=127.0.0.1
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$(command -v python)}
MASTER_PORT=${SPARK_MASTER_PORT:-7077}
MASTER_UI_PORT=${SPARK_MASTER_WEBUI_PORT:-8090}
WORKER_CORES=${SPARK_WORKER_CORES:-2}
WORKER_MEMORY=${SPARK_WORKER_MEMORY:-3g}
daemon="$SPARK_HOME/sbin/spark-daemon.sh"
mkdir -p "$SPARK_LOG_DIR" "$SPARK_PID_DIR" "$SPARK_WORKER_DIR"
case "$cmd" in
  up)
    bash "$daemon" start org.apache.spark.deploy.master.Master 1 \
      --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
    bash "$daemon" start org.apache.spark.deploy.worker.Worker 1 --host 127.0.0.1 \
      --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --work-dir "$SPARK_WORKER_DIR" \
      --webui-port 0 "spark://127.0.0.1:$MASTER_PORT"
    # ready when the master's JSON status lists an ALIVE worker
    for _ in $(seq 60); do
      if python - "$MASTER_UI_PORT" <<'PY' 2>/dev/null
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2))
sys.exit(0 if any(w.get("state") == "ALIVE" for w in s.get("workers", [])) else 1)
PY
      then echo "spark://127.0.0.1:$MASTER_PORT is up with a worker (UI http://127.0.0.1:$MASTER_UI_PORT)"; exit 0; fi
      sleep 1
    done
    echo "the standalone cluster did not come up; logs in $SPARK_LOG_DIR" >&2
    tail -n 30 "$SPARK_LOG_DIR"/* >&2 || true
    exit 1 ;;
  down)
    bash "$daemon" stop org.apache.spark.deploy.worker.Worker 1 || true
    bash "$daemon" stop org.apache.spark.deploy.master.Master 1 || true ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
