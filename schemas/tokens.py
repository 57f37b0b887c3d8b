"""The token shard contract between pipeline/ (writes) and train/ (reads): shard rows and the manifest JSON."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pyarrow as pa

MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"
MODES = ("pretrain", "sft")

# One row per training sequence: exactly seq_len + 1 token ids (inputs are [:-1], targets [1:]).
TOKEN_SHARD = pa.schema(
    [
        pa.field("input_ids", pa.list_(pa.uint32()), nullable=False,
                 metadata={"doc": "seq_len + 1 token ids; uint32 because the 13B vocabulary (100,864) exceeds 65,535"}),
        pa.field("doc_starts", pa.list_(pa.int32()), nullable=False,
                 metadata={"doc": "positions in input_ids where a document begins (always holds 0): the boundaries "
                                  "for document-masked attention; a document cut by the packer continues in the "
                                  "next sequence and starts it"}),
        pa.field("loss_mask", pa.list_(pa.uint8()),
                 metadata={"doc": "sft mode: 1 on tokens the loss counts (bot turns), 0 elsewhere, same length as "
                                  "input_ids; null in pretrain mode (every token counts)"}),
        pa.field("task_ids", pa.list_(pa.int16()),
                 metadata={"doc": "sft mode: per token, the index in the manifest's `tasks` of the task whose sample "
                                  "the token belongs to (-1 on padding), same length as input_ids; null in pretrain "
                                  "mode and in sft shards written before tasks existed (all tokens one task)"}),
    ]
)


@dataclasses.dataclass(frozen=True)
class ShardEntry:
    path: str          # relative to the manifest's folder
    rows: int          # sequences in the shard
    tokens: int        # rows * (seq_len + 1)
    sha256: str        # hex digest of the shard file's bytes


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What the trainer reads: nothing else about the data side reaches train/."""

    mode: str                      # "pretrain" or "sft"
    seq_len: int                   # each row holds seq_len + 1 ids
    vocab_size: int                # the tokenizer's size (the model pads it to a multiple of 128)
    eos_id: int
    pad_id: int
    tokenizer_sha256: str          # hex digest of tokenizer.json
    tokenizer_dir: str             # where tokenizer.json and its transformers config lie (absolute or relative)
    shards: tuple[ShardEntry, ...]
    config: dict[str, Any]         # the tokenize stage's resolved config
    tasks: tuple[str, ...] = ()    # sft mode: task names; a row's task_ids index this tuple (empty: one task)
    format: int = MANIFEST_FORMAT

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def total_tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"manifest format {data.get('format')!r} is not {MANIFEST_FORMAT}")
        if data.get("mode") not in MODES:
            raise ValueError(f"manifest mode {data.get('mode')!r} is not one of {MODES}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"manifest has unknown keys {sorted(unknown)}")
        missing = names - set(data) - {"format", "tasks"}
        if missing:
            raise ValueError(f"manifest lacks keys {sorted(missing)}")
        shards = tuple(ShardEntry(**s) for s in data.pop("shards"))
        data["tasks"] = tuple(data.get("tasks", ()))
        return cls(shards=shards, **data)
