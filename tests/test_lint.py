"""The code passes ruff (pyflakes errors, pycodestyle, import order) as configured in ruff.toml: every tracked .py
file of the tree, model/ and train/ included."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_files() -> list[str]:
    """Every .py file git tracks; outside a git checkout (an unpacked sdist) the whole tree, as ruff walks it."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", "*.py"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ["."]
    files = [f for f in listed.stdout.decode().split("\0") if f and (ROOT / f).exists()]
    return files or ["."]


def test_every_python_file_is_checked():
    files = _python_files()
    if files != ["."]:
        tops = {Path(f).parts[0] for f in files}
        assert {"model", "train", "pipeline", "evaluation", "tests"} <= tops, sorted(tops)


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--force-exclude", *_python_files()], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
