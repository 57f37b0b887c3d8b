"""tiktoken serving the trained BPE gives the ids `tokenizers` gives: on real held-out code and on odd text."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.tokenizer import fast
from pipeline.tokenizer.special import EOT, IM_END, IM_START, SPECIAL_TOKENS
from tests.pipeline.tokenizer.trained import STDLIB, cjk_texts, held_out

ODD = [
    "",
    "e\u0301 a\u0300\u0323 \u1e9b\u0323 Z\u0351\u0334\u0360a\u035d\u0343l\u0353g\u035co",  # combining marks, zalgo
    "\U0001F469\u200d\U0001F469\u200d\U0001F467 \U0001F44D\U0001F3FD \U0001F1EF\U0001F1F5 \u2764\ufe0f",  # ZWJ, flags
    "\u05e9\u05dc\u05d5\u05dd \u202eevil\u202c \u0645\u0631\u062d\u0628\u0627 \u200f(RTL)",  # RTL and bidi controls
    "line\r\nline\r\n\r\n\rold mac\n",
    "\t\tindent\t\ttabs\t \t \n" + " " * 300 + "x" + "\n" * 50 + "\t" * 40,
    "x<|endoftext|>y <|im_start|>bot\nhi<|im_end|> <|fim_prefix|><|pad|>",  # special-token text is plain text
    "\ufeffBOM \x00 NUL \x07 bell \x1b[31m ansi \u00a0nbsp \u2028 \u2029 \u3000",
    "1234567890 3.14159e-10 0xDEADbeef 1_000_000 \u0661\u0662\u0663 \u2460\u2461",
    "IJ \ufb01 \u212b \u2126 \u1e9e straße ΑΒΓ αβγ Кириллица",
    "中文分词：我们在北京天安门。日本語のテキスト、한국어 텍스트",
    "\U00010000\U0010FFFF \ue000 private \ufffd replacement",
    "don't I'll we've they're IT'S 'quoted' ’curly’",
    "a" * 5000 + " " + "ab" * 3000,
]


def _pair(tokenizer_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(f"{tokenizer_dir}/tokenizer.json")
    tok.encode_special_tokens = True
    return fast.load(tokenizer_dir), tok


def test_tiktoken_serves_it(tokenizer_dir):
    enc, _ = _pair(tokenizer_dir)
    assert enc.backend == "tiktoken"
    assert [enc.special[t] for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))


def test_identical_ids_on_held_out_stdlib_and_cjk(tokenizer_dir):
    enc, tok = _pair(tokenizer_dir)
    texts = [t for _, t in held_out(6_000_000)] + [t for _, t in cjk_texts()]
    docs = [p for p in sorted((STDLIB / "test").glob("*.txt")) + sorted((STDLIB / "test").glob("*.html"))]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in docs]
    assert sum(len(t.encode()) for t in texts) > 6_000_000
    ours = [enc.encode(t).tolist() for t in texts]
    theirs = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert bad == [], f"{len(bad)} of {len(texts)} texts differ, first: {texts[bad[0]][:200]!r}"


@pytest.mark.parametrize("text", ODD, ids=range(len(ODD)))
def test_identical_ids_on_odd_text(tokenizer_dir, text):
    enc, tok = _pair(tokenizer_dir)
    ids = enc.encode(text)
    assert ids.dtype == np.uint32
    assert ids.tolist() == tok.encode(text, add_special_tokens=False).ids
    assert enc.decode(ids) == text  # byte-level: every text round-trips
    assert not set(ids.tolist()) & set(range(len(SPECIAL_TOKENS)))  # special-token text never becomes a special id


def test_lone_surrogates_become_replacement_characters(tokenizer_dir):
    enc, tok = _pair(tokenizer_dir)
    text = "a\ud800b\udfffc"  # cannot be UTF-8; Arrow strings never hold it, a Python caller might
    assert enc.decode(enc.encode(text)) == "a\ufffdb\ufffdc"
    assert enc.encode(text).tolist() == tok.encode("a\ufffdb\ufffdc", add_special_tokens=False).ids


def test_special_tokens_when_allowed(tokenizer_dir):
    enc, _ = _pair(tokenizer_dir)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(f"{tokenizer_dir}/tokenizer.json")  # default: special tokens recognised
    text = f"{IM_START}bot\nhi{IM_END}{EOT}"
    assert enc._enc.encode(text, allowed_special="all") == tok.encode(text, add_special_tokens=False).ids
    assert tok.encode(text, add_special_tokens=False).ids[0] == enc.special[IM_START]


def test_fallback_where_tiktoken_cannot_match(tokenizer_dir, tmp_path):
    spec = json.loads(Path(tokenizer_dir, "tokenizer.json").read_text())
    spec["normalizer"] = {"type": "NFC"}
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    enc = fast.load(str(tmp_path))
    assert enc.backend.startswith("tokenizers (a normalizer")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    tok.encode_special_tokens = True
    text = "e\u0301 <|endoftext|>"
    assert enc.encode(text).tolist() == tok.encode(text, add_special_tokens=False).ids


def test_changed_file_is_refused(tokenizer_dir):
    with pytest.raises(ValueError, match="changed"):
        fast.load(tokenizer_dir, "0" * 64)
