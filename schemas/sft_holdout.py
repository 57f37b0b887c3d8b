"""Which SFT samples are held out of training for evaluation: a hash of (seed, pair id or sample id), so the tokenize
stage and the evaluation pick exactly the same ones without sharing any state; and the held-out file's shape."""
from __future__ import annotations

import hashlib

import pyarrow as pa

DEFAULT_FRACTION = 0.05
DEFAULT_SEED = 0

# Beside the token shards: <tokens>/heldout/ holds JSON lines of SFT_HELDOUT (one part file, sorted by task, id).
HELDOUT_DIR = "heldout"
MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
SFT_HELDOUT = pa.schema(
    [
        pa.field("task", pa.string(), nullable=False, metadata={"doc": "the task's name in the manifest's tasks"}),
        pa.field("id", pa.string(), nullable=False, metadata={"doc": "the sample's stable id"}),
        pa.field("messages", MESSAGES, metadata={"doc": "the prompt: every turn before the last bot turn"}),
        pa.field("reference", pa.string(), metadata={"doc": "the last bot turn's content: the answer to compare"}),
    ]
)


def is_held_out(pair_id: str, fraction: float = DEFAULT_FRACTION, seed: int = DEFAULT_SEED) -> bool:
    draw = int.from_bytes(hashlib.blake2b(f"{seed}:{pair_id}".encode(), digest_size=8).digest(), "big")
    return draw / 2**64 < fraction


def prompt_and_reference(messages: list[dict]) -> tuple[list[dict], str]:
    """(the turns before the last bot turn, that turn's content): what a model is asked and what it should say."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "bot")
    return list(messages[:last]), messages[last]["content"]
