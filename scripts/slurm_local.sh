#!/usr/bin/env bash
# A real one-node Slurm on 127.0.0.1 (munged, slurmctld, slurmd): `up` installs and starts it, `down` stops it,
# `status` shows it. Everything lives in SLURM_LOCAL_DIR (default /tmp/codefuse-slurm); point clients at it with
# `export SLURM_CONF=$SLURM_LOCAL_DIR/slurm.conf`. Ports: SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_D_PORT (6817/6818).
set -euo pipefail
cmd=${1:-up}
STATE=${SLURM_LOCAL_DIR:-/tmp/codefuse-slurm}
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
D_PORT=${SLURM_LOCAL_D_PORT:-6818}
MIN_JOB_AGE=${SLURM_LOCAL_MIN_JOB_AGE:-300}   # seconds a finished job stays in `scontrol show job`
# two clusters on one host (parallel test workers) must not hand out the same job ids: the training job's
# rendezvous port is 20000 + job id % 20000
FIRST_JOB_ID=${SLURM_LOCAL_FIRST_JOB_ID:-1}
MUNGE_KEY=${MUNGE_KEY:-/etc/munge/munge.key}
CONF="$STATE/slurm.conf"
NODE=$(hostname)
export SLURM_CONF="$CONF"

stop_pidfile() {  # stop_pidfile NAME FILE: TERM, wait up to 10 s, then KILL
  local name=$1 file=$2 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    echo "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then echo "$name did not stop on TERM: KILL"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$file"
}

running() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

show_logs() {
  for f in "$STATE"/log/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -n 30 "$f"; }; done >&2
}

install() {
  if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
     && command -v munged >/dev/null; then
    return 0
  fi
  [[ $(id -u) == 0 ]] || { echo "slurm-wlm and munge are missing; install them as root (apt-get install slurm-wlm munge)" >&2; exit 1; }
  echo "installing slurm-wlm and munge with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; }
}

write_conf() {
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)   # MB, leaving 10% to the system
  cat >"$CONF" <<EOF
# one-node Slurm written by scripts/slurm_local.sh
ClusterName=codefuse
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=5
MinJobAge=$MIN_JOB_AGE
FirstJobId=$FIRST_JOB_ID
InactiveLimit=0
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

up() {
  [[ $(id -u) == 0 ]] || { echo "slurm_local.sh up runs the daemons as root (slurmd must); run it as root" >&2; exit 1; }
  install
  if running "$STATE/run/slurmctld.pid" && running "$STATE/run/slurmd.pid"; then
    echo "already up: export SLURM_CONF=$CONF"; return 0
  fi
  mkdir -p "$STATE"/{ctld,spool,run,log,munge}
  chmod 0755 "$STATE"
  chmod 0700 "$STATE/munge"
  if [[ ! -s $MUNGE_KEY ]]; then
    echo "creating the munge key $MUNGE_KEY (1024 random bytes, mode 400)"
    mkdir -p "$(dirname "$MUNGE_KEY")"
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    chown munge:munge "$MUNGE_KEY" 2>/dev/null || true
    chmod 0400 "$MUNGE_KEY"
  fi
  write_conf
  if ! running "$STATE/run/munged.pid"; then
    echo "starting munged (socket $STATE/munge/munge.socket)"
    setsid munged -f --key-file="$MUNGE_KEY" --socket="$STATE/munge/munge.socket" \
      --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/seed" \
      </dev/null >>"$STATE/log/daemons.out" 2>&1
  fi
  local d
  for d in slurmctld slurmd; do
    running "$STATE/run/$d.pid" && continue
    echo "starting $d ($CONF)"
    setsid "$d" -f "$CONF" </dev/null >>"$STATE/log/daemons.out" 2>&1
  done
  # every wait here ends: 60 s for the node to be idle, 10 s for each sinfo. Our own daemons must be alive too: one
  # that cannot bind its port exits, and sinfo is then answered by whatever cluster holds that port
  local i alive
  for i in $(seq 60); do
    alive=1
    for d in munged slurmctld slurmd; do running "$STATE/run/$d.pid" || alive=0; done
    if (( alive )) && [[ $(timeout 10 sinfo -h -n "$NODE" -o %T 2>/dev/null) == idle ]]; then
      echo "Slurm is up: node $NODE idle ($(nproc) CPUs); export SLURM_CONF=$CONF"
      return 0
    fi
    if (( !alive && i > 5 )); then   # 5 s to write their pid files
      echo "a Slurm daemon exited while starting (port $CTLD_PORT or $D_PORT taken by another Slurm?); logs:" >&2
      show_logs
      exit 1
    fi
    sleep 1
  done
  echo "Slurm did not come up within 60 s: node $NODE is not idle (sinfo: $(timeout 10 sinfo -h -o '%N %T' 2>&1));" \
    "logs:" >&2
  show_logs
  exit 1
}

down() {
  stop_pidfile slurmd "$STATE/run/slurmd.pid"
  stop_pidfile slurmctld "$STATE/run/slurmctld.pid"
  stop_pidfile munged "$STATE/run/munged.pid"
  echo "Slurm in $STATE is down"
}

status() {
  local bad=0 d
  for d in munged slurmctld slurmd; do
    if running "$STATE/run/$d.pid"; then echo "$d: running (pid $(cat "$STATE/run/$d.pid"))"
    else echo "$d: not running"; bad=1; fi
  done
  [[ $bad == 0 ]] && { timeout 10 sinfo; timeout 10 squeue; }
  return $bad
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
