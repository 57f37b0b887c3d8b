"""The tokenize job in sft mode on local[2]: two pair tasks and a chat_rounds JSONL task mixed by weight, each token
carrying its task id, held-out samples written beside the shards and never packed, bad lines rejected with reasons."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import reasons
from pipeline.config import SftTaskConfig, TokenizeConfig
from pipeline.tokenize.job import run_tokenize
from pipeline.tokenize.samples import chat_row, pair_rows
from pipeline.tokenize.sft import encode_conversation
from pipeline.tokenize.tasks import HELD_OUT, REJECTED, TRAIN, task_specs
from pipeline.tokenizer import fast
from pipeline.tokenizer.special import PAD
from schemas import MANIFEST_NAME, SFT_PAIRS, TOKEN_SHARD, Manifest
from schemas.sft_holdout import prompt_and_reference

pytestmark = pytest.mark.spark
SEQ = 127


def _pairs() -> list[dict]:
    return [{"id": f"p{i:03d}", "file_id": "f", "source": "t", "repo": None, "path": f"m{i}.py", "language": "Python",
             "function_name": f"f{i}", "start_line": 1, "end_line": 2, "n_lines": 2, "effective_line_frac": 1.0,
             "comment_style": "docstring", "comment": f"Return {i}.", "code": f"def f{i}():\n    return {i}\n",
             "size_bytes": 30} for i in range(60)]


def _chat_lines() -> tuple[list[str], dict[str, str]]:
    good = [json.dumps({"chat_rounds": [{"role": "system", "content": "You answer in colours."},
                                        {"role": "human", "content": f"Colour {i}?"},
                                        {"role": "bot", "content": f"crimson teal {i}"}], "source": "x"},
                       ensure_ascii=False) for i in range(40)]
    bad = {"{not json": reasons.CHAT_BAD_JSON,
           json.dumps({"chat_rounds": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "yo"}]}):
               reasons.CHAT_UNKNOWN_ROLE,
           json.dumps({"chat_rounds": [{"role": "human", "content": "hi"}, {"role": "bot", "content": " "}]}):
               reasons.CHAT_EMPTY_ANSWER,
           json.dumps({"rounds": []}): reasons.CHAT_NO_ROUNDS,
           "   ": reasons.CHAT_EMPTY_LINE}
    return good, bad


def test_sft_tasks_are_mixed_held_out_and_tagged_token_by_token(spark, tokenizer_dir, tmp_path):
    pq.write_table(pa.Table.from_pylist(_pairs(), schema=SFT_PAIRS), tmp_path / "pairs.parquet")
    good, bad = _chat_lines()
    lines = good[:20] + list(bad) + good[20:]
    (tmp_path / "chat.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = TokenizeConfig(mode="sft", seq_len=SEQ, shard_rows=8, pack_buckets=3, sft_holdout_fraction=0.1,
                         tasks={"comment_generation": SftTaskConfig(weight=1.0),
                                "code_generation": SftTaskConfig(weight=0.5, zh_share=0.0),
                                "chat": SftTaskConfig(weight=2.0, path=str(tmp_path / "chat.jsonl"))})
    out = tmp_path / "sft"
    summary = run_tokenize(spark, cfg, [str(tmp_path / "pairs.parquet")], tokenizer_dir, str(out))

    # what the pure functions say each sample's fate is
    specs = task_specs(cfg)
    holdout = (cfg.sft_holdout_fraction, cfg.sft_holdout_seed)
    expected = [r for p in _pairs() for r in pair_rows(p, [s for s in specs if s.kind == "pairs"], holdout, cfg.seed)]
    chat = next(s for s in specs if s.name == "chat")
    expected += [chat_row(line, None, chat, holdout, cfg.seed) for line in lines]
    manifest = Manifest.from_json((out / MANIFEST_NAME).read_text())
    assert manifest.tasks == ("chat", "code_generation", "comment_generation")  # ids follow the sorted names
    for s in specs:
        mine = [r for r in expected if r["task"] == s.name]
        t = summary["tasks"][s.name]
        assert t["id"] == s.task_id == manifest.tasks.index(s.name)
        assert t["rows_in"] == len(mine) == (60 if s.kind == "pairs" else len(lines))
        assert t["held_out"] == sum(r["split"] == HELD_OUT for r in mine) > 0
        assert t["available"] == sum(r["split"] == TRAIN for r in mine)
        assert t["taken"] == sum(r["copies"] for r in mine) == t["packed_documents"]
        assert t["rows_in"] == t["available"] + t["held_out"] + t["rejected"]
        assert manifest.config["task_counts"][s.name]["tokens"] == t["tokens"]
    assert summary["tasks"]["chat"]["rejected_by_reason"] == dict(sorted(Counter(bad.values()).items()))
    assert summary["tasks"]["chat"]["taken"] == 2 * summary["tasks"]["chat"]["available"]
    assert 0 < summary["tasks"]["code_generation"]["taken"] < summary["tasks"]["code_generation"]["available"]
    # a pair is held out for both of its tasks together
    held = {t: {r["holdout_key"] for r in expected if r["task"] == t and r["split"] == HELD_OUT}
            for t in ("comment_generation", "code_generation")}
    assert held["comment_generation"] == held["code_generation"]

    # every token carries its sample's task id: per task, the ids and the learned ids are exactly the trained
    # samples' (times their copies); padding is -1
    enc = fast.load(tokenizer_dir)
    table = pa.concat_tables([pq.read_table(out / s.path) for s in manifest.shards])
    assert table.schema.equals(TOKEN_SHARD, check_metadata=False)
    ids = np.concatenate(table.column("input_ids").to_numpy(zero_copy_only=False)).astype(np.int64)
    mask = np.concatenate(table.column("loss_mask").to_numpy(zero_copy_only=False))
    tasks = np.concatenate(table.column("task_ids").to_numpy(zero_copy_only=False))
    assert len(ids) == len(mask) == len(tasks) == table.num_rows * (SEQ + 1)
    assert np.array_equal(tasks == -1, ids == enc.special[PAD]) and (tasks == -1).sum() == summary["pad_tokens"]
    for s in specs:
        want_all, want_learned = Counter(), Counter()
        for r in expected:
            if r["task"] == s.name and r["split"] == TRAIN:
                doc, doc_mask = encode_conversation(r["messages"], enc.encode, enc.special)
                for _ in range(r["copies"]):
                    want_all.update(doc.tolist())
                    want_learned.update(doc[doc_mask == 1].tolist())
        mine = tasks == s.task_id
        assert Counter(ids[mine].tolist()) == want_all
        assert Counter(ids[mine & (mask == 1)].tolist()) == want_learned
        assert summary["tasks"][s.name]["tokens"] == mine.sum()

    # held-out samples: the prompt without the answer, the answer as the reference; bad lines with their reasons
    (held_file,) = sorted((out / "heldout").glob("*.json"))
    held_rows = [json.loads(line) for line in held_file.read_text(encoding="utf-8").splitlines()]
    want = sorted((r["task"], r["id"]) + tuple(json.dumps(x) for x in prompt_and_reference(r["messages"]))
                  for r in expected if r["split"] == HELD_OUT)
    assert [(h["task"], h["id"], json.dumps(h["messages"]), json.dumps(h["reference"])) for h in held_rows] == want
    assert all(h["messages"][-1]["role"] == "human" for h in held_rows)
    (rejects_file,) = sorted((out / "rejects").glob("*.json"))
    rejects = [json.loads(line) for line in rejects_file.read_text(encoding="utf-8").splitlines()]
    assert sorted((r["raw"], r["reason"]) for r in rejects) == sorted(bad.items())
    assert all(r["task"] == "chat" and r["detail"] and r["file"].endswith("chat.jsonl") for r in rejects)
    assert sum(r["split"] == REJECTED for r in expected) == len(bad)

    # the same inputs and config give the same shards (their sha256s are in the manifest) and held-out rows
    run_tokenize(spark, cfg, [str(tmp_path / "pairs.parquet")], tokenizer_dir, str(tmp_path / "again"))
    assert (tmp_path / "again" / MANIFEST_NAME).read_text() == (out / MANIFEST_NAME).read_text()
    assert next((tmp_path / "again" / "heldout").glob("*.json")).read_text() == held_file.read_text()
