"""Keyword enforcement and the tiktoken-equivalent merges, on a hand-made vocabulary; the hashed sample."""
from __future__ import annotations

from pipeline.tokenizer import keywords, sample
from pipeline.tokenizer.keywords import to_symbols


def _vocab(tokens: list[str]) -> dict[str, int]:
    base = [chr(c) for c in sorted(ord(v) for v in keywords.byte_to_char().values())]
    return {t: i for i, t in enumerate(base + tokens)}


def test_enforce_makes_forms_single_and_keeps_size():
    trained = ["de", "ab", "abc", "xy", "xyz", "xyzw"]  # the last trained ones are the least useful
    vocab = _vocab(trained)
    out, fixed, spare = keywords.enforce(vocab, 256, ["def", "abcd"], len(vocab))
    assert fixed == ["abcd", "def"]
    assert len(out) + spare == len(vocab)
    assert "def" in out and "abcd" in out and "xyzw" not in out  # room made by dropping from the end
    assert keywords._segments(out, 256, ["def", "abcd"]) == {}
    assert sorted(out.values()) == list(range(len(out)))


def test_enforce_fills_a_short_vocabulary_with_spare_ids_and_refuses_a_tiny_one():
    vocab = _vocab(["ab"])
    out, _, spare = keywords.enforce(vocab, 256, ["abc"], len(vocab) + 10)
    assert "abc" in out and spare == 9
    import pytest

    with pytest.raises(ValueError, match="raise tokenizer.vocab_size"):
        keywords.enforce(vocab, 256, ["abcdef", "xyzuvw"], len(vocab))


def test_closure_lists_every_split():
    vocab = _vocab(["ab", "bc", "abc"])
    merges = keywords.closure(vocab, 256)
    assert ("ab", "c") in merges and ("a", "bc") in merges  # tiktoken would merge either way
    assert merges.index(("a", "b")) < merges.index(("ab", "c"))


def test_symbols_are_gpt2_bytes():
    assert to_symbols(" def") == "\u0120def"
    assert len(to_symbols("中")) == 3


def test_sample_is_stable_and_complementary(tmp_path):
    for i in range(50):
        (tmp_path / f"f{i}.txt").write_text(f"text {i}\n" * 20)
    (tmp_path / "bin.dat").write_bytes(b"\0\1\2")
    inside = dict(sample.folder_sample(str(tmp_path), 3, 2000))
    outside = dict(sample.folder_sample(str(tmp_path), 3, 2000, held_out=True))
    assert inside and outside and not set(inside) & set(outside)
    assert len(inside) + len(outside) == 50  # the binary file is read by neither
    assert inside == dict(sample.folder_sample(str(tmp_path), 3, 2000))
    assert dict(sample.folder_sample(str(tmp_path), 4, 2000)) != inside


def test_chunks_keep_whole_lines():
    text = "".join(f"line {i}\n" for i in range(1000))
    parts = sample.chunks(text, 100)
    assert "".join(parts) == text and all(p.endswith("\n") for p in parts) and len(parts) > 50
