"""Quality's grammars: the related grammar always tried after errors (the baseline, before 2026-12-07: a .tsx file
or a C file with a line only C++ has tried first with TSX / C++, then with the other) against `grammars_to_try`
(TypeScript's dialect from its extension alone; a C file with a C++ line parsed as C++ only, unless it guards C++
with `__cplusplus`), over the C and TypeScript files of a folder.

    python -m bench.grammar_order [--corpus /tmp/corpora/real] [--rounds 2]

Prints, for each order, the tree-sitter parses by grammar, the second tries and the CPU seconds of `analyze` on one
core (rounds alternated, medians), then how many files got another grammar, another accept/reject decision or
other metrics. The parses are counted by wrapping `analyze.parse`; the baseline by replacing
`analyze.grammars_to_try` with `related_always_tried`, for the length of the run.
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
from pipeline.quality import specs

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


def related_always_tried(language: str, path: str | None, source: bytes) -> tuple[str, ...]:
    """The baseline: C and TypeScript files always get the related grammar after errors; it goes first for a .tsx
    file and for a C file with a line only C++ has."""
    if language not in specs.FALLBACK:
        return (language,)
    shows = (language == "TypeScript" and path is not None and path.lower().endswith(".tsx")) or \
        (language == "C" and specs._CPP_LINE.search(source) is not None)
    own = (language, specs.FALLBACK[language])
    return own[::-1] if shows else own


@contextlib.contextmanager
def order(baseline: bool, parses: Counter):
    """analyze() with parses counted by grammar, and with the baseline's grammars when `baseline`."""
    real_parse, real_order = analyze_module.parse, analyze_module.grammars_to_try

    def counted(source, grammar, budget_ms):
        parses[grammar] += 1
        return real_parse(source, grammar, budget_ms)

    analyze_module.parse = counted
    if baseline:
        analyze_module.grammars_to_try = related_always_tried
    try:
        yield
    finally:
        analyze_module.parse, analyze_module.grammars_to_try = real_parse, real_order


def score(files, cfg: QualityConfig, baseline: bool) -> tuple[dict, Counter, float]:
    """({path: (grammar, rejected, metrics)}, parses by grammar, CPU seconds) of one pass over files."""
    parses, out = Counter(), {}
    with order(baseline, parses):
        t0 = time.process_time()
        for path, language, text in files:
            tolerated = cfg.error_ratio_by_language.get(language, cfg.max_error_ratio)
            try:
                m = analyze_module.analyze(text, language, cfg.parse_budget_ms, tolerated, path)
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
        for baseline in (True, False):
            results[baseline] = score(files, cfg, baseline)
            seconds[baseline].append(results[baseline][2])
    for baseline, label in ((True, "related always tried (baseline)"), (False, "grammars_to_try")):
        _, parses, _ = results[baseline]
        total = sum(parses.values())
        print(f"{label:30} parses {total:>8,} (second tries {total - len(files):,}; "
              f"{', '.join(f'{g} {n:,}' for g, n in sorted(parses.items()))}), "
              f"CPU {statistics.median(seconds[baseline]):.1f} s (median of {args.rounds})")
    old, new = results[True][0], results[False][0]
    print(f"files with another grammar: {sum(old[p][0] != new[p][0] for p in old):,}; another accept/reject: "
          f"{sum(old[p][1] != new[p][1] for p in old):,}; other metrics: {sum(old[p][2] != new[p][2] for p in old):,}")
    flips = Counter((language, Path(path).suffix.lower(), "kept -> rejected" if new[path][1] else "rejected -> kept")
                    for path, language, _ in files if old[path][1] != new[path][1])
    for (language, suffix, change), n in sorted(flips.items()):
        print(f"  {language} {suffix}: {n:,} {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
