"""DeepSpeed hostfile for N nodes x 8 GPUs, and the matching deepspeed / torchrun launch lines:
`python -m train.hostfile --hosts 'node[01-64]' --out hostfile` (or from SLURM_JOB_NODELIST, or --nodes N)."""
from __future__ import annotations

import argparse
import os
import re
import shlex
from pathlib import Path

_RANGE = re.compile(r"^(\d+)-(\d+)$")


def expand_hosts(spec: str) -> list[str]:
    """Slurm-style host lists: 'gpu[01-03,07],login1' -> ['gpu01', 'gpu02', 'gpu03', 'gpu07', 'login1']."""
    hosts, depth, part = [], 0, ""
    for ch in spec + ",":
        if ch == "," and depth == 0:
            if part.strip():
                hosts.extend(_expand_one(part.strip()))
            part = ""
            continue
        depth += (ch == "[") - (ch == "]")
        part += ch
    return hosts


def _expand_one(item: str) -> list[str]:
    m = re.match(r"^(.*?)\[([^\]]+)\](.*)$", item)
    if not m:
        return [item]
    prefix, body, rest = m.groups()
    out = []
    for piece in body.split(","):
        r = _RANGE.match(piece)
        if r:
            lo, hi = r.groups()
            out += [f"{prefix}{i:0{len(lo)}d}" for i in range(int(lo), int(hi) + 1)]
        else:
            out.append(prefix + piece)
    return [h for x in out for h in _expand_one(x + rest)]


def hostfile_text(hosts: list[str], slots: int = 8) -> str:
    if len(set(hosts)) != len(hosts):
        raise ValueError("a host is listed twice")
    return "".join(f"{h} slots={slots}\n" for h in hosts)


def launch_lines(hosts: list[str], slots: int, hostfile: str, train_args: str, port: int = 29500) -> list[str]:
    """The same job under the deepspeed launcher (ssh to every host from the first) and under torchrun (run the
    line on every host, e.g. with srun)."""
    first = hosts[0]
    return [
        f"deepspeed --hostfile {hostfile} --master_addr {first} --master_port {port} --module train {train_args}",
        f"torchrun --nnodes {len(hosts)} --nproc_per_node {slots} --rdzv_backend c10d "
        f"--rdzv_endpoint {first}:{port} --rdzv_id codefuse -m train {train_args}",
    ]


def layout_line(hosts: list[str], slots: int, train_args: str) -> str:
    """How the job in `train_args` (its --preset and --set keys) splits over these hosts: tensor-parallel groups are
    consecutive ranks, and both launchers number a host's slots consecutively, so a group sits inside one host
    exactly when slots is a multiple of parallel.tensor (checked, with the batch arithmetic)."""
    from train.__main__ import _parser
    from train.config import describe_layout, load

    args, _ = _parser().parse_known_args(shlex.split(train_args))
    return describe_layout(load(args.preset, args.config, args.set), len(hosts), slots)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hosts", default=os.environ.get("SLURM_JOB_NODELIST", ""),
                   help="host list, Slurm syntax allowed (default: $SLURM_JOB_NODELIST)")
    p.add_argument("--nodes", type=int, help="no host list: name nodes node000 .. node<N-1>")
    p.add_argument("--slots", type=int, default=8, help="GPUs per node")
    p.add_argument("--out", default="hostfile")
    p.add_argument("--train-args", default="--preset 13B --set data.manifest=/data/shards/manifest.json",
                   help="arguments of `python -m train` shown in the launch lines")
    a = p.parse_args(argv)
    hosts = expand_hosts(a.hosts) if a.hosts else [f"node{i:03d}" for i in range(a.nodes or 0)]
    if not hosts:
        p.error("give --hosts, --nodes, or run inside a Slurm allocation")
    from common.typed_config import ConfigError

    try:
        layout = layout_line(hosts, a.slots, a.train_args)
    except ConfigError as e:
        p.error(f"the job does not fit {len(hosts)} nodes x {a.slots} GPUs: {e}")
    Path(a.out).write_text(hostfile_text(hosts, a.slots))
    print(f"wrote {a.out}: {len(hosts)} nodes x {a.slots} GPUs = {len(hosts) * a.slots} ranks")
    print(f"layout: {layout}")
    for line in launch_lines(hosts, a.slots, shlex.quote(a.out), a.train_args):
        print(line)


if __name__ == "__main__":
    main()
