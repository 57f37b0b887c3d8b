"""The sbatch script of one training attempt: #SBATCH lines, node health pre-flight, hostfile, srun + torchrun."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from train.launch.job import JobSpec

# #SBATCH lines are parsed by sbatch, not by the shell: a value may hold spaces and single quotes inside the double
# quotes sbatch understands there, but no double quote, backslash or line break
_SBATCH_VALUE = re.compile(r'^[^"\\\r\n]+$')
_PLAIN = re.compile(r"^[^\s']+$")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TERM_EXIT = 143  # what the script exits with on SIGTERM (scancel, time limit, preemption)
UNHEALTHY_EXIT = 3  # too few healthy nodes (train.launch.health's "unhealthy" code)


@dataclass(frozen=True)
class ScriptOptions:
    """Backend-wide settings that shape the script (the JobSpec says what to run, these say where and how)."""
    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None          # sbatch --time, e.g. "2-00:00:00"
    workdir: str | None = None             # sbatch --chdir (default: the submitting process's directory)
    cpus_per_task: int | None = None       # per node (one task per node); default: procs_per_node
    gpus: bool = True                      # request --gpus-per-node=procs_per_node; False on CPU machines
    health_check: bool = True              # run the health pre-flight (train.launch.health) on every node first
    health_cmd: tuple[str, ...] = ()       # the pre-flight command; default: <python> -m train.launch.health --json
    spare_nodes: int = 0                   # allocate this many extra nodes so unhealthy ones can be left out
    master_port: int | None = None         # rendezvous port; default 20000 + job id % 20000
    sbatch_options: tuple[str, ...] = ()   # more #SBATCH options, e.g. "--qos=high", "--mem=0"
    # a step inside the allocation waits, with no end, for CPUs an earlier step still holds ("step creation
    # temporarily disabled"): give up after this long (srun --immediate) and say which step could not start
    step_start_seconds: int = 120
    health_minutes: int = 5                # the health step's own time limit (srun --time)


def launch_dir(spec: JobSpec) -> Path:
    return Path(spec.run_dir) / "launch"


def script_path(spec: JobSpec) -> Path:
    return launch_dir(spec) / f"slurm-attempt-{spec.attempt}.sbatch"


def exit_file(run_dir: str, job_id: str) -> Path:
    """Written by the script's EXIT trap: the batch script's exit code, for when Slurm has forgotten the job."""
    return Path(run_dir) / "launch" / f"slurm-{job_id}.exit"


def _sbatch(option: str, value: object) -> str:
    text = str(value)
    if not _SBATCH_VALUE.match(text):
        raise ValueError(f"sbatch option {option} cannot carry {text!r}: #SBATCH values may not hold double quotes, "
                         "backslashes or line breaks")
    return f"#SBATCH {option}={text}" if _PLAIN.match(text) else f'#SBATCH {option}="{text}"'


def _hosts(kind: str, hosts: tuple[str, ...]) -> str:
    for h in hosts:
        if not _HOST.match(h):
            raise ValueError(f"{kind} host {h!r} is not a plain host name")
    return ",".join(hosts)


def _header(spec: JobSpec, opt: ScriptOptions) -> list[str]:
    if spec.nodes < 1 or spec.procs_per_node < 1:
        raise ValueError(f"nodes and procs_per_node must be >= 1 (got {spec.nodes} x {spec.procs_per_node})")
    if opt.spare_nodes < 0:
        raise ValueError("spare_nodes must be >= 0")
    if spec.hosts and len(spec.hosts) < spec.nodes:
        raise ValueError(f"{len(spec.hosts)} hosts given for {spec.nodes} nodes")
    if set(spec.hosts) & set(spec.exclude_hosts):
        raise ValueError(f"hosts both wanted and excluded: {sorted(set(spec.hosts) & set(spec.exclude_hosts))}")
    log = launch_dir(spec) / "slurm-%j.out"
    nodes = len(spec.hosts) if spec.hosts else spec.nodes + opt.spare_nodes
    lines = [_sbatch("--job-name", spec.name), _sbatch("--nodes", nodes), "#SBATCH --ntasks-per-node=1"]
    if opt.gpus and spec.procs_per_node > 0:
        lines.append(_sbatch("--gpus-per-node", spec.procs_per_node))
    lines += [_sbatch("--cpus-per-task", opt.cpus_per_task or spec.procs_per_node),
              _sbatch("--output", log), _sbatch("--error", log), "#SBATCH --requeue",
              "#SBATCH --open-mode=append"]       # a requeued run adds to the log instead of replacing it
    if spec.exclude_hosts:
        lines.append(_sbatch("--exclude", _hosts("excluded", spec.exclude_hosts)))
    if spec.hosts:
        lines.append(_sbatch("--nodelist", _hosts("wanted", spec.hosts)))
    for option, value in (("--time", opt.time_limit), ("--partition", opt.partition), ("--account", opt.account),
                          ("--chdir", opt.workdir)):
        if value:
            lines.append(_sbatch(option, value))
    for extra in opt.sbatch_options:
        if not extra.startswith("--") or not _PLAIN.match(extra) or not _SBATCH_VALUE.match(extra):
            raise ValueError(f"extra sbatch option {extra!r} must look like --name=value with no spaces or quotes")
        lines.append(f"#SBATCH {extra}")
    return lines


def render(spec: JobSpec, opt: ScriptOptions) -> str:
    """The whole script; every value from the spec reaches the shell through shlex.quote."""
    q = shlex.quote
    env = []
    for key, value in spec.env:
        if not _ENV_KEY.match(key):
            raise ValueError(f"environment name {key!r} is not a shell identifier")
        env.append(f"export {key}={q(value)}")
    health = " ".join(q(a) for a in (opt.health_cmd or (spec.python, "-m", "train.launch.health", "--json")))
    train_args = " ".join(q(a) for a in spec.train_args())
    cpus = opt.cpus_per_task or spec.procs_per_node
    port = str(opt.master_port) if opt.master_port else "$((20000 + SLURM_JOB_ID % 20000))"
    body = f"""
set -uo pipefail
LAUNCH={q(str(launch_dir(spec)))}
EXIT_FILE="$LAUNCH/slurm-$SLURM_JOB_ID.exit"
rm -f "$EXIT_FILE"
trap 'rc=$?; echo "$rc" > "$EXIT_FILE.tmp" && mv -f "$EXIT_FILE.tmp" "$EXIT_FILE"' EXIT
trap 'echo "slurm-attempt: SIGTERM (scancel, time limit or preemption)" >&2; exit {TERM_EXIT}' TERM
{chr(10).join(env)}
PY={q(spec.python)}
NEED={spec.nodes}
PROCS={spec.procs_per_node}
HEALTH_CHECK={int(opt.health_check)}
echo "slurm-attempt {spec.attempt}: job $SLURM_JOB_ID on $SLURM_JOB_NODELIST, $(date -u +%FT%TZ)"
mapfile -t ALL < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
GOOD=("${{ALL[@]}}")
BAD=()
if [[ $HEALTH_CHECK == 1 ]]; then
  HDIR="$LAUNCH/health-$SLURM_JOB_ID"
  mkdir -p "$HDIR"
  # one task per node; each writes <node>.json and <node>.rc (a node whose task never ran has no .rc: unhealthy)
  srun --nodes="${{#ALL[@]}}" --ntasks="${{#ALL[@]}}" --ntasks-per-node=1 --kill-on-bad-exit=0 \\
    --immediate={opt.step_start_seconds} --time={opt.health_minutes} \\
    bash -c '"${{@:2}}" > "$1/$SLURMD_NODENAME.json"; echo $? > "$1/$SLURMD_NODENAME.rc"' health "$HDIR" {health}
  rc=$?
  if (( rc )) && ! compgen -G "$HDIR/*.rc" >/dev/null; then
    echo "slurm-attempt: the health step did not start within {opt.step_start_seconds} s or ended without a" \\
      "report (srun exit $rc, its error above); no node was checked" >&2
    exit 1
  fi
  GOOD=()
  for h in "${{ALL[@]}}"; do
    if [[ "$(cat "$HDIR/$h.rc" 2>/dev/null)" == 0 ]]; then GOOD+=("$h"); else BAD+=("$h"); fi
  done
  if (( ${{#BAD[@]}} )); then
    printf '%s\\n' "${{BAD[@]}}" > "$LAUNCH/slurm-$SLURM_JOB_ID.unhealthy"
    echo "slurm-attempt: unhealthy nodes left out: ${{BAD[*]}} (reports in $HDIR)" >&2
  fi
fi
if (( ${{#GOOD[@]}} < NEED )); then
  echo "slurm-attempt: only ${{#GOOD[@]}} healthy node(s) of ${{#ALL[@]}} allocated; the job needs $NEED" \\
    "(unhealthy: ${{BAD[*]:-none}}); resubmit with them excluded" >&2
  exit {UNHEALTHY_EXIT}
fi
HOSTS=("${{GOOD[@]:0:NEED}}")
for h in "${{HOSTS[@]}}"; do echo "$h slots=$PROCS"; done > "$LAUNCH/hostfile-$SLURM_JOB_ID"
NODELIST=$(IFS=,; echo "${{HOSTS[*]}}")
export MASTER_ADDR="${{HOSTS[0]}}"
export MASTER_PORT={port}
echo "slurm-attempt: $NEED node(s) x $PROCS process(es): $NODELIST, rendezvous $MASTER_ADDR:$MASTER_PORT"
# a bad config, or a parallel layout that does not fit these nodes (tensor-parallel groups must sit inside a node:
# torchrun numbers each node's processes consecutively), fails here, once, with the trainer's exit code (2)
"$PY" -m train {train_args} --check-layout "$NEED" "$PROCS" --print-config > "$LAUNCH/config-$SLURM_JOB_ID.yaml" \\
  || exit $?
srun --nodes="$NEED" --ntasks="$NEED" --ntasks-per-node=1 --nodelist="$NODELIST" --cpus-per-task={cpus} \\
  --kill-on-bad-exit=1 --immediate={opt.step_start_seconds} \\
  "$PY" -m torch.distributed.run --nnodes="$NEED" --nproc_per_node="$PROCS" --rdzv_backend=c10d \\
  --rdzv_endpoint="$MASTER_ADDR:$MASTER_PORT" --rdzv_id="$SLURM_JOB_ID" --max_restarts=0 \\
  -m train {train_args} &
wait $!
rc=$?
(( rc )) && echo "slurm-attempt: the training step ended with exit $rc (one that could not start within" \\
  "{opt.step_start_seconds} s says 'Unable to create step' above)" >&2
exit $rc
"""
    head = ["#!/bin/bash", f"# {spec.name} attempt {spec.attempt}, written by train.launch.slurm"]
    return "\n".join(head + _header(spec, opt)) + "\n" + body.lstrip("\n")
