"""The GPT-NeoX-style decoder: rotary attention and GELU MLP in parallel on one residual, untied output head."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from model.attention import DocLayout, DocStarts, causal_attention, doc_layout
from model.config import ModelConfig


class Rotary(nn.Module):
    """Rotary position tables for the first rotary_dim dims of each head (NeoX "rotate half" pairing: i, i + dim/2)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        dim = cfg.rotary_dim
        inv_freq = 1.0 / (cfg.rotary_base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))  # [dim/2]
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions [T] or [B, T] -> cos, signed sin [1 or B, T, 1, 1, dim] float32 (broadcast over q/k and heads).

        The sin table carries rotate-half's sign, (-sin, sin), so that apply_rotary needs no negation."""
        freqs = positions.float()[..., None] * self.inv_freq.to(positions.device)  # [..., T, dim/2]
        if freqs.dim() == 2:
            freqs = freqs[None]
        cos, sin = freqs.cos(), freqs.sin()
        cos, sin = torch.cat((cos, cos), dim=-1), torch.cat((-sin, sin), dim=-1)  # [1|B, T, dim]
        return cos[:, :, None, None], sin[:, :, None, None]


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first cos.shape[-1] dims of x [B, T, ..., D]; the rest pass through unchanged.

    x * cos + rotate_half(x) * sin, with rotate_half(x) = (-x2, x1) written as (x2, x1) times the signed sin."""
    dim = cos.shape[-1]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    rot, rest = (x, None) if dim == x.shape[-1] else (x[..., :dim], x[..., dim:])
    x1, x2 = rot.chunk(2, dim=-1)
    rotated = rot * cos + torch.cat((x2, x1), dim=-1) * sin
    return rotated if rest is None else torch.cat((rotated, rest), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.heads, self.head_dim = cfg.heads, cfg.head_dim
        # fused projection, rows ordered [q of all heads | k of all heads | v of all heads] (model/hf.py interleaves)
        self.qkv = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.backend = "auto"  # "auto" | "sdpa" | "flash_attn", set by GPTNeoX.attn_backend

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, layout: DocLayout | None) -> torch.Tensor:
        b, t, _ = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.heads, self.head_dim)  # [B, T, 3, H, D]
        q, k = apply_rotary(qkv[:, :, :2], cos, sin).unbind(dim=2)  # q and k rotated in one pass: 2 x [B, T, H, D]
        v = qkv[:, :, 2]                                            # [B, T, H, D]
        y = causal_attention(q, k, v, layout, self.backend)                            # [B, T, H, D]
        return self.proj(y.reshape(b, t, -1))                                          # [B, T, hidden]


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc_in = nn.Linear(cfg.hidden, cfg.ffn)
        self.fc_out = nn.Linear(cfg.ffn, cfg.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_out(F.gelu(self.fc_in(x)))  # [B, T, hidden] -> [B, T, ffn] -> [B, T, hidden]


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.parallel = cfg.parallel_residual
        self.ln_attn = nn.LayerNorm(cfg.hidden, eps=cfg.layernorm_eps)
        self.ln_mlp = nn.LayerNorm(cfg.hidden, eps=cfg.layernorm_eps)
        self.attn = Attention(cfg)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, layout: DocLayout | None) -> torch.Tensor:
        if self.parallel:  # GPT-J / NeoX: both branches read the same residual
            return x + self.attn(self.ln_attn(x), cos, sin, layout) + self.mlp(self.ln_mlp(x))
        x = x + self.attn(self.ln_attn(x), cos, sin, layout)
        return x + self.mlp(self.ln_mlp(x))


class GPTNeoX(nn.Module):
    """Decoder-only language model; logits cover padded_vocab_size columns, of which only vocab_size are ever real.

    Document masking: when doc_starts marks more than one document in a row, each token attends only to earlier
    tokens of its own document, and rotary positions restart at 0 at each document's first token, so a packed
    document sees exactly what it would see alone in a row (tests/model/test_doc_mask.py checks this).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.padded_vocab_size, cfg.hidden)
        self.rotary = Rotary(cfg)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.hidden, eps=cfg.layernorm_eps)
        self.head = nn.Linear(cfg.hidden, cfg.padded_vocab_size, bias=False)  # untied from tok_emb
        self.gradient_checkpointing = False
        # > 0: loss() runs head + cross entropy over this many tokens at a time, recomputing each chunk's logits in
        # backward, so [B, T, vocab] logits never exist at once (about +1/3 of the head's FLOPs; 0: one pass)
        self.loss_chunk_tokens = 0
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Normal(0, init_std) embeddings and linears; residual output projections std / sqrt(2 * layers) (GPT-2);
        zero biases; unit LayerNorms; zero head rows for the padded vocabulary."""
        std, out_std = self.cfg.init_std, self.cfg.init_std / math.sqrt(2 * self.cfg.layers)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=out_std if name.endswith(("attn.proj", "mlp.fc_out")) else std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=std)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        self.head.weight[self.cfg.vocab_size:] = 0.0

    @property
    def attn_backend(self) -> str:
        return self.blocks[0].attn.backend if len(self.blocks) else "auto"

    @attn_backend.setter
    def attn_backend(self, backend: str) -> None:
        if backend not in ("auto", "sdpa", "flash_attn"):
            raise ValueError(f"attention backend {backend!r} is not one of auto, sdpa, flash_attn")
        for block in self.blocks:
            block.attn.backend = backend

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def hidden_states(self, input_ids: torch.Tensor, doc_starts: DocStarts = None) -> torch.Tensor:
        """input_ids [B, T] -> final-LayerNorm output [B, T, hidden]."""
        b, t = input_ids.shape
        if t > self.cfg.max_seq_len:
            raise ValueError(f"sequence length {t} exceeds max_seq_len {self.cfg.max_seq_len}")
        layout = doc_layout(doc_starts, b, t, input_ids.device)
        positions = torch.arange(t, device=input_ids.device) if layout is None else layout.positions  # [T] or [B, T]
        cos, sin = self.rotary(positions)                                                       # [1|B, T, 1, 1, rot]
        x = self.tok_emb(input_ids)                                                                # [B, T, hidden]
        for block in self.blocks:
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, cos, sin, layout, use_reentrant=False)
            else:
                x = block(x, cos, sin, layout)
        return self.ln_f(x)

    def forward(self, input_ids: torch.Tensor, doc_starts: DocStarts = None) -> torch.Tensor:
        """input_ids [B, T] (LongTensor), doc_starts: optional per-row document starts -> [B, T, padded_vocab]."""
        return self.head(self.hidden_states(input_ids, doc_starts))

    def loss(self, input_ids: torch.Tensor, targets: torch.Tensor, loss_mask: torch.Tensor | None = None,
             doc_starts: DocStarts = None) -> torch.Tensor:
        """Mean cross entropy over counted tokens: loss_mask [B, T] (1/0 float or bool) selects them, targets of -100
        are never counted. Only the first vocab_size logit columns enter the softmax, so padded ids are never
        predicted (and their head rows get no gradient). The head runs as a module call, so that hooks that
        gather partitioned weights (ZeRO-3) see it."""
        h = self.hidden_states(input_ids, doc_starts)                           # [B, T, hidden]
        flat_h, flat_targets = h.reshape(-1, h.shape[-1]), targets.reshape(-1)  # [N, hidden], [N]
        weight = flat_targets != -100
        if loss_mask is not None:
            weight = weight * loss_mask.reshape(-1).to(torch.float32)
        weight = weight.to(torch.float32)                                       # [N] 1.0 where counted
        chunk = self.loss_chunk_tokens
        if chunk <= 0 or flat_h.shape[0] <= chunk:
            total = self._weighted_ce(flat_h, flat_targets, weight)
        else:
            total = sum(checkpoint(self._weighted_ce, flat_h[i:i + chunk], flat_targets[i:i + chunk],
                                   weight[i:i + chunk], use_reentrant=False)
                        for i in range(0, flat_h.shape[0], chunk))
        return total / weight.sum().clamp(min=1.0)

    def token_losses(self, input_ids: torch.Tensor, targets: torch.Tensor, doc_starts: DocStarts = None
                     ) -> torch.Tensor:
        """Cross entropy of every target, flattened [B * T] float32 (0 where the target is -100), over the real
        vocabulary and in loss_chunk_tokens chunks as loss() computes it: for losses that weigh tokens by more
        than a mask (train/sft_loss.py balances them per task)."""
        h = self.hidden_states(input_ids, doc_starts)                           # [B, T, hidden]
        flat_h, flat_targets = h.reshape(-1, h.shape[-1]), targets.reshape(-1)  # [N, hidden], [N]
        chunk = self.loss_chunk_tokens
        if chunk <= 0 or flat_h.shape[0] <= chunk:
            return self._token_ce(flat_h, flat_targets)
        return torch.cat([checkpoint(self._token_ce, flat_h[i:i + chunk], flat_targets[i:i + chunk],
                                     use_reentrant=False) for i in range(0, flat_h.shape[0], chunk)])

    def _token_ce(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross entropy over the real vocabulary for h [N, hidden], targets [N] -> [N] float32."""
        logits = self.head(h)                                                   # [N, padded_vocab]
        if self.cfg.vocab_size < logits.shape[-1]:
            logits = logits[:, : self.cfg.vocab_size]                           # [N, vocab]
        return F.cross_entropy(logits.float(), targets, ignore_index=-100, reduction="none")  # [N]

    def _weighted_ce(self, h: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Sum of weight * cross entropy over the real vocabulary for h [N, hidden], targets [N], weight [N]."""
        return (self._token_ce(h, targets) * weight).sum()
