"""Privacy scrubbing on a labelled set built from real code: recall per secret type, lookalikes touched, MB/s.

The set comes from bench/make_privacy_set.py (built in memory with --seed, or read from --set). A planted secret
counts as found when none of its values is left in the scrubbed text; a lookalike counts as wrongly replaced when
any of its values occurs fewer times after scrubbing than before. Replacements in the unmodified real files are
counted per type (they are real addresses and test data in the standard library, or false alarms: read them with
--show-real). Throughput is measured on the unmodified files, one text at a time (`scrub`) and as Arrow batches
of 1000 rows (`scrub_array`, which screens with RE2 first), best of --repeats.

    python -m bench.privacy_eval [--seed 0] [--stdlib-files 300] [--other-files 150] [--show-misses]
"""
from __future__ import annotations

import argparse
import collections
import json

import pyarrow as pa

from bench.make_privacy_set import build
from bench.timing import timed
from pipeline.privacy.detectors import TYPES, detect
from pipeline.privacy.scrub import resolve, scrub, scrub_array


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", help="a JSONL file written by bench.make_privacy_set (default: build in memory)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stdlib-files", type=int, default=300)
    ap.add_argument("--other-files", type=int, default=150)
    ap.add_argument("--corpus", default="/tmp/corpora/real", help="JS/Java/C/... files to draw from, if present")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--show-misses", action="store_true", help="print every missed secret and touched lookalike")
    ap.add_argument("--show-real", action="store_true", help="print every replacement in the unmodified files")
    args = ap.parse_args()
    if args.set:
        with open(args.set, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
    else:
        rows = build(args.seed, args.stdlib_files, args.other_files, args.corpus)
    langs = collections.Counter(r["language"] for r in rows)
    print(f"{len(rows)} real files ({', '.join(f'{n} {k}' for k, n in langs.most_common())}), seed {args.seed}")

    planted = collections.Counter()
    found = collections.Counter()
    typed = collections.Counter()   # replacements of the planted type, over all files
    by_gen = collections.defaultdict(lambda: [0, 0])
    misses = []
    for row in rows:
        text = row["text"]
        out, counts = scrub(text)
        _, base = scrub(row["original"])
        for t in TYPES:
            typed[t] += counts[t] - base[t]
        for p in row["plants"]:
            key = (p["label"], p["type"] if p["label"] == "secret" else p["generator"])
            planted[key] += 1
            if p["label"] == "secret":
                ok = all(v not in out for v in p["values"])
            else:
                ok = all(out.count(v) == text.count(v) for v in p["values"])
            found[key] += ok
            by_gen[(p["label"], p["generator"])][0] += 1
            by_gen[(p["label"], p["generator"])][1] += ok
            if not ok:
                misses.append((p["label"], p["generator"], row["path"], p["values"][0][:80]))

    print(f"\n{'secret type':<14} {'planted':>8} {'removed':>8} {'recall':>8} {'replaced as type':>17}")
    tot_p = tot_f = 0
    for t in TYPES:
        n, k = planted[("secret", t)], found[("secret", t)]
        tot_p, tot_f = tot_p + n, tot_f + k
        print(f"{t:<14} {n:>8} {k:>8} {k / max(n, 1):>8.1%} {typed[t]:>17}")
    print(f"{'all':<14} {tot_p:>8} {tot_f:>8} {tot_f / max(tot_p, 1):>8.1%}")
    print("  by generator: " + ", ".join(f"{g} {v[1]}/{v[0]}" for (lab, g), v in sorted(by_gen.items())
                                          if lab == "secret"))

    print(f"\n{'lookalike':<14} {'planted':>8} {'touched':>8}")
    tot_l = tot_t = 0
    for (label, gen), n in sorted(planted.items()):
        if label == "lookalike":
            touched = n - found[(label, gen)]
            tot_l, tot_t = tot_l + n, tot_t + touched
            print(f"{gen:<14} {n:>8} {touched:>8}")
    print(f"{'all':<14} {tot_l:>8} {tot_t:>8}")

    originals = [r["original"] for r in rows]
    real = collections.Counter()
    touched_files = 0
    for row in rows:
        spans = resolve(detect(row["original"]))
        touched_files += bool(spans)
        for s in spans:
            real[s.type] += 1
            if args.show_real:
                print(f"  real {s.type:<11} {row['path']}: {row['original'][s.start:s.end][:70]!r}")
    print(f"\nreplacements in the {len(rows)} unmodified files: {sum(real.values())} in {touched_files} files ("
          + ", ".join(f"{t} {real[t]}" for t in TYPES) + ")")

    mb = sum(len(t.encode("utf-8")) for t in originals) / 1e6
    one = timed(lambda: [scrub(t) for t in originals], args.repeats)
    arrays = [pa.array(originals[i:i + 1000], pa.string()) for i in range(0, len(originals), 1000)]
    batch = timed(lambda: [list(scrub_array(a)) for a in arrays], args.repeats)
    print(f"throughput on the unmodified files ({mb:.1f} MB, one core): scrub {mb / one:.1f} MB/s, "
          f"scrub_array {mb / batch:.1f} MB/s")
    if args.show_misses:
        for m in misses:
            print("  miss", *m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
