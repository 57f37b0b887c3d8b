"""Quality's grammar order: each language's own grammar first (the baseline) against `first_grammar` (TSX for a .tsx
file, C++ for a C file with a line only C++ has), over the C and TypeScript files of a folder.

    python -m bench.grammar_order [--corpus /tmp/corpora/real] [--rounds 2]

Prints, for each order, the tree-sitter parses by grammar, the second tries and the CPU seconds of `analyze` on one
core (rounds alternated, medians), then how many files got another grammar, another accept/reject decision or
other metrics. The parses are counted by wrapping `analyze.parse`; the baseline order by replacing
`analyze.first_grammar` with the language itself, for the length of the run.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from pipeline.config import QualityConfig
from pipeline.ingest.language import from_path
from pipeline.quality import analyze as analyze_module

LANGUAGES = ("C", "TypeScript")


def files_of(root: Path, max_bytes: int) -> list[tuple[str, str, str]]:
    """(path, language, text) of the C and TypeScript files under root that quality would parse."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        language = from_path(str(path))
        if language not in LANGUAGES:
            continue
        data = path.read_bytes()
        if len(data) > max_bytes or b"\0" in data:
            continue
        try:
            out.append((str(path), language, data.decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return out


@contextlib.contextmanager
def order(own_first: bool, parses: Counter):
    """analyze() with parses counted by grammar, and with each language's own grammar first when own_first."""
    real_parse, real_first = analyze_module.parse, analyze_module.first_grammar

    def counted(source, grammar, budget_ms):
        parses[grammar] += 1
        return real_parse(source, grammar, budget_ms)

    analyze_module.parse = counted
    if own_first:
        analyze_module.first_grammar = lambda language, _path, _source: language
    try:
        yield
    finally:
        analyze_module.parse, analyze_module.first_grammar = real_parse, real_first


def score(files, cfg: QualityConfig, own_first: bool) -> tuple[dict, Counter, float]:
    """({path: (grammar, rejected, metrics)}, parses by grammar, CPU seconds) of one pass over files."""
    parses, out = Counter(), {}
    with order(own_first, parses):
        t0 = time.process_time()
        for path, language, text in files:
            tolerated = cfg.error_ratio_by_language.get(language, cfg.max_error_ratio)
            try:
                m = analyze_module.analyze(text, language, cfg.parse_budget_ms, tolerated, None, path)
                out[path] = (m["quality_grammar"], m["error_ratio"] > tolerated, m)
            except (analyze_module.ParseBudgetExceeded, RecursionError):
                out[path] = ("over budget", True, None)
        seconds = time.process_time() - t0
    return out, parses, seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/corpora/real"))
    ap.add_argument("--rounds", type=int, default=2, help="alternated rounds of each order")
    args = ap.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}: build it with `bash ../shared/corpus/make_corpus.sh`", file=sys.stderr)
        return 2
    cfg = QualityConfig()
    files = files_of(args.corpus, cfg.max_parse_bytes)
    by_language = Counter(language for _, language, _ in files)
    print(f"{len(files):,} files ({', '.join(f'{n:,} {lang}' for lang, n in sorted(by_language.items()))})")
    results, seconds = {}, {True: [], False: []}
    for _ in range(args.rounds):
        for own_first in (True, False):
            results[own_first] = score(files, cfg, own_first)
            seconds[own_first].append(results[own_first][2])
    for own_first, label in ((True, "own grammar first (baseline)"), (False, "first_grammar")):
        _, parses, _ = results[own_first]
        total = sum(parses.values())
        print(f"{label:30} parses {total:>8,} (second tries {total - len(files):,}; "
              f"{', '.join(f'{g} {n:,}' for g, n in sorted(parses.items()))}), "
              f"CPU {statistics.median(seconds[own_first]):.1f} s (median of {args.rounds})")
    old, new = results[True][0], results[False][0]
    print(f"files with another grammar: {sum(old[p][0] != new[p][0] for p in old):,}; another accept/reject: "
          f"{sum(old[p][1] != new[p][1] for p in old):,}; other metrics: {sum(old[p][2] != new[p][2] for p in old):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
