"""Token stream: manifest checks, checksum verification, deterministic order, rank slices, exact resume, sft mask."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from schemas.tokens import Manifest
from tests.train.shards import real_token_shards
from train.data import DataError, TokenStream, file_sha256, read_manifest, verify_shards, verify_tokenizer


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return real_token_shards(tmp_path_factory.mktemp("shards"), seq_len=16, rows=60, rows_per_shard=16)


def _stream(path, seed=7, shuffle=True):
    manifest, root = read_manifest(path)
    return TokenStream(manifest, root, seed, shuffle)


def test_manifest_and_shards_check_out(shards):
    manifest, root = read_manifest(shards.parent)  # a folder works too
    assert (manifest.total_rows, len(manifest.shards), manifest.seq_len) == (60, 4, 16)
    assert verify_shards(manifest, root) == []


def test_corrupt_missing_and_short_shards_are_named(tmp_path):
    path = real_token_shards(tmp_path, seq_len=16, rows=40, rows_per_shard=16)
    manifest, root = read_manifest(path)
    data = bytearray((root / "shard-00001.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / "shard-00001.parquet").write_bytes(bytes(data))
    (root / "shard-00002.parquet").unlink()
    problems = verify_shards(manifest, root)
    assert problems == ["shard shard-00001.parquet: sha256 differs from the manifest (corrupt or replaced file)",
                        f"shard shard-00002.parquet: file missing at {root / 'shard-00002.parquet'}"]
    # split between two ranks: shard i is checked by rank i % 2, together they find the same
    assert verify_shards(manifest, root, 0, 2) == problems[1:] and verify_shards(manifest, root, 1, 2) == problems[:1]
    bad = json.loads(path.read_text())
    bad["shards"][0]["tokens"] += 1
    path.write_text(json.dumps(bad))
    with pytest.raises(DataError, match="tokens"):
        read_manifest(path)


def test_each_epoch_visits_every_row_once_in_a_seeded_order(shards):
    s = _stream(shards)
    epoch0 = [s.locate(p) for p in range(60)]
    epoch1 = [s.locate(p) for p in range(60, 120)]
    assert len(set(epoch0)) == 60 and set(epoch0) == set(epoch1) and epoch0 != epoch1
    assert epoch0 == [_stream(shards).locate(p) for p in range(60)]          # same seed, same order
    assert epoch0 != [_stream(shards, seed=8).locate(p) for p in range(60)]  # another seed, another order
    plain = _stream(shards, shuffle=False)
    assert [plain.locate(p) for p in range(20)] == [(0, r) for r in range(16)] + [(1, r) for r in range(4)]


def test_rows_match_the_shard_contents(shards):
    s = _stream(shards, shuffle=False)
    b = s.gather(range(0, 3))
    assert b.input_ids.shape == b.targets.shape == (3, 16) and b.input_ids.dtype == np.int64
    assert (b.input_ids[:, 1:] == b.targets[:, :-1]).all()                  # targets are inputs shifted by one
    assert all(row[0] == 0 and all(x < 16 for x in row) for row in b.doc_starts)
    assert b.loss_mask is None
    assert b.task_ids.shape == (3, 16) and not b.task_ids.any()            # null task_ids: every token is task 0


def test_ranks_split_the_same_global_batch(shards):
    one = _stream(shards).next_global_batch(8, 2, 0, 1)
    two = [_stream(shards).next_global_batch(8, 2, r, 2) for r in range(2)]
    stack = lambda parts: np.concatenate([b.input_ids for b in parts])  # noqa: E731
    assert len(one) == 4 and [len(t) for t in two] == [2, 2]
    assert (stack(one) == np.concatenate([stack(two[0]), stack(two[1])])).all()


def test_resume_sees_exactly_the_batches_it_would_have_seen(shards):
    straight = _stream(shards)
    batches = [straight.next_global_batch(8, 4, 0, 1) for _ in range(12)]  # 96 samples: crosses an epoch
    interrupted = _stream(shards)
    for _ in range(5):
        interrupted.next_global_batch(8, 4, 0, 1)
    state = json.loads(json.dumps(interrupted.state()))                  # as stored in a checkpoint
    resumed = _stream(shards)
    resumed.load_state(state)
    for want in batches[5:]:
        got = resumed.next_global_batch(8, 4, 0, 1)
        assert all((g.input_ids == w.input_ids).all() for g, w in zip(got, want))
    with pytest.raises(DataError, match="seed"):
        _stream(shards, seed=99).load_state(state)


def test_sft_mask_follows_the_targets(tmp_path):
    path = real_token_shards(tmp_path, seq_len=16, rows=20, sft=True)
    assert Manifest.from_json(path.read_text()).mode == "sft"
    b = _stream(path, shuffle=False).gather(range(2))
    # the shard's mask counts positions 8..16 of 17 ids; targets are ids[1:], so the mask is mask[1:]
    assert b.loss_mask.shape == (2, 16) and b.loss_mask.dtype == np.float32
    assert b.loss_mask[0].tolist() == [0.0] * 7 + [1.0] * 9


def test_tokenizer_checksum(tmp_path, shards):
    manifest, root = read_manifest(shards)
    assert verify_tokenizer(manifest, root) == []                            # names no tokenizer: nothing to check
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer.json").write_text('{"model": {}}')
    named = dataclasses.replace(manifest, tokenizer_dir="tok", tokenizer_sha256=file_sha256(tmp_path / "tok" /
                                                                                           "tokenizer.json"))
    assert verify_tokenizer(named, tmp_path) == []
    (tmp_path / "tok" / "tokenizer.json").write_text('{"model": {"changed": 1}}')
    assert verify_tokenizer(named, tmp_path) == [f"tokenizer: {tmp_path / 'tok' / 'tokenizer.json'} does not match "
                                                 "the manifest's tokenizer_sha256"]


def test_a_mask_on_some_rows_only_counts_every_token_elsewhere(tmp_path):
    # the tokenize job's pretrain shards: null masks, except the final row whose pads are masked out
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.tokens import TOKEN_SHARD, ShardEntry
    ids = [list(range(1, 10)), list(range(10, 19)), [5, 6, 7, 1, 1, 1, 1, 1, 1]]
    mask = [None, None, [1, 1, 1, 0, 0, 0, 0, 0, 0]]
    table = pa.table({"input_ids": ids, "doc_starts": [[0], [0], [0, 3]], "loss_mask": mask,
                      "task_ids": [None, None, None]}, schema=TOKEN_SHARD)  # pretrain: no task ids
    pq.write_table(table, tmp_path / "s.parquet")
    manifest = Manifest(mode="pretrain", seq_len=8, vocab_size=32, eos_id=0, pad_id=1, tokenizer_sha256="",
                        tokenizer_dir="", config={},
                        shards=(ShardEntry("s.parquet", 3, 27, file_sha256(tmp_path / "s.parquet")),))
    (tmp_path / "manifest.json").write_text(manifest.to_json())
    stream = _stream(tmp_path / "manifest.json", shuffle=False)
    assert stream.gather(range(2)).loss_mask.tolist() == [[1.0] * 8] * 2  # unmasked rows: every token counts
    b = stream.gather(range(3))
    assert b.loss_mask.tolist() == [[1.0] * 8, [1.0] * 8, [1.0, 1.0, 0, 0, 0, 0, 0, 0]]


def test_task_ids_follow_the_targets(tmp_path):
    from tests.train.shards import task_layout

    path = real_token_shards(tmp_path, seq_len=16, rows=6, sft=True, tasks=("complete", "explain"))
    manifest, _ = read_manifest(path)
    assert manifest.tasks == ("complete", "explain")
    b = _stream(path, shuffle=False).gather(range(4))
    want = task_layout(6, 17, 2)[:4, 1:]                                   # aligned like the mask: task_ids[1:]
    assert b.task_ids.dtype == np.int64 and (b.task_ids == want).all()
    assert b.task_ids[0].tolist() == [-1] + [0] * 11 + [1] * 4             # row 0 mixes two tasks
    assert b.task_ids[1].tolist() == [-1] + [1] * 15


def _one_shard(tmp_path, columns: dict, tasks=("a", "b")):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.tokens import ShardEntry

    pq.write_table(pa.table(columns), tmp_path / "s.parquet")
    manifest = Manifest(mode="sft", seq_len=3, vocab_size=32, eos_id=0, pad_id=1, tokenizer_sha256="",
                        tokenizer_dir="", config={}, tasks=tasks,
                        shards=(ShardEntry("s.parquet", 2, 8, file_sha256(tmp_path / "s.parquet")),))
    (tmp_path / "manifest.json").write_text(manifest.to_json())
    return _stream(tmp_path / "manifest.json", shuffle=False)


def test_shards_without_a_task_ids_column_are_task_0(tmp_path):
    import pyarrow as pa

    old = _one_shard(tmp_path, {"input_ids": pa.array([[1, 2, 3, 4], [5, 6, 7, 8]], pa.list_(pa.uint32())),
                                "doc_starts": [[0], [0]],
                                "loss_mask": pa.array([[0, 1, 1, 1]] * 2, pa.list_(pa.uint8()))})
    assert old.gather(range(2)).task_ids.tolist() == [[0, 0, 0]] * 2


@pytest.mark.parametrize("task_ids, error", [
    ([[0, 0, 2, 0], [0, 0, 0, 0]], "task_ids hold 2, outside -1 .. 1"),
    ([[0, 0, 0, 0], [0, 1, -1, 1]], "row 1 position 2 is counted by loss_mask but has task_id -1"),
    ([[0, 0, 0], [0, 0, 0, 0]], "task_ids of row 0 holds 3 values, not seq_len \\+ 1 = 4"),
])
def test_bad_task_ids_are_named(tmp_path, task_ids, error):
    import pyarrow as pa

    stream = _one_shard(tmp_path, {"input_ids": pa.array([[1, 2, 3, 4], [5, 6, 7, 8]], pa.list_(pa.uint32())),
                                   "doc_starts": [[0], [0]],
                                   "loss_mask": pa.array([[0, 1, 1, 1]] * 2, pa.list_(pa.uint8())),
                                   "task_ids": pa.array(task_ids, pa.list_(pa.int16()))})
    with pytest.raises(DataError, match=error):
        stream.gather(range(1))
