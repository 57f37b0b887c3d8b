"""Keywords as single tokens: the word list, and the merges that make every listed word one token after training."""
from __future__ import annotations

import functools
from importlib import resources

import yaml


@functools.lru_cache(maxsize=1)
def keywords_by_language() -> dict[str, tuple[str, ...]]:
    # BaseLoader: every word stays a string (YAML would read true/null/False as booleans)
    text = resources.files("pipeline.tokenizer").joinpath("keywords.yaml").read_text(encoding="utf-8")
    return {lang: tuple(words) for lang, words in yaml.load(text, Loader=yaml.BaseLoader).items()}


def keyword_forms(pre_tokenize) -> list[str]:
    """Every keyword bare and after one space, kept only when `pre_tokenize(form)` leaves it in one piece."""
    words = sorted({w for ws in keywords_by_language().values() for w in ws})
    return [f for w in words for f in (w, " " + w) if len(pre_tokenize(f)) == 1]


@functools.lru_cache(maxsize=1)
def byte_to_char() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte (what ByteLevel writes into the vocabulary)."""
    from tokenizers.pre_tokenizers import ByteLevel

    chars = ByteLevel.alphabet()
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    order = printable + [b for b in range(256) if b not in printable]
    table = {b: chr(c) for b, c in zip(printable, printable)}
    for n, b in enumerate(order[len(printable):]):
        table[b] = chr(256 + n)
    assert set(table.values()) == set(chars), "GPT-2 byte table differs from tokenizers' ByteLevel alphabet"
    return table


def to_symbols(text: str) -> str:
    table = byte_to_char()
    return "".join(table[b] for b in text.encode("utf-8"))


def closure(vocab: dict[str, int], skip: int) -> list[tuple[str, str]]:
    """Merges under which `tokenizers` splits text as tiktoken does with ranks = ids: for every token (ids from
    `skip` on, in id order), every split into two tokens. tiktoken merges any adjacent pair whose concatenation is
    a token, by that token's rank; BPE merges only listed pairs, so a trained tokenizer.json may lack pairs that
    tiktoken merges. Listing them all, at their token's place, makes the two agree."""
    merges = []
    for token, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        if i < skip or len(token) < 2:
            continue
        merges.extend((token[:j], token[j:]) for j in range(1, len(token)) if token[:j] in vocab and token[j:] in vocab)
    return merges


def _segments(vocab: dict[str, int], skip: int, forms: list[str]) -> dict[str, list[str]]:
    """The tokens each form that is not one token yet is split into (tiktoken's semantics, see `closure`)."""
    from tokenizers.models import BPE

    model = BPE(vocab=vocab, merges=closure(vocab, skip))
    out = {}
    for form in forms:
        pieces = [t.value for t in model.tokenize(to_symbols(form))]
        if len(pieces) > 1:
            out[form] = pieces
    return out


def _chain(vocab: dict[str, int], skip: int, forms: list[str], rounds: int = 16):
    """(vocab, forms served): tokens added, left to right over each form's current tokens, until every form is one
    token. New tokens take the next ids (the lowest priority). A new token can split an earlier form (" by" after
    " sizeof"), so this repeats until nothing is missing."""
    vocab, served = dict(vocab), set()
    for _ in range(rounds):
        missing = _segments(vocab, skip, forms)
        if not missing:
            return vocab, sorted(served)
        for form, pieces in missing.items():
            served.add(form)
            acc = pieces[0]
            for p in pieces[1:]:
                acc += p
                vocab.setdefault(acc, len(vocab))
    raise ValueError(f"keyword forms still split after {rounds} rounds: {sorted(_segments(vocab, skip, forms))[:5]}")


def enforce(vocab: dict[str, int], skip: int, forms: list[str], size: int):
    """(vocab, forms fixed, spare ids): at most `size` ids, every form one token.

    Trained tokens come in merge order, the last ones the least useful: drop the smallest number k of them that
    makes room for the tokens the forms need on top of the rest. The ids left over (up to `size`) are returned as
    spare, for reserved special tokens (a small corpus may also leave the trainer short of `size`).
    `skip`: ids below it are special tokens and bytes, never dropped.
    """
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("vocabulary ids are not 0..n-1")
    k, trained = 0, len(by_id) - skip
    while k <= trained:
        out, served = _chain(dict(by_id[:len(by_id) - k]), skip, forms)
        if len(out) <= size:
            return out, served, size - len(out)
        k = min(trained + 1, max(k + 1, len(out) - size + k))
    raise ValueError(f"vocab_size {size} cannot hold the {len(forms)} keyword forms as single tokens even with no "
                     f"trained merges: raise tokenizer.vocab_size")
