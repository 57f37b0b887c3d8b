"""The embedded default input: real code already on this machine (the standard library, C headers, our packages)."""
from __future__ import annotations

import os
import sysconfig


def default_inputs() -> list[str]:
    """`name=path` inputs: CPython's standard library, its C headers, and this environment's site-packages."""
    paths = sysconfig.get_paths()
    found = [("stdlib", paths["stdlib"]), ("include", paths["include"]), ("site-packages", paths["purelib"])]
    return [f"{name}={path}" for name, path in found if os.path.isdir(path)]


def default_skip_dirs(base: list[str]) -> list[str]:
    """The standard library folder holds the interpreter's own site-packages: not part of the default corpus
    (this environment's packages come in as their own input)."""
    return base + [d for d in ("site-packages", "dist-packages") if d not in base]
