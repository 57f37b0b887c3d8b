#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the pip package: `up` starts a master and SPARK_WORKERS workers
# (SPARK_WORKER_CORES cores and SPARK_WORKER_MEMORY each), `down` stops every worker it finds a pid file for, then the
# master. The pip package has no start-master.sh, but it ships sbin/spark-daemon.sh, which is what those scripts call.
set -euo pipefail
cmd=${1:-up}
SPARK_HOME=${SPARK_HOME:-$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
export SPARK_HOME
export SPARK_LOG_DIR=${SPARK_LOG_DIR:-/tmp/codefuse-spark/logs}
export SPARK_PID_DIR=${SPARK_PID_DIR:-/tmp/codefuse-spark/pids}
SPARK_WORKER_DIR=${SPARK_WORKER_DIR:-/tmp/codefuse-spark/work}
export SPARK_LOCAL_IP=127.0.0.1
# Executors run the Python the job ships (--archives); a PYTHONPATH inherited by the daemons would reach the
# executors' Python workers too and could hide a package missing from that archive.
unset PYTHONPATH PYSPARK_PYTHON PYSPARK_DRIVER_PYTHON
MASTER_PORT=${SPARK_MASTER_PORT:-7077}
MASTER_UI_PORT=${SPARK_MASTER_WEBUI_PORT:-8090}
WORKERS=${SPARK_WORKERS:-2}
WORKER_CORES=${SPARK_WORKER_CORES:-1}
WORKER_MEMORY=${SPARK_WORKER_MEMORY:-2g}
daemon="$SPARK_HOME/sbin/spark-daemon.sh"
mkdir -p "$SPARK_LOG_DIR" "$SPARK_PID_DIR" "$SPARK_WORKER_DIR"

alive_workers() {  # how many workers the master's JSON status lists as ALIVE (nothing printed while it is down)
  python - "$MASTER_UI_PORT" <<'PY' 2>/dev/null
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2))
print(sum(w.get("state") == "ALIVE" for w in s.get("workers", [])))
PY
}

case "$cmd" in
  up)
    [[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || { echo "SPARK_WORKERS must be a positive integer, got '$WORKERS'" >&2; exit 2; }
    bash "$daemon" start org.apache.spark.deploy.master.Master 1 \
      --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
    for i in $(seq "$WORKERS"); do
      # a work dir per worker: executor folders (and the archives unpacked in them) show which worker ran what
      mkdir -p "$SPARK_WORKER_DIR/worker-$i"
      bash "$daemon" start org.apache.spark.deploy.worker.Worker "$i" --host 127.0.0.1 \
        --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --work-dir "$SPARK_WORKER_DIR/worker-$i" \
        --webui-port 0 "spark://127.0.0.1:$MASTER_PORT"
    done
    for _ in $(seq 90); do
      alive=$(alive_workers || true)
      if [[ "${alive:-0}" -ge "$WORKERS" ]]; then
        echo "spark://127.0.0.1:$MASTER_PORT is up with $alive workers of $WORKER_CORES core(s) and $WORKER_MEMORY" \
          "(UI http://127.0.0.1:$MASTER_UI_PORT)"
        exit 0
      fi
      sleep 1
    done
    echo "the standalone cluster did not come up with $WORKERS ALIVE workers (${alive:-no answer from the master});" \
      "logs in $SPARK_LOG_DIR" >&2
    tail -n 30 "$SPARK_LOG_DIR"/* >&2 || true
    exit 1 ;;
  down)
    shopt -s nullglob
    for pid in "$SPARK_PID_DIR"/spark-*-org.apache.spark.deploy.worker.Worker-*.pid; do
      instance=${pid##*-}
      bash "$daemon" stop org.apache.spark.deploy.worker.Worker "${instance%.pid}" || true
    done
    bash "$daemon" stop org.apache.spark.deploy.master.Master 1 || true ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
