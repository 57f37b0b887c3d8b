"""The batch tokeniser and hashes: each text's n-gram hashes as the one-file path gives them; the batch screen."""
from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from pipeline.config import DecontamConfig
from pipeline.decontam.batch_tokens import batch_gram_hashes, token_hashes
from pipeline.decontam.benchmarks import gram_hashes, tokens
from pipeline.decontam.matcher import matcher

# every byte class the tokeniser tells apart: words, ASCII whitespace (with \v), quotes, #, backslashes and the
# escapes they make, other punctuation, control bytes, 2-, 3- and 4-byte characters, non-ASCII whitespace
ALPHABET = list("ab_1 \t\n\x0b\f\r\"'`#\\.()+é日\u00a0\x1cnrt😀")


def _texts(seed: int, count: int, longest: int) -> list[str | None]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest))) for _ in range(count)] + [None, ""]


@pytest.mark.parametrize("n, chunk_bytes", [(1, 1 << 18), (3, 1), (4, 64), (10, 1000)])
def test_batch_hashes_equal_each_text_s_own(n, chunk_bytes):
    array = pa.array(_texts(n, 600, 200))
    for part in (array, array.slice(5, 300)):  # a slice starts inside the buffers
        hashes, rows = batch_gram_hashes(part, n, chunk_bytes)
        assert np.all(np.diff(rows) >= 0)
        for i, text in enumerate(part.to_pylist()):
            expected = gram_hashes(tokens(text), n) if text is not None else np.zeros(0, np.uint64)
            assert np.array_equal(hashes[rows == i], expected), (i, text)


def test_escapes_quotes_and_characters_tokenise_as_benchmarks_tokens_does():
    text = 'x = "a\\nb"  # c\\\\td \u00a0é😀'
    assert tokens(text) == ["x", "=", "a", "b", "c", "d", "\u00a0", "é", "😀"]
    (only,) = _one_gram_hashes(text)
    assert np.array_equal(only, token_hashes(tokens(text)))


def _one_gram_hashes(text: str):
    hashes, rows = batch_gram_hashes(pa.array([text]), 1)
    return [hashes[rows == 0]]


def test_token_hashes_are_the_same_in_every_process():
    # a fixed function of the bytes (Python's own str hash is salted per process)
    assert token_hashes(["def", "é"]).tolist() == token_hashes(["def", "é"]).tolist()
    assert len(set(token_hashes(["ab", "ba", "a", "b", "abc"]).tolist())) == 5


def test_the_screen_passes_what_contamination_can_find_and_nothing_else():
    from pipeline.decontam import benchmarks

    rec = next(r for r in benchmarks.load_records(("humaneval",), ()) if r.task_id == "HumanEval/12")
    found = matcher(DecontamConfig())
    texts = pa.array(["import os\n\nprint(os.getcwd())\n", "x = 1\n" + rec.prompt + rec.canonical_solution,
                      None, ""], pa.large_string())
    assert found.may_hold(texts) == [False, True, False, False]
    assert found.contamination(texts[1].as_py()).task_id == "HumanEval/12"
