"""Where quality's time goes against a bare tree-sitter parse: each phase timed on the same files, one core.

For a sample of corpus files with a grammar (the first grammar `grammars_to_try` gives each, as quality tries
first): a bare parse (`Parser.parse(bytes)`, the baseline), the metrics query's captures, the error ratio, the
metrics from the captures, and the facts later stages take from the tree (segments, SFT candidates). Then the query
again without its identifier pattern and with that pattern alone, which splits the query's cost into the walk over
the tree and the captures. Prints seconds and each phase as a multiple of the bare parse, the captures by name, and
the phases per language.
"""
from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import time
from collections import Counter, defaultdict

PHASES = ("captures", "error ratio", "metrics", "facts")


def sample(root: str, n: int, seed: int) -> list[tuple[bytes, str, str, str]]:
    """(bytes, text, SPECS key, path) of up to n UTF-8 files under 1 MB with a grammar, drawn with `seed`."""
    from pipeline.ingest.language import from_path
    from pipeline.quality.specs import SPECS, grammars_to_try

    paths = [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]
    paths = [(p, lang) for p in sorted(paths) if (lang := from_path(p)) in SPECS]
    random.Random(seed).shuffle(paths)
    out = []
    for path, lang in paths:
        if len(out) >= n:
            break
        try:
            data = open(path, "rb").read()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(data) <= 1_000_000:
            out.append((data, text, grammars_to_try(lang, path, data)[0], path))
    return out


@functools.lru_cache(maxsize=None)
def split_queries(key: str) -> dict:
    """The metrics query of a SPECS key without its identifier pattern, and that pattern alone."""
    from tree_sitter import Query

    from pipeline.quality import grammars
    from pipeline.quality.specs import SPECS

    lines = grammars.query_source(SPECS[key]).split("\n")
    language = grammars.language(SPECS[key].grammar)
    return {"without identifiers": Query(language, "\n".join(x for x in lines if not x.endswith("@ident"))),
            "identifiers alone": Query(language, "\n".join(x for x in lines if x.endswith("@ident")))}


def timed(fn) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="/tmp/corpora/real")
    ap.add_argument("--files", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        print(f"no corpus in {args.corpus}: bash ../shared/corpus/make_corpus.sh", file=sys.stderr)
        return 1
    from tree_sitter import QueryCursor

    from pipeline.quality import analyze, grammars
    from pipeline.quality.facts import facts_of_tree
    from pipeline.quality.specs import SPECS

    files = sample(args.corpus, args.files, args.seed)
    total: Counter = Counter()
    by_lang: dict[str, Counter] = defaultdict(Counter)
    captured: Counter = Counter()
    split: Counter = Counter()
    for data, text, key, _ in files:
        spec = SPECS[key]
        tree, t_parse = timed(lambda: grammars.parser(spec.grammar).parse(data))
        caps, t_caps = timed(lambda: analyze.captures(tree.root_node, key))
        _, t_err = timed(lambda: analyze.error_ratio(tree.root_node, caps, spec.offside))
        _, t_met = timed(lambda: analyze.measure_tree(caps, data, text, key))
        _, t_facts = timed(lambda: facts_of_tree(tree.root_node, caps, data, key))
        for name, t in zip(("parse",) + PHASES, (t_parse, t_caps, t_err, t_met, t_facts)):
            total[name] += t
            by_lang[key][name] += t
        captured.update({name: len(nodes) for name, nodes in caps.items()})
        for label, query in split_queries(key).items():  # the same tree, still in cache, queried twice more
            split[label] += timed(lambda: QueryCursor(query).captures(tree.root_node))[1]
    parse = total["parse"]
    mb = sum(len(f[0]) for f in files) / 1e6
    print(f"{len(files):,} files, {mb:.1f} MB from {args.corpus} (seed {args.seed}), one core")
    print(f"   {'phase':<28} {'seconds':>8} {'x bare parse':>13}")
    for name in ("parse",) + PHASES:
        print(f"   {name:<28} {total[name]:>8.2f} {total[name] / parse:>13.2f}")
    whole = sum(total[n] for n in ("parse",) + PHASES)
    print(f"   {'all (quality with facts)':<28} {whole:>8.2f} {whole / parse:>13.2f}")
    print(f"   {'quality without the facts':<28} {whole - total['facts']:>8.2f} "
          f"{(whole - total['facts']) / parse:>13.2f}   (goal <= 1.3)")
    for label, t in split.items():
        print(f"   query {label:<22} {t:>8.2f} {t / parse:>13.2f}")
    print("captures: " + ", ".join(f"{k} {v:,}" for k, v in captured.most_common()))
    print(f"   {'language':<12} {'parse s':>8} " + " ".join(f"{p:>12}" for p in PHASES))
    for key, c in sorted(by_lang.items(), key=lambda kv: -kv[1]["parse"]):
        print(f"   {key:<12} {c['parse']:>8.2f} " + " ".join(f"{c[p] / c['parse']:>12.2f}" for p in PHASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
