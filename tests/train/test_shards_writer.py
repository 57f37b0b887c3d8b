"""train.shards writes TOKEN_SHARD tables: task ids null in pretrain mode, one per token in sft mode."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from schemas import TOKEN_SHARD, Manifest
from tests.train.shards import real_token_shards
from train.shards import write_shards


def _table(manifest_path):
    manifest = Manifest.from_json(manifest_path.read_text())
    table = pq.read_table(manifest_path.parent / manifest.shards[0].path)
    assert table.schema.equals(TOKEN_SHARD, check_metadata=False)
    return manifest, table


def test_pretrain_shards_have_null_task_ids_and_sft_shards_one_task(tmp_path):
    manifest, table = _table(real_token_shards(tmp_path / "pre", seq_len=16, rows=8))
    assert manifest.mode == "pretrain" and table.column("task_ids").null_count == table.num_rows
    manifest, table = _table(real_token_shards(tmp_path / "sft", seq_len=16, rows=8, sft=True))
    assert manifest.mode == "sft" and manifest.tasks == ()
    assert all(row == [0] * 17 for row in table.column("task_ids").to_pylist())


def test_given_task_ids_and_names_are_written(tmp_path):
    ids = np.arange(20).reshape(2, 10) % 7
    tasks = np.array([[0] * 4 + [1] * 6, [1] * 7 + [-1] * 3], np.int16)
    mask = np.ones((2, 10), np.uint8)
    manifest, table = _table(write_shards(tmp_path / "s", ids, 7, loss_mask=mask, task_ids=tasks,
                                          tasks=("chat", "code_generation")))
    assert manifest.tasks == ("chat", "code_generation") and table.column("task_ids").to_pylist() == tasks.tolist()
    with pytest.raises(ValueError, match=r"lie in \[-1, 2\)"):
        write_shards(tmp_path / "bad", ids, 7, loss_mask=mask, task_ids=tasks + 1, tasks=("a", "b"))
    with pytest.raises(ValueError, match="come with a loss mask"):
        write_shards(tmp_path / "bad2", ids, 7, task_ids=tasks)
