#!/usr/bin/env bash
# Airflow 3 standalone for this repo (SQLite, dags/, spark_default=local[*]): start | stop | status.
#   AIRFLOW_HOME_DIR (default out/airflow), AIRFLOW_PORT (8080), VENV (.venv: airflow and spark-submit),
#   AIRFLOW_START_TIMEOUT (seconds, 180); PIPELINE_ALLOWED_ROOTS / PIPELINE_OUTPUT_ROOT / AIRFLOW_CONN_SPARK_DEFAULT
#   are kept when set.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HOME_DIR="$(mkdir -p "${AIRFLOW_HOME_DIR:-$REPO/out/airflow}" && cd "${AIRFLOW_HOME_DIR:-$REPO/out/airflow}" && pwd)"
PORT="${AIRFLOW_PORT:-8080}"
VENV="${VENV:-$REPO/.venv}"
PID_FILE="$HOME_DIR/standalone.pgid"
LOG="$HOME_DIR/standalone.log"
URL="http://localhost:$PORT"

# PIDs of processes whose environment names this AIRFLOW_HOME (every component standalone starts inherits it)
home_pids() {
  local env_file pid
  for env_file in /proc/[0-9]*/environ; do
    pid="${env_file#/proc/}"; pid="${pid%/environ}"
    [ "$pid" = "$$" ] && continue
    if { tr '\0' '\n' < "$env_file"; } 2>/dev/null | grep -qxF "AIRFLOW_HOME=$HOME_DIR"; then
      echo "$pid"
    fi
  done
}

healthy() {
  curl -fsS -m 5 "$URL/api/v2/monitor/health" >/dev/null 2>&1
}

start() {
  if [ -f "$PID_FILE" ] && kill -0 -- "-$(cat "$PID_FILE")" 2>/dev/null; then
    echo "already running (process group $(cat "$PID_FILE")): $URL; stop it with: $0 stop"
    return 0
  fi
  [ -x "$VENV/bin/airflow" ] || { echo "no $VENV/bin/airflow: run make setup (or set VENV)"; return 2; }
  if curl -s -m 2 -o /dev/null "$URL" 2>/dev/null; then
    echo "port $PORT is taken: set AIRFLOW_PORT"; return 2
  fi
  export AIRFLOW_HOME="$HOME_DIR"
  export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__CORE__PARALLELISM=4
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$HOME_DIR/airflow.db"
  export AIRFLOW__API__PORT="$PORT"
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$URL/execution/"
  local local_spark='{"conn_type": "spark", "host": "local[*]"}'
  export AIRFLOW_CONN_SPARK_DEFAULT="${AIRFLOW_CONN_SPARK_DEFAULT:-$local_spark}"
  export PIPELINE_ALLOWED_ROOTS="${PIPELINE_ALLOWED_ROOTS:-$REPO/out}"
  export PIPELINE_OUTPUT_ROOT="${PIPELINE_OUTPUT_ROOT:-$REPO/out/airflow-runs}"
  export PATH="$VENV/bin:$PATH"  # airflow, and spark-submit for the SparkSubmitOperator tasks
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"  # the DAG imports pipeline/ from this checkout
  mkdir -p "$PIPELINE_OUTPUT_ROOT"
  setsid "$VENV/bin/airflow" standalone > "$LOG" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"  # setsid's child leads its own session and process group: PGID = this PID
  local deadline=$((SECONDS + ${AIRFLOW_START_TIMEOUT:-180}))
  until healthy; do
    if ! kill -0 -- "-$(cat "$PID_FILE")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "Airflow did not answer $URL/api/v2/monitor/health in time; the end of $LOG:"
      tail -n 40 "$LOG"
      stop
      return 1
    fi
    sleep 2
  done
  echo "Airflow is up: $URL (process group $(cat "$PID_FILE"), log $LOG)"
  echo "login: admin, password in $HOME_DIR/simple_auth_manager_passwords.json.generated"
  echo "DAG codefuse_data reads under $PIPELINE_ALLOWED_ROOTS and writes to $PIPELINE_OUTPUT_ROOT; stop: make airflow-stop"
}

stop() {
  if [ -f "$PID_FILE" ]; then
    local pgid waited=0
    pgid="$(cat "$PID_FILE")"
    kill -TERM -- "-$pgid" 2>/dev/null || true
    while kill -0 -- "-$pgid" 2>/dev/null && [ $waited -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
    kill -KILL -- "-$pgid" 2>/dev/null || true
    rm -f "$PID_FILE"
  fi
  local left
  left="$(home_pids)"
  if [ -n "$left" ]; then  # a component that left the process group: same AIRFLOW_HOME, so ours
    echo "stopping processes still running from $HOME_DIR: $(echo "$left" | tr '\n' ' ')"
    for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 3
    for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 1
    left="$(home_pids)"
  fi
  if [ -n "$left" ]; then
    echo "still running from $HOME_DIR:"; ps -o pid,pgid,cmd -p "$(echo "$left" | paste -sd,)" || true
    return 1
  fi
  echo "Airflow stopped: no process left from $HOME_DIR"
}

status() {
  if [ -f "$PID_FILE" ] && kill -0 -- "-$(cat "$PID_FILE")" 2>/dev/null; then
    if healthy; then echo "running: $URL (process group $(cat "$PID_FILE"))"; else echo "starting or unhealthy: $URL"; fi
  else
    echo "not running (home $HOME_DIR)"; return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status"; exit 2 ;;
esac
