"""Which code-comment pairs are held out of SFT training for the comment-BLEU evaluation: a hash of (seed, pair id),
so the tokenize stage and the evaluation pick exactly the same pairs without sharing any state."""
from __future__ import annotations

import hashlib

DEFAULT_FRACTION = 0.05
DEFAULT_SEED = 0


def is_held_out(pair_id: str, fraction: float = DEFAULT_FRACTION, seed: int = DEFAULT_SEED) -> bool:
    draw = int.from_bytes(hashlib.blake2b(f"{seed}:{pair_id}".encode(), digest_size=8).digest(), "big")
    return draw / 2**64 < fraction
