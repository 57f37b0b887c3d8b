"""The tokenize job on local[2]: shards and manifest per the contract, nothing lost, reruns byte-identical, SFT."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import reasons
from pipeline.config import SftTaskConfig, TokenizeConfig
from pipeline.tokenize.job import run_tokenize
from pipeline.tokenizer import fast
from pipeline.tokenizer.special import EOT, FIM_PREFIX, PAD
from schemas import MANIFEST_NAME, TOKEN_SHARD, Manifest
from tests.pipeline.tokenizer.trained import held_out

pytestmark = pytest.mark.spark
SEQ = 255


@pytest.fixture(scope="module")
def files_table(tmp_path_factory):
    docs = held_out(1_500_000)
    rows = [{"id": hashlib.blake2b(k.encode(), digest_size=16).hexdigest(), "content": t,
             "size_bytes": len(t.encode())} for k, t in docs]
    rows += [{"id": "null-doc", "content": None, "size_bytes": None}, {"id": "empty-doc", "content": "",
                                                                        "size_bytes": 0}]
    root = tmp_path_factory.mktemp("files")
    half = len(rows) // 2  # two files, so Spark reads it in more than one task
    pq.write_table(pa.Table.from_pylist(rows[:half]), root / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(rows[half:]), root / "part-1.parquet")
    return str(root), [r for r in rows if r["content"]]


def _cfg(**kw):
    return TokenizeConfig(**{"seq_len": SEQ, "shard_rows": 100, "pack_buckets": 4, "fim_rate": 0.0, **kw})


def _shards(out: str) -> tuple[Manifest, pa.Table]:
    manifest = Manifest.from_json(Path(out, MANIFEST_NAME).read_text())
    tables = []
    for s in manifest.shards:
        data = Path(out, s.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == s.sha256
        t = pq.read_table(Path(out, s.path))
        assert t.schema.equals(TOKEN_SHARD, check_metadata=False) and t.num_rows == s.rows
        tables.append(t)
    return manifest, pa.concat_tables(tables)


@pytest.fixture(scope="module")
def pretrain(spark, files_table, tokenizer_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("tok")
    summary = run_tokenize(spark, _cfg(), [files_table[0]], tokenizer_dir, str(root / "a"))
    return root, summary


def test_shards_follow_the_contract(pretrain, tokenizer_dir):
    root, summary = pretrain
    manifest, table = _shards(str(root / "a"))
    enc = fast.load(tokenizer_dir)
    assert manifest.mode == "pretrain" and manifest.seq_len == SEQ and manifest.vocab_size == enc.vocab_size
    assert manifest.eos_id == enc.special[EOT] and manifest.pad_id == enc.special[PAD]
    assert manifest.tokenizer_sha256 == hashlib.sha256(Path(tokenizer_dir, "tokenizer.json").read_bytes()).hexdigest()
    copied = Path(root / "a" / manifest.tokenizer_dir / "tokenizer.json").read_bytes()
    assert hashlib.sha256(copied).hexdigest() == manifest.tokenizer_sha256
    assert manifest.config["seq_len"] == SEQ and manifest.total_rows == table.num_rows == summary["rows"]
    by_bucket: dict[str, list[int]] = {}
    for s in manifest.shards:  # each bucket's shards hold shard_rows rows, but its last one
        by_bucket.setdefault(s.path.split("-")[1], []).append(s.rows)
    assert all(rows[:-1] == [100] * (len(rows) - 1) and 0 < rows[-1] <= 100 for rows in by_bucket.values())
    assert sorted(by_bucket) == ["0000", "0001", "0002", "0003", "0004"]  # 4 buckets + the leftovers' rows
    assert all(s.tokens == s.rows * (SEQ + 1) for s in manifest.shards)
    assert {len(r) for r in table.column("input_ids").to_pylist()} == {SEQ + 1}
    starts = table.column("doc_starts").to_pylist()
    assert all(s[0] == 0 and s == sorted(set(s)) and s[-1] <= SEQ for s in starts)
    masks = table.column("loss_mask")
    assert masks.null_count == table.num_rows - 1  # pretrain: only the padded last row carries a mask
    assert table.column("task_ids").null_count == table.num_rows and manifest.tasks == ()  # no tasks, even there
    assert (root / "a" / "_SUCCESS").exists() and not (root / "_staging").exists() or \
        not any((root / "_staging").iterdir())


def test_no_token_is_lost_or_duplicated(pretrain, files_table, tokenizer_dir):
    root, summary = pretrain
    _, table = _shards(str(root / "a"))
    enc = fast.load(tokenizer_dir)
    got = np.bincount(np.concatenate([np.asarray(r, np.int64) for r in table.column("input_ids").to_pylist()]),
                      minlength=enc.vocab_size)
    want = np.zeros(enc.vocab_size, np.int64)
    for row in files_table[1]:
        want += np.bincount(enc.encode(row["content"]).astype(np.int64), minlength=enc.vocab_size)
    want[enc.special[EOT]] += len(files_table[1])
    want[enc.special[PAD]] += summary["pad_tokens"]
    assert np.array_equal(got, want)
    assert summary["tokens_lost"] == 0 and summary["pad_tokens"] < SEQ + 1
    assert summary["documents"] == len(files_table[1]) + 2 and summary["packed_documents"] == len(files_table[1])
    assert summary["rejected_by_reason"] == {reasons.NULL_CONTENT: 1, reasons.EMPTY_DOCUMENT: 1}
    stats = json.loads((root / "a" / "stats.json").read_text())
    assert stats["rejected_by_reason"] == summary["rejected_by_reason"]


def test_rerun_is_byte_identical_and_skipped_when_finished(spark, pretrain, files_table, tokenizer_dir):
    root, _ = pretrain
    again = run_tokenize(spark, _cfg(), [files_table[0]], tokenizer_dir, str(root / "b"))
    assert again["status"] == "ran"
    a = Path(root / "a" / MANIFEST_NAME).read_text()
    assert Path(root / "b" / MANIFEST_NAME).read_text() == a
    for s in Manifest.from_json(a).shards:
        assert (root / "a" / s.path).read_bytes() == (root / "b" / s.path).read_bytes()
    assert run_tokenize(spark, _cfg(), [files_table[0]], tokenizer_dir, str(root / "a"))["status"] == "skipped"


def test_seed_and_fim_change_the_shards(spark, pretrain, files_table, tokenizer_dir):
    root, base = pretrain
    out = run_tokenize(spark, _cfg(seed=2, fim_rate=0.5), [files_table[0]], tokenizer_dir, str(root / "fim"))
    manifest, table = _shards(str(root / "fim"))
    assert {s.sha256 for s in manifest.shards}.isdisjoint(
        {s.sha256 for s in Manifest.from_json(Path(root / "a" / MANIFEST_NAME).read_text()).shards})
    n = out["packed_documents"]
    assert 0.35 * n < out["fim_psm"] + out["fim_spm"] < 0.65 * n and out["fim_psm"] and out["fim_spm"]
    ids = np.concatenate([np.asarray(r) for r in table.column("input_ids").to_pylist()])
    enc = fast.load(tokenizer_dir)
    assert (ids == enc.special[FIM_PREFIX]).sum() == out["fim_psm"] + out["fim_spm"]
    assert out["tokens_lost"] == 0


def test_wrong_table_for_the_mode_is_a_clear_error(spark, files_table, tokenizer_dir, tmp_path):
    from common.typed_config import ConfigError

    with pytest.raises(ConfigError, match="kept pairs"):
        run_tokenize(spark, _cfg(mode="sft"), [files_table[0]], tokenizer_dir, str(tmp_path / "x"))
    with pytest.raises(ConfigError, match="tokenize.tasks.chat has no path"):
        run_tokenize(spark, _cfg(mode="sft", tasks={"chat": SftTaskConfig()}), [], tokenizer_dir, str(tmp_path / "y"))


def test_a_killed_runs_staging_is_cleared(spark, files_table, tokenizer_dir, tmp_path):
    stale = tmp_path / "_staging" / "t-0123456789ab" / "shards"
    stale.mkdir(parents=True)
    (stale / "shard-0000-00000.parquet").write_bytes(b"half")
    run_tokenize(spark, _cfg(), [files_table[0]], tokenizer_dir, str(tmp_path / "t"))
    assert list((tmp_path / "_staging").iterdir()) == [] and (tmp_path / "t" / "_SUCCESS").exists()


def test_only_bad_documents_give_an_empty_manifest(spark, tokenizer_dir, tmp_path):
    pq.write_table(pa.Table.from_pylist([{"id": "n", "content": None}, {"id": "e", "content": ""}],
                                        schema=pa.schema([("id", pa.string()), ("content", pa.string())])),
                   tmp_path / "bad.parquet")
    out = run_tokenize(spark, _cfg(), [str(tmp_path / "bad.parquet")], tokenizer_dir, str(tmp_path / "t"))
    assert out["rows"] == 0 and out["documents"] == 2 and sum(out["rejected_by_reason"].values()) == 2
    assert Manifest.from_json((tmp_path / "t" / MANIFEST_NAME).read_text()).shards == ()


def test_the_input_files_layout_does_not_change_the_shards(spark, pretrain, files_table, tokenizer_dir, tmp_path):
    """The same rows in one file, read by one task, give the same shards as two files read by two tasks
    (buckets come from a hash of the id, the order inside them from the seeded key)."""
    root, _ = pretrain
    one = pa.concat_tables([pq.read_table(p) for p in sorted(Path(files_table[0]).glob("*.parquet"))][::-1])
    pq.write_table(one, tmp_path / "one.parquet")
    run_tokenize(spark, _cfg(), [str(tmp_path / "one.parquet")], tokenizer_dir, str(tmp_path / "t"))
    assert (tmp_path / "t" / MANIFEST_NAME).read_text() == (root / "a" / MANIFEST_NAME).read_text()
