"""`python -m pipeline tokenizer-train` and `tokenize`: defaults from the run folder, clear errors, outputs."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from schemas import MANIFEST_NAME, Manifest
from tests.pipeline.tokenizer.trained import STDLIB

pytestmark = pytest.mark.spark


def test_train_then_tokenize_from_the_command_line(spark, tmp_path, capsys):
    code = tmp_path / "code"
    code.mkdir()
    texts = []
    for p in sorted((STDLIB / "json").glob("*.py")) + sorted((STDLIB / "email").glob("*.py"))[:8]:
        (code / f"{p.parent.name}_{p.name}").write_text(p.read_text())
        texts.append(p.read_text())
    zh = tmp_path / "zh"
    zh.mkdir()
    (zh / "gb2312.txt").write_text((STDLIB / "test" / "cjkencodings" / "gb2312-utf8.txt").read_text())
    run = tmp_path / "run"
    assert main(["tokenizer-train", "--input", str(code), "--text", str(zh), "--output", str(run),
                 "--set", "tokenizer.vocab_size=3000"]) == 0
    printed = capsys.readouterr().out.splitlines()
    trained = json.loads((run / "tokenizer" / "training.json").read_text())
    assert trained["vocab_size"] == 3000 and trained["documents"] == len(texts) + 1
    assert printed == [f"tokenizer   vocab 3,000 from {len(texts) + 1} documents ({trained['bytes'] / 1e6:.1f} MB), "
                       f"{trained['merges']:,} merges", f"folder:     {run / 'tokenizer'}",
                       f"stats:      {run / 'tokenizer' / 'training.json'}"]
    table = tmp_path / "files.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": f"f{i}", "content": t} for i, t in enumerate(texts)]), table)
    tokenize = ["tokenize", "--input", str(table), "--output", str(run), "--set", "tokenize.seq_len=127",
                "--set", "tokenize.pack_buckets=2"]
    assert main(tokenize) == 0
    printed = capsys.readouterr().out
    stats = json.loads((run / "tokens" / "stats.json").read_text())  # the whole JSON stays beside the manifest
    assert stats["packed_documents"] == len(texts) and stats["tokens_lost"] == 0
    lines = printed.splitlines()
    assert len(lines) == 6 and "{" not in printed, printed
    assert lines[0].startswith("tokenize    ran, mode pretrain, ") and lines[0].endswith(" s")
    assert lines[1].split() == ["documents", f"{len(texts)}", "in", f"{len(texts)}", "packed", "0", "rejected"]
    assert lines[2].split() == ["tokens", f"{stats['tokens']:,}", "in", f"{stats['rows']:,}", "rows",
                                f"{stats['shards']}", "shards"]
    assert lines[3].split() == [f"{stats['pad_tokens']:,}", "pad", "0", "lost", f"{stats['bytes_per_token']}",
                                "bytes/token"]
    assert lines[4:6] == [f"manifest:   {run / 'tokens' / MANIFEST_NAME}",
                          f"stats:      {run / 'tokens' / 'stats.json'}"]
    manifest = Manifest.from_json((run / "tokens" / MANIFEST_NAME).read_text())
    assert manifest.seq_len == 127 and manifest.vocab_size == 3000 and manifest.total_rows == stats["rows"]
    assert main([*tokenize, "--json"]) == 0  # the same output again: skipped, and the JSON when asked for
    again = json.loads(capsys.readouterr().out)
    assert again["status"] == "skipped" and {k: again[k] for k in stats} == stats


def test_tokenize_without_a_tokenizer_is_a_config_error(tmp_path, capsys):
    table = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "a", "content": "x"}]), table)
    assert main(["tokenize", "--input", str(table), "--output", str(tmp_path / "run")]) == 2
    assert "no tokenizer.json" in capsys.readouterr().err


def test_tokenize_without_input_needs_a_finished_run(tmp_path, capsys):
    assert main(["tokenize", "--output", str(tmp_path / "empty")]) == 2
    assert "run the pipeline" in capsys.readouterr().err


def test_sft_tokenize_names_what_it_lacks(tmp_path, capsys):
    sft = ["--set", "tokenize.mode=sft"]
    assert main(["tokenize", "--output", str(tmp_path / "empty"), *sft]) == 2
    assert "sft/status=kept, which does not exist: run the sft stage, give --input PAIRS" in capsys.readouterr().err
    no_pairs = [*sft, "--set", "tokenize.tasks.code_generation.weight=0", "--set",
                "tokenize.tasks.comment_generation.weight=0", "--set", "tokenize.tasks.chat.path=chat.jsonl"]
    assert main(["tokenize", "--output", str(tmp_path / "r"), "--input", "pairs.parquet", *no_pairs]) == 2
    assert "no pair task has a weight above 0" in capsys.readouterr().err
