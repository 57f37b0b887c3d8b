"""The generated sbatch script: its #SBATCH lines, and that no value from a JobSpec can reach the shell unquoted."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from train.launch.job import JobSpec
from train.launch.slurm_script import ScriptOptions, render

HOSTILE = "$(touch {marker})`touch {marker}`;touch {marker}"


def _sbatch_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#SBATCH")]


def test_header_for_gpu_nodes_with_excludes_and_hosts(tmp_path):
    spec = JobSpec(run_dir=str(tmp_path / "run"), nodes=2, procs_per_node=8, hosts=("gpu01", "gpu02"),
                   exclude_hosts=("gpu07", "gpu09"), name="cf-13b")
    opt = ScriptOptions(partition="a100", account="llm", time_limit="2-00:00:00", cpus_per_task=64,
                        sbatch_options=("--qos=high",))
    log = f"{tmp_path}/run/launch/slurm-%j.out"
    assert _sbatch_lines(render(spec, opt)) == [
        "#SBATCH --job-name=cf-13b", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1",
        "#SBATCH --gpus-per-node=8", "#SBATCH --cpus-per-task=64", f"#SBATCH --output={log}",
        f"#SBATCH --error={log}", "#SBATCH --requeue", "#SBATCH --open-mode=append",
        "#SBATCH --exclude=gpu07,gpu09",
        "#SBATCH --nodelist=gpu01,gpu02", "#SBATCH --time=2-00:00:00", "#SBATCH --partition=a100",
        "#SBATCH --account=llm", "#SBATCH --qos=high"]


def test_cpu_jobs_request_no_gpus_and_spares_add_nodes(tmp_path):
    spec = JobSpec(run_dir=str(tmp_path), nodes=3, procs_per_node=2)
    text = render(spec, ScriptOptions(gpus=False, spare_nodes=1, health_check=False))
    lines = _sbatch_lines(text)
    assert not any("--gpus" in line or "--gres" in line for line in lines)
    assert "#SBATCH --nodes=4" in lines and "#SBATCH --cpus-per-task=2" in lines
    assert "NEED=3" in text and "PROCS=2" in text and "HEALTH_CHECK=0" in text
    assert "--nproc_per_node=\"$PROCS\"" in text and "-m torch.distributed.run" in text
    assert "--gpus-per-node=2" in render(spec, ScriptOptions(gpus=True))


def test_health_preflight_runs_the_health_module_on_every_node(tmp_path):
    spec = JobSpec(run_dir=str(tmp_path), python="/opt/py/bin/python")
    text = render(spec, ScriptOptions())  # the pre-flight is on unless turned off
    assert "HEALTH_CHECK=1" in text
    assert "/opt/py/bin/python -m train.launch.health --json" in text
    assert "exit 3" in text and ".unhealthy" in text


@pytest.mark.parametrize("field, value, reason", [
    ("name", "job\n/bin/rm -rf /tmp/x", "cannot carry"),
    ("name", 'say "hi"', "cannot carry"),
    ("hosts", ("gpu01;reboot",), "not a plain host name"),
    ("exclude_hosts", ("$(id)",), "not a plain host name"),
    ("env", (("A;B", "1"),), "not a shell identifier"),
    ("nodes", 0, "must be >= 1"),
])
def test_values_that_cannot_be_quoted_are_refused(tmp_path, field, value, reason):
    with pytest.raises(ValueError, match=reason):
        render(JobSpec(run_dir=str(tmp_path), **{field: value}), ScriptOptions())


def test_spec_values_reach_the_processes_literally(tmp_path):
    """Run the script's own export and config-check lines in bash, with PY = a program that prints its argv: the
    hostile override, environment value and run_dir arrive as literal strings and nothing they hold runs."""
    marker = tmp_path / "pwned"
    hostile = HOSTILE.format(marker=marker)
    run_dir = tmp_path / "run dir 'quoted' $HOME"
    spec = JobSpec(run_dir=str(run_dir), overrides=(f"run.x={hostile}",), env=(("CF_VALUE", hostile),))
    text = render(spec, ScriptOptions())
    dump = tmp_path / "argv.py"
    dump.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    "print(json.dumps({'argv': sys.argv[1:], 'env': os.environ['CF_VALUE']}))\n")
    dump.chmod(0o755)
    picked = [line for line in text.splitlines()
              if line.startswith(("LAUNCH=", "export CF_VALUE=")) or line.startswith('"$PY" -m train')]
    assert len(picked) == 3, picked
    fragment = "\n".join(picked).replace(' > "$LAUNCH/config-$SLURM_JOB_ID.yaml" \\', "")
    r = subprocess.run(["bash", "-c", f"set -u\nPY={dump}\nSLURM_JOB_ID=1\nNEED=2\nPROCS=8\n{fragment}\n"
                                      f"echo \"$LAUNCH\""],
                       capture_output=True, text=True, env={**os.environ}, timeout=30)
    assert r.returncode == 0, r.stderr
    out, launch = r.stdout.splitlines()
    got = json.loads(out)
    assert got["argv"] == ["-m", "train", "--preset", "debug", "--set", f"run.x={hostile}",
                           "--set", f"run.output={run_dir}", "--check-layout", "2", "8", "--print-config"]
    assert got["env"] == hostile and launch == f"{run_dir}/launch"
    assert not marker.exists()
    assert f'#SBATCH --output="{run_dir}/launch/slurm-%j.out"' in text
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


def test_the_training_line_carries_the_same_train_args(tmp_path):
    spec = JobSpec(run_dir=str(tmp_path), overrides=("model.flavor=debug",))
    text = render(spec, ScriptOptions(master_port=29555))
    assert "export MASTER_PORT=29555" in text
    train = re.search(r"-m train (.*) &\nwait \$!", text).group(1)
    assert train == f"--preset debug --set model.flavor=debug --set run.output={tmp_path}"
    assert Path(tmp_path).name in text


def test_every_step_gives_up_when_it_cannot_start(tmp_path):
    """Inside an allocation srun waits with no end for CPUs an earlier step still holds ("step creation temporarily
    disabled"): both steps carry --immediate, the health step a time limit, and each failure names its step."""
    text = render(JobSpec(run_dir=str(tmp_path)), ScriptOptions(step_start_seconds=45, health_minutes=2))
    sruns = re.findall(r"^ *srun (.*?)(?:bash -c|\"\$PY\" -m torch)", text, re.M | re.S)
    assert len(sruns) == 2 and all("--immediate=45" in options for options in sruns)
    assert "--immediate=45 --time=2" in sruns[0]
    assert "the health step did not start within 45 s" in text and "no node was checked" in text
    assert "the training step ended with exit $rc (one that could not start within" in text
    assert "--immediate=120" in render(JobSpec(run_dir=str(tmp_path)), ScriptOptions())
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
