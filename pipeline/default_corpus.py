"""The embedded default input: real code already on this machine (the standard library, C headers, our packages)."""
from __future__ import annotations

import os
import sysconfig


def default_inputs() -> list[str]:
    """`name=path` inputs: CPython's standard library, its C headers, and this environment's site-packages."""
    paths = sysconfig.get_paths()
    found = [("stdlib", paths["stdlib"]), ("include", paths["include"]), ("site-packages", paths["purelib"])]
    return [f"{name}={path}" for name, path in found if os.path.isdir(path)]


# The training stack (torch and what it pulls in: ~1 GB, ~20,000 files) would triple the default run's time and
# teach the demo nothing new; its folder names are skipped wherever they occur in the default corpus.
TRAINING_STACK = ("torch", "torchgen", "functorch", "transformers", "deepspeed", "sympy", "networkx", "tensorboard",
                  "triton", "nvidia")


def default_skip_dirs(base: list[str]) -> list[str]:
    """The standard library folder holds the interpreter's own site-packages: not part of the default corpus
    (this environment's packages come in as their own input); nor is the training stack."""
    return base + [d for d in ("site-packages", "dist-packages", *TRAINING_STACK) if d not in base]
