"""Each wing stands on its own: which top-level packages a package may import, checked over every import statement."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"common", "schemas", "model", "pipeline", "train", "evaluation", "orchestration", "dags"}
# package -> first-party packages it must never import (anywhere in a file: module top or inside a function)
FORBIDDEN = {
    "common": FIRST_PARTY - {"common"},  # the leaf: standard library and third-party only
    "schemas": FIRST_PARTY - {"common", "schemas"},
    "model": FIRST_PARTY - {"common", "model"},
    "pipeline": {"model", "train", "evaluation", "orchestration", "dags"},
    "train": {"pipeline", "evaluation", "orchestration", "dags"},
    "evaluation": {"pipeline", "train", "orchestration", "dags"},
    "orchestration": {"dags"},
}


def imported_roots(source: str) -> set[str]:
    """Top-level package names of every absolute import in `source` (relative imports stay inside the package)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_scanner_sees_imports_at_any_depth():
    source = "import os\nimport pipeline.config as c\ndef f():\n    from train.data import x\n" \
             "    from . import sibling\n    from evaluation import harness\n"
    assert imported_roots(source) == {"os", "pipeline", "train", "evaluation"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    wrong = {}
    for path in files:
        bad = imported_roots(path.read_text(encoding="utf-8")) & FORBIDDEN[package]
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert not wrong, f"{package}/ imports packages below it may not use: {wrong}"
