"""CLI: `python -m deploy quantize ...` and `python -m deploy serve ...` (each subcommand's -h says the rest)."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {"quantize": "deploy.quantize", "serve": "deploy.serve"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m deploy {{{','.join(COMMANDS)}}} ...  (python -m deploy <command> -h)", file=sys.stderr)
        return 2
    # each command loads its heavy dependencies (llmcompressor, the server) only when it is the one asked for
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
