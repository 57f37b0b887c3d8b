"""Megatron sequence parallelism (Korthikanti et al. 2022) laid over an AutoTP-split GPTNeoX from the train side.

Inside a tensor-parallel group of t ranks the residual stream [B, T, h] is split along the sequence: every rank
holds T/t positions, and the LayerNorms run on that slice. Before the column-parallel linears (attn.qkv, mlp.fc_in)
the slice is all-gathered (its backward reduce-scatters the partial input gradients); after the row-parallel linears
(attn.proj, mlp.fc_out) the partial outputs are reduce-scattered back to slices (its backward all-gathers). Those
two collectives replace AutoTP's all-reduces (an all-reduce is a reduce-scatter plus an all-gather, so the volume is
the same), which is why the four linears run without AutoTP's collectives here. The embedding output is cut into
slices, and the final LayerNorm's output gathered whole again for the (replicated) output head and the loss.
DeepSpeed AutoTP offers no sequence parallelism (0.19), and model/ stays free of parallel code: all of it is forward
hooks on the existing modules, so parameter names, checkpoints and the export do not change.
"""
from __future__ import annotations

import types

import torch
import torch.distributed as dist
import torch.nn.functional as F

SEQ_DIM = 1  # activations are [B, T, h]


def _all_gather(x: torch.Tensor, group) -> torch.Tensor:
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
    dist.all_gather(parts, x.contiguous(), group=group)
    return torch.cat(parts, dim=SEQ_DIM)


def _reduce_scatter(x: torch.Tensor, group) -> torch.Tensor:
    parts = [p.contiguous() for p in x.chunk(dist.get_world_size(group), dim=SEQ_DIM)]
    out = torch.empty_like(parts[0])
    dist.reduce_scatter(out, parts, group=group)
    return out


def _slice(x: torch.Tensor, group) -> torch.Tensor:
    return x.chunk(dist.get_world_size(group), dim=SEQ_DIM)[dist.get_rank(group)].contiguous()


class GatherFromSequence(torch.autograd.Function):
    """Forward: all-gather the sequence slices. Backward: reduce-scatter (the gradients of the gathered tensor are
    partial sums, one per rank's heads or FFN columns), or, with reduce_grad=False, keep this rank's slice of a
    gradient every rank already holds in full (the replicated output head)."""

    @staticmethod
    def forward(ctx, x, group, reduce_grad: bool = True):
        ctx.group, ctx.reduce_grad = group, reduce_grad
        return _all_gather(x, group)

    @staticmethod
    def backward(ctx, grad):
        return (_reduce_scatter(grad, ctx.group) if ctx.reduce_grad else _slice(grad, ctx.group)), None, None


class ReduceScatterToSequence(torch.autograd.Function):
    """Forward: sum the ranks' partial outputs and keep this rank's sequence slice. Backward: all-gather."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return _reduce_scatter(x, group)

    @staticmethod
    def backward(ctx, grad):
        return _all_gather(grad, ctx.group), None


class ScatterToSequence(torch.autograd.Function):
    """Forward: keep this rank's slice of a tensor every rank holds in full. Backward: all-gather the slices."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        return _slice(x, group)

    @staticmethod
    def backward(ctx, grad):
        return _all_gather(grad, ctx.group), None


def _column_forward(self, x):
    """AutoTP's column layer without its backward all-reduce (the gather's reduce-scatter does it)."""
    return F.linear(x, self.weight, self.bias)


def _row_forward(self, x):
    """AutoTP's row layer without its all-reduce and bias: the region's reduce-scatter sums, then the bias is added."""
    return F.linear(x, self.weight)


def _region(module, column, row, group) -> None:
    """Gather before `module` (attention or MLP), reduce-scatter its output and add the row layer's bias."""
    column.forward = types.MethodType(_column_forward, column)
    row.forward = types.MethodType(_row_forward, row)

    def gather_input(_, args):
        return (GatherFromSequence.apply(args[0], group), *args[1:])

    def scatter_output(_, __, out):
        out = ReduceScatterToSequence.apply(out, group)
        return out if row.bias is None else out + row.bias

    module.register_forward_pre_hook(gather_input)
    module.register_forward_hook(scatter_output)


def install(model, group) -> None:
    """Make `model` (a GPTNeoX whose linears AutoTP has split over `group`) sequence parallel."""
    model.tok_emb.register_forward_hook(lambda _, __, out: ScatterToSequence.apply(out, group))
    for block in model.blocks:
        _region(block.attn, block.attn.qkv, block.attn.proj, group)
        _region(block.mlp, block.mlp.fc_in, block.mlp.fc_out, group)
    model.ln_f.register_forward_hook(lambda _, __, out: GatherFromSequence.apply(out, group, False))
