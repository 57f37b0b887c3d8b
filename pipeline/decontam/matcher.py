"""Which benchmark item a file contains, if any: a verbatim normalised substring, or most of an item's n-grams.

One file is tokenised and n-gram-hashed once (see benchmarks.py for the normalisation); its hashes are looked up
in one sorted array of every item's hashes, and only the items hit (the candidates) are examined further. A stage
first screens its whole batch so (`may_hold`, tokens found with numpy: batch_tokens.py), and only the files with a hit
are looked at one by one:
1. substring: the item's normalised prompt + solution, or its solution alone, when at least
   decontam.min_substring_chars long, occurs verbatim (on token boundaries) in the file's normalised text;
2. ngram: the share of the item's *solution* n-grams found in the file, and the share of all its code n-grams,
   are both at least decontam.min_overlap. What a file shares with the prompt alone (signature, imports) is no
   evidence: the benchmark gives the prompt to the model anyway, and common signatures recur in clean code. A
   solution too short to hold an n-gram (`return encode_cyclic(encode_cyclic(s))`) must occur verbatim instead,
   beside the prompt's code. Items whose normalised code is shorter than min_substring_chars are left out of this
   test: a few generic lines (`def add(x, y): return x + y`) are no evidence; such an item is found only with its
   prompt, by test 1.
3. test: the share of the item's test n-grams (as written, or calling the entry point instead of `candidate`)
   found in the file is at least min_overlap. N-grams that the tests of several items share (HumanEval's
   METADATA header, `def check(candidate):`) are dropped first; test code shorter than min_substring_chars is
   left out.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from pipeline.config import DecontamConfig
from pipeline.decontam.batch_tokens import batch_gram_hashes
from pipeline.decontam.benchmarks import Item, build_item, gram_hashes, load_records, tokens

_SIEVE_MASK = (1 << 22) - 1
_SHARED_TEST_ITEMS = 3  # a test n-gram held by this many items' tests is boilerplate


class Contamination(NamedTuple):
    task_id: str
    kind: str      # "substring" | "ngram" | "test"
    score: float   # 1.0 for a substring; the share of the item's solution (or test) n-grams found otherwise


class Matcher:
    def __init__(self, items: list[Item], ngram_tokens: int, min_overlap: float, min_substring_chars: int):
        self.items = items
        self.n = ngram_tokens
        self.min_overlap = min_overlap
        # substring targets, padded so that they match whole tokens only
        self.targets = [[f" {t} " for t in dict.fromkeys((it.full, it.solution)) if len(t) >= min_substring_chars]
                        for it in items]
        self.by_ngram = [len(it.code) >= min_substring_chars and bool(it.grams) for it in items]
        # solutions with no n-gram of their own: matched verbatim (as " tok tok ... ") beside the prompt's code
        self.short = [None if it.solution_grams else f" {it.solution_code} " for it in items]
        self.test_grams = _distinctive_test_grams(items, min_substring_chars)
        index: dict[int, list[int]] = {}
        self.always: set[int] = set()  # items with a target too short to hold an n-gram: checked in every file
        for i, it in enumerate(items):
            keys = set(it.grams) | set(gram_hashes(it.full.split(" "), self.n).tolist())
            keys.update(*self.test_grams[i])
            for h in keys:
                index.setdefault(h, []).append(i)
            if any(len(t.split()) < self.n for t in self.targets[i]):
                self.always.add(i)
        self.index = {h: tuple(v) for h, v in index.items()}
        self.keys = np.array(sorted(index), dtype=np.uint64)
        self.sieve = np.zeros(_SIEVE_MASK + 1, dtype=bool)  # low bits of every key: most hashes stop here
        self.sieve[(self.keys & np.uint64(_SIEVE_MASK)).astype(np.intp)] = True

    def hits(self, grams: np.ndarray) -> set[int]:
        """The file's n-gram hashes that some item holds."""
        if not grams.size or not self.keys.size:
            return set()
        grams = grams[self.sieve[(grams & np.uint64(_SIEVE_MASK)).astype(np.intp)]]
        pos = np.minimum(np.searchsorted(self.keys, grams), len(self.keys) - 1)
        return set(grams[self.keys[pos] == grams].tolist())

    def may_hold(self, texts: pa.Array) -> list[bool]:
        """Per text of a batch (null or empty: False): whether `contamination` can find anything in it, i.e. it holds an
        n-gram some item holds, or an item is checked in every file."""
        if self.always:
            return [bool(t) for t in texts.to_pylist()]
        out = np.zeros(len(texts), dtype=bool)
        grams, rows = batch_gram_hashes(texts, self.n)
        if grams.size and self.keys.size:
            sieved = self.sieve[(grams & np.uint64(_SIEVE_MASK)).astype(np.intp)]
            grams, rows = grams[sieved], rows[sieved]
            pos = np.minimum(np.searchsorted(self.keys, grams), len(self.keys) - 1)
            out[rows[self.keys[pos] == grams]] = True
        return out.tolist()

    def contamination(self, text: str) -> Contamination | None:
        """The item `text` contains (substring evidence first, then the highest n-gram share), or None."""
        found = self.hits(batch_gram_hashes(pa.array([text], pa.large_string()), self.n)[0])
        candidates = set(self.always)
        for h in found:
            candidates.update(self.index[h])
        if not candidates:
            return None
        order = sorted(candidates)
        norm = " " + " ".join(tokens(text)) + " "
        for i in order:
            if any(t in norm for t in self.targets[i]):
                return Contamination(self.items[i].task_id, "substring", 1.0)
        best = None
        for i in order:
            item = self.items[i]
            if self.by_ngram[i]:
                whole = len(item.grams & found) / len(item.grams)
                if self.short[i] is None:
                    share = len(item.solution_grams & found) / len(item.solution_grams)
                else:  # the short solution verbatim: the evidence is then the whole item's share
                    share = whole if self.short[i].strip() and self.short[i] in norm else 0.0
                if share >= self.min_overlap and whole >= self.min_overlap and (best is None or share > best.score):
                    best = Contamination(item.task_id, "ngram", share)
            for grams in self.test_grams[i]:
                share = len(grams & found) / len(grams)
                if share >= self.min_overlap and (best is None or share > best.score):
                    best = Contamination(item.task_id, "test", share)
        return best


def _distinctive_test_grams(items: list[Item], min_chars: int) -> list[tuple[frozenset[int], ...]]:
    """Per item, its test n-gram sets without the n-grams several items' tests share; () when too short."""
    holders: dict[int, int] = {}
    for it in items:
        for h in set().union(*it.test_grams):
            holders[h] = holders.get(h, 0) + 1
    common = {h for h, k in holders.items() if k >= _SHARED_TEST_ITEMS}
    out = []
    for it in items:
        sets = tuple(g - common for g in it.test_grams) if len(it.tests) >= min_chars else ()
        out.append(tuple(g for g in sets if g))
    return out


@functools.lru_cache(maxsize=4)
def _build(benchmarks: tuple[str, ...], extra_files: tuple[str, ...], ngram_tokens: int, min_overlap: float,
           min_substring_chars: int) -> Matcher:
    items = [build_item(r, ngram_tokens) for r in load_records(benchmarks, extra_files)]
    return Matcher(items, ngram_tokens, min_overlap, min_substring_chars)


def matcher(cfg: DecontamConfig) -> Matcher:
    """The matcher for a config, built once per process (never pickled from the driver)."""
    return _build(tuple(cfg.benchmarks), tuple(cfg.extra_files), cfg.ngram_tokens, cfg.min_overlap,
                  cfg.min_substring_chars)


def contamination(text: str, cfg: DecontamConfig = DecontamConfig()) -> Contamination | None:
    return matcher(cfg).contamination(text)
