"""Byte-level BPE training with `tokenizers` on sampled texts, then keywords made single tokens."""
from __future__ import annotations

import json
from collections.abc import Iterable

from pipeline.tokenizer import keywords
from pipeline.tokenizer.special import PATTERN, RESERVED, SPECIAL_TOKENS


def pre_tokenizer():
    """Split on PATTERN (pieces kept whole), then bytes to GPT-2 symbols with no regex of its own."""
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(PATTERN), behavior="isolated", invert=False),
                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def assemble(vocab: dict[str, int], merges: list[tuple[str, str]], reserved: list[str] = ()):
    """A Tokenizer from a byte-level BPE vocabulary (special tokens at ids 0..7): our pre-tokenizer and decoder,
    the special tokens, and `reserved` special tokens taking the ids after the vocabulary."""
    from tokenizers import AddedToken, Tokenizer, decoders, models

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in [*SPECIAL_TOKENS, *reserved]])
    return tok


def _texts(records: Iterable[tuple[str, str]], stats: dict) -> Iterable[str]:
    for _, text in records:
        stats["documents"] += 1
        stats["bytes"] += len(text.encode("utf-8", "replace"))
        yield text


def train(records: Iterable[tuple[str, str]], vocab_size: int, min_frequency: int = 2,
          max_token_bytes: int = 0) -> tuple[object, dict]:
    """(Tokenizer, stats): BPE trained on the texts of `records` to exactly `vocab_size` ids (special tokens
    first, then the 256 byte symbols, then merges), with every keyword form a single token. tokenizer.json lists,
    for every token, each split into two tokens as a merge (see keywords.closure), so that `tokenizers` and the
    tiktoken encoder built from the same vocabulary give the same ids."""
    from tokenizers import Tokenizer, models, trainers
    from tokenizers.pre_tokenizers import ByteLevel

    if vocab_size < len(SPECIAL_TOKENS) + 256 + 1:
        raise ValueError(f"vocab_size {vocab_size} leaves no room for merges (needs > {len(SPECIAL_TOKENS) + 256})")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                  special_tokens=list(SPECIAL_TOKENS), initial_alphabet=ByteLevel.alphabet(),
                                  max_token_length=max_token_bytes or None)  # symbols are bytes
    stats = {"documents": 0, "bytes": 0}
    tok.train_from_iterator(_texts(records, stats), trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = {t: i for t, i in model["vocab"].items()}
    for i, t in enumerate(SPECIAL_TOKENS):
        if vocab.get(t) != i:
            raise ValueError(f"special token {t!r} has id {vocab.get(t)}, expected {i}")
    forms = keywords.keyword_forms(lambda s: pre_tokenizer().pre_tokenize_str(s))
    skip = len(SPECIAL_TOKENS) + 256
    vocab, fixed, spare = keywords.enforce(vocab, skip, forms, vocab_size)
    merges = keywords.closure(vocab, skip)
    reserved = [RESERVED.format(i) for i in range(spare)]
    stats.update({"trained_merges": len(model["merges"]), "merges": len(merges), "keyword_forms": len(forms),
                  "keyword_forms_fixed": len(fixed), "reserved_tokens": spare, "vocab_size": len(vocab) + spare})
    return assemble(vocab, merges, reserved), stats
