"""Comment BLEU: sacrebleu's bounds, a deterministic held-out split, and the whole path from SFT pair rows."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.bleu import corpus_bleu, evaluate_bleu, is_held_out, prompt, read_pairs
from schemas import SFT_PAIRS

COMMENTS = ["Return the sum of two integers.", "Split a line into words, dropping empty ones.",
            "Read a JSON file and return its top-level keys in order.", "Count vowels in a string."]


def test_identical_comments_score_100_and_unrelated_ones_near_0():
    assert corpus_bleu(COMMENTS, COMMENTS) == pytest.approx(100.0)
    unrelated = ["zebra quantum violet", "marble orbit cactus lantern", "pickle thunder ribbon", "glacier fog"]
    assert corpus_bleu(unrelated, COMMENTS) < 1.0
    assert 0.0 < corpus_bleu(["Return the sum of two numbers.", *COMMENTS[1:]], COMMENTS) < 100.0


def sft_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append({"id": f"{i:032x}", "file_id": f"f{i}", "source": "test", "repo": None, "path": f"m{i}.py",
                     "language": "Python", "function_name": f"f{i}", "start_line": 1, "end_line": 3, "n_lines": 3,
                     "effective_line_frac": 1.0, "comment_style": "docstring",
                     "comment": COMMENTS[i % len(COMMENTS)], "code": f"def f{i}(a, b):\n    return a + b + {i}\n",
                     "size_bytes": 40})
    return rows


def test_the_held_out_split_is_deterministic_and_sized_by_fraction(tmp_path):
    kept = tmp_path / "sft" / "status=kept"
    kept.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(sft_rows(400), schema=SFT_PAIRS), kept / "part-0.parquet")
    a, b = read_pairs(kept, fraction=0.25, seed=3), read_pairs(kept, fraction=0.25, seed=3)
    assert [r["id"] for r in a] == [r["id"] for r in b] and 60 < len(a) < 140
    assert all(is_held_out(r["id"], 0.25, 3) for r in a)
    assert [r["id"] for r in read_pairs(kept, fraction=0.25, seed=4)] != [r["id"] for r in a]
    text = prompt(a[0])
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>bot\n") and a[0]["code"] in text


def test_the_tiny_model_documents_held_out_pairs(tiny_model, tmp_path):
    kept = tmp_path / "status=kept"
    kept.mkdir()
    pq.write_table(pa.Table.from_pylist(sft_rows(40), schema=SFT_PAIRS), kept / "part-0.parquet")
    report = evaluate_bleu(tiny_model, kept, tmp_path / "out", fraction=0.2, max_new_tokens=8, progress=False)
    assert report["pairs"] == len(read_pairs(kept, 0.2)) > 0 and 0.0 <= report["bleu"] <= 100.0
    saved = json.loads((tmp_path / "out" / "bleu.json").read_text())
    assert saved["bleu"] == report["bleu"]
    rows = (tmp_path / "out" / "bleu_samples.jsonl").read_text().splitlines()
    assert len(rows) == report["pairs"] and json.loads(rows[0])["reference"] in COMMENTS
