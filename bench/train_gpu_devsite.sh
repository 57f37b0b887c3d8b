#!/usr/bin/env bash
# For a GPU machine that has torch but not DeepSpeed and no internet (e.g. a lent device image with Python 3.12):
# gather DeepSpeed and its pure-Python dependencies from this venv, plus pydantic_core built for the target Python,
# into build/devsite (git-ignored). Carry that folder over, then run there:
#   PYTHONPATH=$PWD/build/devsite:$PWD PYTHON=python3 bash bench/train_gpu_check.sh
# Usage: bash bench/train_gpu_devsite.sh [TARGET_PYTHON_VERSION, default 3.12]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TARGET=${1:-3.12}
SITE=$("$PY" -c 'import importlib.util as u, os; print(os.path.dirname(os.path.dirname(u.find_spec("deepspeed").origin)))')
OUT=build/devsite
rm -rf "$OUT" build/devsite-wheels && mkdir -p "$OUT" build/devsite-wheels
for pkg in deepspeed hjson pydantic annotated_types typing_inspection typing_extensions.py; do
  cp -r "$SITE/$pkg" "$OUT/"
done
find "$OUT" -name __pycache__ -prune -exec rm -rf {} +
CORE=$("$PY" -c 'import pydantic_core; print(pydantic_core.__version__)')
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$TARGET" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d build/devsite-wheels "pydantic_core==$CORE"
(cd "$OUT" && python3 -m zipfile -e ../devsite-wheels/pydantic_core-*.whl .)
du -sh "$OUT"
