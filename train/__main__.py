"""`python -m train [--preset P] [--config F.yaml] [--set k=v ...]`: one entry for python, torchrun and deepspeed."""
from __future__ import annotations

import argparse
import os
import sys

from common import typed_config
from train.config import PRESETS, TrainConfig, load
from train.procenv import extensions_dir, single_process_env


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__)
    p.add_argument("--preset", default="debug", choices=list(PRESETS), help="named recipe laid under the YAML/--set")
    p.add_argument("--config", help="YAML file over the preset")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key (repeatable)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--print-ds-config", type=int, metavar="WORLD_SIZE",
                   help="print the DeepSpeed JSON for this many processes and exit")
    p.add_argument("--check-layout", type=int, nargs=2, metavar=("NODES", "PROCS_PER_NODE"),
                   help="check that the parallel layout fits NODES x PROCS_PER_NODE processes (tensor-parallel groups "
                        "inside a node) and print it on stderr; exits 2 if it does not")
    p.add_argument("--help-config", action="store_true", help="list every key with its default and help")
    p.add_argument("--local_rank", "--local-rank", type=int, default=None,
                   help="set by the deepspeed launcher (LOCAL_RANK in the environment wins)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.local_rank is not None:
        os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    try:
        if args.help_config:
            for key, default, help_text in typed_config.describe(TrainConfig):
                print(f"{key} = {default}\n    {help_text}")
            return 0
        cfg = load(args.preset, args.config, args.set)
        if args.check_layout:
            from train.config import describe_layout

            print(f"layout: {describe_layout(cfg, *args.check_layout)}", file=sys.stderr)
        if args.print_config:
            print(typed_config.to_yaml(cfg), end="")
            return 0
        if args.print_ds_config:
            import json

            from train.ds_config import build

            print(json.dumps(build(cfg, args.print_ds_config), indent=2))
            return 0
    except typed_config.ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    single_process_env()
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", extensions_dir())
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    import warnings

    # DeepSpeed 0.19 calls a torch.distributed API that torch 2.13 deprecates, once per rank and step 1
    warnings.filterwarnings("ignore", message=".*all_gather_into_tensor.*deprecated", category=FutureWarning)
    from train.data import DataError
    from train.loop import train

    try:
        train(cfg)
    except typed_config.ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except DataError as e:
        print(f"data error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
