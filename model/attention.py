"""Causal attention kernels (flash_attn on a GPU when importable, else SDPA) and document-masking layouts."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F

# doc_starts as the model takes it: one sequence of start positions per row (list, tuple or 1-D tensor), or None
DocStarts = Sequence[Sequence[int] | torch.Tensor] | None


_FLASH_ATTN: list = []  # filled once: [(flash_attn_func, flash_attn_varlen_func) or None]


def _flash_attn():
    """The flash_attn package's (func, varlen_func), or None when it is not importable (looked up once)."""
    if not _FLASH_ATTN:
        try:
            from flash_attn import flash_attn_func, flash_attn_varlen_func
            _FLASH_ATTN.append((flash_attn_func, flash_attn_varlen_func))
        except Exception:  # ImportError, or a build that fails to load its CUDA library
            _FLASH_ATTN.append(None)
    return _FLASH_ATTN[0]


def use_flash_attn(q: torch.Tensor, backend: str = "auto") -> bool:
    """flash_attn runs for backend "flash_attn", or "auto" on CUDA half-precision tensors when the package imports."""
    if backend == "sdpa":
        return False
    usable = q.is_cuda and q.dtype in (torch.float16, torch.bfloat16) and _flash_attn() is not None
    if backend == "flash_attn" and not usable:
        raise RuntimeError("attention backend 'flash_attn' needs the flash_attn package, CUDA and fp16/bf16 inputs")
    return usable


@dataclasses.dataclass
class DocLayout:
    """Where documents begin inside a packed batch, in the forms each kernel wants.

    positions: [B, T] rotary position of each token, restarting at 0 where its document begins.
    doc_ids:   [B, T] index of each token's document within its row.
    cu_seqlens / max_seqlen: flash_attn varlen boundaries over the flattened B*T tokens (every row boundary included).
    """

    positions: torch.Tensor
    doc_ids: torch.Tensor
    cu_seqlens: torch.Tensor
    max_seqlen: int

    @functools.cached_property
    def sdpa_mask(self) -> torch.Tensor:
        """[B, 1, T, T] bool, True where attention is allowed: causal and inside the same document."""
        t = self.doc_ids.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=self.doc_ids.device).tril()
        same_doc = self.doc_ids[:, :, None] == self.doc_ids[:, None, :]  # [B, T, T]
        return (same_doc & causal)[:, None]


def doc_layout(doc_starts: DocStarts, batch: int, seq_len: int, device: torch.device) -> DocLayout | None:
    """Build the layout from per-row start positions; None when no row holds a second document.

    doc_starts: per row a list or 1-D tensor (any device), or one [B, K] tensor; negative entries are padding.
    Starts at or beyond seq_len are ignored (a shard row holds seq_len + 1 ids, the inputs are the first seq_len),
    and position 0 always starts a document.
    """
    if doc_starts is None:
        return None
    if len(doc_starts) != batch:
        raise ValueError(f"doc_starts has {len(doc_starts)} rows, the batch has {batch}")
    is_start = torch.zeros(batch, seq_len, dtype=torch.bool)
    for row, starts in enumerate(doc_starts):
        starts = torch.as_tensor(starts).to("cpu", torch.long).reshape(-1)
        is_start[row, starts[(starts >= 0) & (starts < seq_len)]] = True
    is_start[:, 0] = True
    if int(is_start.sum()) == batch:
        return None
    arange = torch.arange(seq_len)
    begin = torch.cummax(torch.where(is_start, arange, 0), dim=1).values  # [B, T] start of each token's document
    flat_starts = is_start.reshape(-1).nonzero().reshape(-1)             # [D] over the flattened B*T tokens
    cu_seqlens = torch.cat([flat_starts, torch.tensor([batch * seq_len])]).to(torch.int32)
    max_seqlen = int((cu_seqlens[1:] - cu_seqlens[:-1]).max())
    return DocLayout(positions=(arange - begin).to(device), doc_ids=(is_start.cumsum(1) - 1).to(device),
                     cu_seqlens=cu_seqlens.to(device), max_seqlen=max_seqlen)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: DocLayout | None = None,
                     backend: str = "auto") -> torch.Tensor:
    """Scaled dot-product causal attention; q, k, v and the result are [B, T, H, D]."""
    b, t, h, d = q.shape
    if use_flash_attn(q, backend):
        flash_func, flash_varlen = _flash_attn()
        if layout is None:
            return flash_func(q, k, v, causal=True)
        out = flash_varlen(q.reshape(b * t, h, d), k.reshape(b * t, h, d), v.reshape(b * t, h, d),
                           layout.cu_seqlens, layout.cu_seqlens, layout.max_seqlen, layout.max_seqlen, causal=True)
        return out.view(b, t, h, d)
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))  # [B, H, T, D]
    if layout is None:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=layout.sdpa_mask)
    return out.transpose(1, 2)  # [B, T, H, D]
