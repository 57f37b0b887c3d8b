"""Model shape (ModelConfig), the named flavors, and exact parameter and FLOP counts; `python -m model.config 13B`."""
from __future__ import annotations

import argparse
import dataclasses

VOCAB_MULTIPLE = 128


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """A GPT-NeoX-style decoder: rotary attention and MLP in parallel on one residual, LayerNorm, GELU, untied head."""

    vocab_size: int = 100_864          # the tokenizer's size; the embedding and head use padded_vocab_size rows
    hidden: int = 5120
    layers: int = 40
    heads: int = 40
    ffn: int = 20480
    max_seq_len: int = 4096
    rotary_pct: float = 1.0            # fraction of each head's dims that rotary rotates (CodeFuse-13B: the full head)
    rotary_base: float = 10000.0
    layernorm_eps: float = 1e-5
    init_std: float = 0.02             # normal init of embeddings and linears; output projections get std/sqrt(2L)
    parallel_residual: bool = True     # GPT-J style: x + attn(ln1(x)) + mlp(ln2(x))

    def __post_init__(self):
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not a multiple of heads {self.heads}")
        if not 0.0 < self.rotary_pct <= 1.0:
            raise ValueError(f"rotary_pct {self.rotary_pct} must be in (0, 1]")
        if self.rotary_dim % 2:
            raise ValueError(f"rotary dims {self.rotary_dim} (head_dim * rotary_pct) must be even")
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size {self.vocab_size} must be positive")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def rotary_dim(self) -> int:
        """Rotated dims per head, as transformers computes them: int(head_dim * rotary_pct)."""
        return int(self.head_dim * self.rotary_pct)

    @property
    def padded_vocab_size(self) -> int:
        """vocab_size rounded up to a multiple of 128 (tensor-core friendly); the extra rows are never predicted."""
        return -(-self.vocab_size // VOCAB_MULTIPLE) * VOCAB_MULTIPLE

    def with_vocab(self, vocab_size: int) -> ModelConfig:
        return dataclasses.replace(self, vocab_size=vocab_size)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def num_params(self, embeddings: bool = True) -> int:
        """Exact trainable parameter count of GPTNeoX(self) (padded vocab, biases and LayerNorms included)."""
        h, f = self.hidden, self.ffn
        per_layer = (
            2 * 2 * h                  # input_layernorm, post_attention_layernorm: weight + bias
            + h * 3 * h + 3 * h        # fused query_key_value
            + h * h + h                # attention output dense
            + h * f + f                # dense_h_to_4h
            + f * h + h                # dense_4h_to_h
        )
        total = self.layers * per_layer + 2 * h  # + final LayerNorm
        if embeddings:
            total += 2 * self.padded_vocab_size * h  # embed_in + untied lm_head
        return total

    def flops_per_token(self, seq_len: int) -> int:
        """Training FLOPs per token: 6 * N + 12 * L * h * s.

        6N counts forward (2N) and backward (4N) of every matrix multiply over all N parameters, the input embedding
        included as is customary (it over-counts by 6 * V * h: the input embedding is a lookup). 12 * L * h * s is the
        attention scores: QK^T and AV each cost 2 * s * h FLOPs per token per layer forward, times 3 for forward and
        backward. The causal half is not discounted (PaLM appendix B, Megatron), so MFU compares with their tables.
        """
        return 6 * self.num_params() + 12 * self.layers * self.hidden * seq_len


FLAVORS: dict[str, ModelConfig] = {
    # the test fixture: small enough that a forward, backward and HF parity check take milliseconds
    "debug": ModelConfig(vocab_size=1000, hidden=64, layers=2, heads=4, ffn=256, max_seq_len=256),
    # GPT-3 350M / 1.3B / GPT-J-6B shapes with head dim 128 (flash-attention friendly) and the CodeFuse vocabulary
    "350M": ModelConfig(hidden=1024, layers=24, heads=16, ffn=4096, max_seq_len=2048),
    "1.3B": ModelConfig(hidden=2048, layers=24, heads=16, ffn=8192, max_seq_len=4096),
    "6B": ModelConfig(hidden=4096, layers=28, heads=32, ffn=16384, max_seq_len=4096),
    # CodeFuse-13B: 40 layers, hidden 5120, 40 heads, FFN 20480, context 4096, vocabulary 100,864, full rotary
    "13B": ModelConfig(hidden=5120, layers=40, heads=40, ffn=20480, max_seq_len=4096),
    # 13B's layer shapes and vocabulary with 6 of its 40 layers: one GPU measures the 13B kernels' speed and the
    # per-layer activation memory (bench/train_gpu_13b_probe.sh) without holding 13B's optimizer states
    "13B-probe": ModelConfig(hidden=5120, layers=6, heads=40, ffn=20480, max_seq_len=4096),
}


def describe(name: str, cfg: ModelConfig) -> str:
    return (f"{name}: layers={cfg.layers} hidden={cfg.hidden} heads={cfg.heads} ffn={cfg.ffn} "
            f"context={cfg.max_seq_len} vocab={cfg.vocab_size} (padded {cfg.padded_vocab_size}) "
            f"rotary={cfg.rotary_pct:g}x{cfg.head_dim} base={cfg.rotary_base:g}\n"
            f"  parameters: {cfg.num_params():,} ({cfg.num_params(embeddings=False):,} without embeddings)\n"
            f"  training FLOPs/token at seq {cfg.max_seq_len}: {cfg.flops_per_token(cfg.max_seq_len):,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a flavor's shape and exact parameter count.")
    parser.add_argument("flavors", nargs="*", default=list(FLAVORS), help=f"any of {list(FLAVORS)}")
    args = parser.parse_args(argv)
    for name in args.flavors:
        if name not in FLAVORS:
            parser.error(f"unknown flavor {name!r}; choose from {list(FLAVORS)}")
        print(describe(name, FLAVORS[name]))


if __name__ == "__main__":
    main()
