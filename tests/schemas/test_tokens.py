"""The token shard contract: the manifest round-trips with its task names, and an older manifest (no tasks) loads."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from schemas import TOKEN_SHARD, Manifest, ShardEntry


def _manifest(**kw) -> Manifest:
    return Manifest(mode="sft", seq_len=8, vocab_size=300, eos_id=0, pad_id=1, tokenizer_sha256="ab",
                    tokenizer_dir="tokenizer", shards=(ShardEntry("shards/a.parquet", 2, 18, "cd"),),
                    config={"seq_len": 8, "task_counts": {"chat": {"id": 0, "tokens": 10}}}, **kw)


def test_manifest_round_trips_with_tasks():
    m = _manifest(tasks=("chat", "code_generation", "comment_generation"))
    again = Manifest.from_json(m.to_json())
    assert again == m and again.tasks == ("chat", "code_generation", "comment_generation")
    assert json.loads(m.to_json())["tasks"] == ["chat", "code_generation", "comment_generation"]


def test_a_manifest_written_before_tasks_loads_as_one_task():
    data = json.loads(_manifest().to_json())
    del data["tasks"]
    assert Manifest.from_json(json.dumps(data)).tasks == ()
    with pytest.raises(ValueError, match="unknown keys"):
        Manifest.from_json(json.dumps({**data, "task_names": []}))


def test_task_ids_are_a_nullable_int16_list_per_row():
    field = TOKEN_SHARD.field("task_ids")
    assert field.type == pa.list_(pa.int16()) and field.nullable
    assert TOKEN_SHARD.names == ["input_ids", "doc_starts", "loss_mask", "task_ids"]
