"""The code passes ruff (pyflakes errors, pycodestyle, import order) as configured in ruff.toml."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "common", "orchestration", "pipeline", "schemas", "tests", "bench",
                             "scripts", "dags", "evaluation"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
