"""`make setup`'s sandbox check: installs bubblewrap where it may, else one line with the one command; never fails."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_sandbox.py"


def load():
    spec = importlib.util.spec_from_file_location("check_sandbox", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_advice_names_the_one_command():
    check = load()
    assert check.advice("bwrap not found", ["bubblewrap"], root=False) == (
        "evaluation sandbox unavailable (bwrap not found): `make run` will skip pass@k; to enable it: "
        "sudo apt-get install -y bubblewrap")
    assert check.advice("bwrap not found", ["bubblewrap"], root=True).endswith(
        "to enable it: apt-get install -y bubblewrap")
    assert check.advice("the sandbox drops from root", [], root=False).endswith(
        "to enable it: run `make run` / `make eval` as root (the sandbox drops from root to a per-sample uid)")
    assert check.advice("EVAL_BWRAP=/x is not an executable file", [], root=True).endswith(
        "to enable it: point EVAL_BWRAP at a bubblewrap binary, or unset it")


def test_as_root_with_apt_get_it_installs_what_is_missing(monkeypatch, capsys):
    check = load()
    left = [["bubblewrap"], []]
    ran = []
    monkeypatch.setattr(check.os, "geteuid", lambda: 0)
    monkeypatch.setattr(check.shutil, "which", lambda name, **_: f"/usr/bin/{name}")
    monkeypatch.setattr(check, "missing_packages", lambda: left.pop(0))
    monkeypatch.setattr(check.subprocess, "run", lambda cmd, **_: ran.append(cmd))
    monkeypatch.setattr(check.sandbox, "available", lambda: (True, ""))
    assert check.main() == 0
    assert ran == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "bubblewrap"]]
    assert capsys.readouterr().out.splitlines() == [
        "installing bubblewrap (the evaluation sandbox runs generated code in it)", "evaluation sandbox ok"]


def test_not_root_it_installs_nothing_and_says_the_command(monkeypatch, capsys):
    check = load()
    monkeypatch.setattr(check.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(check, "missing_packages", lambda: ["bubblewrap"])
    monkeypatch.setattr(check.subprocess, "run", lambda cmd, **_: (_ for _ in ()).throw(AssertionError(cmd)))
    monkeypatch.setattr(check.sandbox, "available", lambda: (False, "bwrap not found"))
    assert check.main() == 0
    assert capsys.readouterr().out == ("evaluation sandbox unavailable (bwrap not found): `make run` will skip "
                                       "pass@k; to enable it: sudo apt-get install -y bubblewrap\n")


def test_the_script_ends_0_with_one_line_when_the_sandbox_cannot_start(tmp_path):
    env = {**os.environ, "EVAL_BWRAP": str(tmp_path / "none")}
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (f"evaluation sandbox unavailable (EVAL_BWRAP={tmp_path / 'none'} is not an executable "
                           "file): `make run` will skip pass@k; to enable it: point EVAL_BWRAP at a bubblewrap "
                           "binary, or unset it\n")
