"""Which benchmark item a file contains, if any: a verbatim normalised substring, or most of an item's n-grams.

One file is tokenised and n-gram-hashed once (see benchmarks.py for the normalisation); its hashes are looked up
in one sorted array of every item's hashes, and only the items hit (the candidates) are examined further:
1. substring: the item's normalised prompt + solution, or its solution alone, when at least
   decontam.min_substring_chars long, occurs verbatim (on token boundaries) in the file's normalised text;
2. ngram: the share of the item's code n-grams found in the file is at least decontam.min_overlap. Items whose
   normalised code is shorter than min_substring_chars are left out of this test: a few generic lines
   (`def add(x, y): return x + y`) are no evidence; such an item is found only with its prompt, by test 1.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from pipeline.config import DecontamConfig
from pipeline.decontam.benchmarks import Item, build_item, gram_hashes, load_records, tokens

_SIEVE_MASK = (1 << 22) - 1


class Contamination(NamedTuple):
    task_id: str
    kind: str      # "substring" | "ngram"
    score: float   # 1.0 for a substring; the share of the item's n-grams found otherwise


class Matcher:
    def __init__(self, items: list[Item], ngram_tokens: int, min_overlap: float, min_substring_chars: int):
        self.items = items
        self.n = ngram_tokens
        self.min_overlap = min_overlap
        # substring targets, padded so that they match whole tokens only
        self.targets = [[f" {t} " for t in dict.fromkeys((it.full, it.solution)) if len(t) >= min_substring_chars]
                        for it in items]
        self.by_ngram = [len(it.code) >= min_substring_chars and bool(it.grams) for it in items]
        index: dict[int, list[int]] = {}
        self.always: set[int] = set()  # items with a target too short to hold an n-gram: checked in every file
        for i, it in enumerate(items):
            keys = set(it.grams) | set(gram_hashes(it.full.split(" "), self.n).tolist())
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

    def contamination(self, text: str) -> Contamination | None:
        """The item `text` contains (substring evidence first, then the highest n-gram share), or None."""
        toks = tokens(text)
        found = self.hits(gram_hashes(toks, self.n))
        candidates = set(self.always)
        for h in found:
            candidates.update(self.index[h])
        if not candidates:
            return None
        order = sorted(candidates)
        norm = " " + " ".join(toks) + " "
        for i in order:
            if any(t in norm for t in self.targets[i]):
                return Contamination(self.items[i].task_id, "substring", 1.0)
        best = None
        for i in order:
            if self.by_ngram[i]:
                grams = self.items[i].grams
                share = len(grams & found) / len(grams)
                if share >= self.min_overlap and (best is None or share > best.score):
                    best = Contamination(self.items[i].task_id, "ngram", share)
        return best


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
