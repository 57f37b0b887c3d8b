"""Tensor-parallel rules and sequence-parallel collectives: split/merge are exact inverses on head boundaries, the
degree of a checkpoint is read from its files, and the three autograd functions move values and gradients as
Megatron's do (checked in 2 real gloo processes against the same sums done by hand)."""
from __future__ import annotations

import os

import pytest
import torch
import torch.multiprocessing as mp

from model import FLAVORS, GPTNeoX
from train import parallel
from train.procenv import free_port


def test_split_keeps_whole_heads_of_q_k_and_v_and_merge_undoes_it():
    cfg = FLAVORS["debug"]  # 4 heads of 16
    torch.manual_seed(0)
    full = GPTNeoX(cfg).state_dict()
    shards = [parallel.split(full, 2, r) for r in range(2)]
    qkv = full["blocks.0.attn.qkv.weight"].reshape(3, cfg.heads, cfg.head_dim, cfg.hidden)  # (q|k|v, head, dim, in)
    local = shards[1]["blocks.0.attn.qkv.weight"].reshape(3, cfg.heads // 2, cfg.head_dim, cfg.hidden)
    assert torch.equal(local, qkv[:, 2:])                     # rank 1: heads 2 and 3 of q, of k and of v
    assert shards[1]["blocks.0.attn.proj.weight"].shape == (cfg.hidden, cfg.hidden // 2)   # row: input features
    assert shards[0]["blocks.0.mlp.fc_in.bias"].shape == (cfg.ffn // 2,)
    assert shards[0]["blocks.0.mlp.fc_out.bias"] is full["blocks.0.mlp.fc_out.bias"]       # row bias: replicated
    assert shards[0]["head.weight"] is full["head.weight"]
    merged = parallel.merge(shards)
    assert merged.keys() == full.keys() and all(torch.equal(merged[k], full[k]) for k in full)


def test_checkpoint_degree_and_the_refusal_names_both_degrees(tmp_path):
    for r in range(2):
        (tmp_path / f"mp_rank_{r:02d}_model_states.pt").write_bytes(b"x")
        (tmp_path / f"zero_pp_rank_0_mp_rank_{r:02d}_optim_states.pt").write_bytes(b"x")
    assert parallel.checkpoint_degree(tmp_path) == 2
    parallel.refuse_other_degree(tmp_path, 2)
    with pytest.raises(RuntimeError, match="written with parallel.tensor=2, this job runs parallel.tensor=1"):
        parallel.refuse_other_degree(tmp_path, 1)


def _collectives(rank: int, world: int, port: int, queue) -> None:
    import torch.distributed as dist

    from train.sequence_parallel import GatherFromSequence, ReduceScatterToSequence, ScatterToSequence

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        g = torch.Generator().manual_seed(7)
        x = torch.randn(2, 8, 3, generator=g)                             # the same full tensor on both ranks
        per_rank = [torch.randn(2, 8, 3, generator=g) for _ in range(world)]  # rank r's partial tensor
        group, mine = dist.group.WORLD, slice(4 * rank, 4 * rank + 4)
        checks = {}

        local = x[:, mine].clone().requires_grad_()                      # all-gather fwd / reduce-scatter bwd
        out = GatherFromSequence.apply(local, group)
        (out * per_rank[rank]).sum().backward()
        checks["gather"] = torch.equal(out, x)
        checks["gather_grad"] = torch.allclose(local.grad, sum(per_rank)[:, mine], atol=1e-6)

        local = x[:, mine].clone().requires_grad_()                      # all-gather fwd / slice bwd
        out = GatherFromSequence.apply(local, group, False)
        (out * x).sum().backward()                                       # the same gradient on every rank
        checks["gather_noreduce_grad"] = torch.equal(local.grad, x[:, mine])

        part = per_rank[rank].clone().requires_grad_()                   # reduce-scatter fwd / all-gather bwd
        out = ReduceScatterToSequence.apply(part, group)
        (out * x[:, mine]).sum().backward()
        checks["reduce_scatter"] = torch.allclose(out, sum(per_rank)[:, mine], atol=1e-6)
        checks["reduce_scatter_grad"] = torch.equal(part.grad, x)

        full = x.clone().requires_grad_()                                # slice fwd / all-gather bwd
        out = ScatterToSequence.apply(full, group)
        (out * per_rank[rank][:, mine]).sum().backward()
        checks["scatter"] = torch.equal(out, x[:, mine])
        checks["scatter_grad"] = torch.equal(full.grad, torch.cat([p[:, 4 * r:4 * r + 4]
                                                                    for r, p in enumerate(per_rank)], dim=1))
        queue.put((rank, checks))
    finally:
        dist.destroy_process_group()


def test_sequence_parallel_collectives_in_two_processes():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_collectives, args=(r, 2, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    for rank in (0, 1):
        assert results[rank] and all(results[rank].values()), (rank, results[rank])
