"""Privacy recall on credentials written from providers' published formats (bench/secret_formats.py), per provider.

An independent measure beside bench/privacy_eval.py: that set plants secrets with our own generator; this one
comes from a table written from the providers' documentation, so it also finds what the detectors do not know.
A secret counts as removed when none of its values survives scrubbing; a lookalike as intact when each of its
values occurs as often after scrubbing as before. All files are generated (small config and code files, seeded).

    python -m bench.privacy_formats [--seed 0] [--show-misses]
"""
from __future__ import annotations

import argparse
import collections

from bench.privacy_formats_set import build
from bench.secret_formats import FORMATS
from pipeline.privacy.scrub import scrub

CONTEXTS = ("named", "header", "bare")


def evaluate(samples) -> tuple[dict, list]:
    """{(label, group, context): [n, ok]} and the failed samples."""
    tally: dict = collections.defaultdict(lambda: [0, 0])
    failed = []
    for s in samples:
        out, _ = scrub(s.text)
        if s.label == "secret":
            ok = all(v not in out for v in s.values)
        else:
            ok = all(out.count(v) == s.text.count(v) for v in s.values)
        cell = tally[(s.label, s.group, s.context)]
        cell[0] += 1
        cell[1] += ok
        if not ok:
            failed.append((s, out))
    return tally, failed


def _pct(cell) -> str:
    return f"{cell[1]}/{cell[0]}" if cell[0] else "-"


def report(tally: dict) -> None:
    print(f"{'provider':<32} {'family':<10} " + " ".join(f"{c:>8}" for c in CONTEXTS) + f" {'recall':>8}")
    fam = collections.defaultdict(lambda: [0, 0])
    total = {c: [0, 0] for c in CONTEXTS}
    for f in FORMATS:
        cells = [tally.get(("secret", f.provider, c), [0, 0]) for c in CONTEXTS]
        n, k = sum(c[0] for c in cells), sum(c[1] for c in cells)
        fam[f.family][0] += n
        fam[f.family][1] += k
        for c, cell in zip(CONTEXTS, cells):
            total[c][0] += cell[0]
            total[c][1] += cell[1]
        print(f"{f.provider:<32} {f.family:<10} " + " ".join(f"{_pct(c):>8}" for c in cells) + f" {k / n:>8.0%}")
    n, k = sum(t[0] for t in total.values()), sum(t[1] for t in total.values())
    print(f"{'all ' + str(len(FORMATS)) + ' provider formats':<43} " +
          " ".join(f"{t[1] / max(t[0], 1):>8.1%}" for t in total.values()) + f" {k / n:>8.1%}")
    print("  by family: " + ", ".join(f"{f} {v[1]}/{v[0]}" for f, v in fam.items()))

    others = collections.defaultdict(lambda: [0, 0])
    for (label, group, context), cell in tally.items():
        if label == "secret" and group not in {f.provider for f in FORMATS}:
            key = (group, context) if group in ("connection string", "generic secret") else (group, "")
            others[key][0] += cell[0]
            others[key][1] += cell[1]
    for title, groups in (("connection strings", ("connection string",)), ("generic secrets by syntax",
                                                                            ("generic secret",))):
        rows = {c: v for (g, c), v in others.items() if g in groups}
        n, k = sum(v[0] for v in rows.values()), sum(v[1] for v in rows.values())
        print(f"\n{title}: {k}/{n} removed ({k / max(n, 1):.1%}); " + ", ".join(f"{c} {_pct(v)}"
                                                                            for c, v in rows.items()))
    files = {g: v for (g, c), v in others.items() if c == ""}
    n, k = sum(v[0] for v in files.values()), sum(v[1] for v in files.values())
    print(f"\ncredential files: {k}/{n} removed ({k / max(n, 1):.1%}); " +
          ", ".join(f"{g} {_pct(v)}" for g, v in files.items()))

    looks = {g: v for (label, g, _), v in tally.items() if label == "lookalike"}
    merged = collections.defaultdict(lambda: [0, 0])
    for (label, g, _), v in tally.items():
        if label == "lookalike":
            merged[g][0] += v[0]
            merged[g][1] += v[1]
    n, k = sum(v[0] for v in merged.values()), sum(v[1] for v in merged.values())
    print(f"\nlookalikes left intact: {k}/{n} ({k / max(n, 1):.1%}); " +
          ", ".join(f"{g} {_pct(v)}" for g, v in merged.items()))
    del looks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show-misses", action="store_true", help="print every missed secret and touched lookalike")
    args = ap.parse_args()
    samples = build(args.seed)
    print(f"{len(samples)} generated files (seed {args.seed}): "
          f"{sum(s.label == 'secret' for s in samples)} secrets, {sum(s.label == 'lookalike' for s in samples)} "
          f"lookalikes; provider formats from bench/secret_formats.py\n")
    tally, failed = evaluate(samples)
    report(tally)
    if args.show_misses:
        for s, out in failed:
            print(f"\n--- {s.label} {s.group} / {s.context} ({s.syntax}); value {s.values[0][:60]!r}\n{out[:400]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
