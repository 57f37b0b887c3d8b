"""The evaluation CLI turns bad input into one clear line and exit code 2, not a traceback."""
from __future__ import annotations

from pathlib import Path

from evaluation.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_model_folder_is_named(tmp_path, capsys):
    assert main(["--model", str(tmp_path / "nope"), "--limit", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evaluation error: ") and "no config.json" in err and str(tmp_path / "nope") in err


def test_a_missing_benchmark_file_is_named(tmp_path, capsys):
    assert main(["--canonical", "--benchmark", str(tmp_path / "b.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "b.jsonl does not exist" in capsys.readouterr().err


def _evaluation(args, env_extra, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.run([sys.executable, "-m", "evaluation", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


def test_without_a_sandbox_the_make_run_step_skips_pass_at_k_in_one_line_and_exits_0(tmp_path):
    # `make run`'s evaluation step, with bubblewrap pointed at a file that does not exist
    missing = {"EVAL_BWRAP": str(tmp_path / "no-bwrap")}
    args = ["--model", str(tmp_path / "hf"), "--limit", "2", "--no-progress", "--out", str(tmp_path / "eval")]
    skipped = _evaluation([*args, "--skip-without-sandbox"], missing, tmp_path)
    assert (skipped.returncode, skipped.stderr) == (0, "")
    assert skipped.stdout == f"pass@k skipped: cannot execute python samples: sandbox unavailable: " \
                             f"EVAL_BWRAP={tmp_path / 'no-bwrap'} is not an executable file\n"
    assert not (tmp_path / "eval").exists()
    # without the switch it is an error, still one line and no traceback
    failed = _evaluation(["--canonical", "--limit", "2", "--out", str(tmp_path / "eval")], missing, tmp_path)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines() == [f"evaluation error: cannot execute python samples: sandbox "
                                                  f"unavailable: EVAL_BWRAP={tmp_path / 'no-bwrap'} is not an "
                                                  "executable file"]


def test_make_run_passes_the_skip_switch_to_its_evaluation_step():
    import subprocess

    dry = subprocess.run(["make", "-n", "run", "OUTPUT=out/x"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    steps = [line for line in dry.stdout.replace("\\\n", " ").splitlines() if " -m evaluation " in line]
    assert len(steps) == 1 and "--skip-without-sandbox" in steps[0], dry.stdout
