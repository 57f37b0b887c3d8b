"""Training: exact vocabulary size, special token ids, keywords single tokens, determinism, transformers loading."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.tokenizer.keywords import keyword_forms, keywords_by_language
from pipeline.tokenizer.special import EOT, PAD, SPECIAL_TOKENS
from pipeline.tokenizer.train import pre_tokenizer, train
from schemas.chatml import render_text
from tests.pipeline.tokenizer.trained import VOCAB, training_records


def _tok(tokenizer_dir):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(f"{tokenizer_dir}/tokenizer.json")


def test_size_and_special_ids(tokenizer_dir):
    tok = _tok(tokenizer_dir)
    assert tok.get_vocab_size() == VOCAB
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    stats = json.loads(Path(tokenizer_dir, "training.json").read_text())
    assert stats["vocab_size"] == VOCAB and stats["keyword_forms"] > 500


def test_every_keyword_is_one_token(tokenizer_dir):
    tok = _tok(tokenizer_dir)
    forms = keyword_forms(lambda s: pre_tokenizer().pre_tokenize_str(s))
    assert "def" in forms and " synchronized" in forms and " fallthrough" in forms
    split = {f: tok.encode(f, add_special_tokens=False).tokens for f in forms}
    assert {f: t for f, t in split.items() if len(t) != 1} == {}
    # in context too: the keyword's piece is one token
    assert "\u0120nonlocal" in tok.encode("    nonlocal counter", add_special_tokens=False).tokens
    langs = keywords_by_language()
    assert {"Python", "Java", "C", "C++", "Go", "JavaScript", "TypeScript", "Rust"} <= set(langs)
    assert "True" in langs["Python"] and "null" in langs["Java"]  # read as words, not YAML booleans


def test_training_is_deterministic(tokenizer_dir):
    again, _ = train(training_records(), VOCAB)
    assert again.to_str() == _tok(tokenizer_dir).to_str()


def test_too_small_vocab_is_refused():
    with pytest.raises(ValueError, match="leaves no room for merges"):
        train([("a", "x = 1\n")], 200)


def test_transformers_loads_it(tokenizer_dir):
    from transformers import PreTrainedTokenizerFast

    hf = PreTrainedTokenizerFast.from_pretrained(tokenizer_dir)
    tok = _tok(tokenizer_dir)
    assert hf.eos_token == EOT and hf.eos_token_id == 0 and hf.pad_token == PAD and hf.pad_token_id == 1
    assert len(hf) == VOCAB
    text = "def add(a, b):\n    return a + b  # 加法\n"
    assert hf(text)["input_ids"] == tok.encode(text, add_special_tokens=False).ids
    assert hf.decode(hf(text)["input_ids"]) == text
    messages = [{"role": "system", "content": "You are a coder."}, {"role": "human", "content": "Add?"},
                {"role": "bot", "content": "a + b"}]
    assert hf.apply_chat_template(messages, tokenize=False) == render_text(messages)
    ids = hf.apply_chat_template(messages, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    assert ids[0] == hf.convert_tokens_to_ids("<|im_start|>")
