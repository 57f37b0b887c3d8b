"""Builds a labelled near-duplicate set from real code: groups of edited copies plus unrelated files.

Edits, as people and tools make them: whitespace reflow, consistent identifier renames, comment edits, a few
inserted or deleted lines. Ground truth is the exact Jaccard of the shingle sets (the stage's own tokens and
shingle size): a copy belongs to its group only if its Jaccard with the original reaches the threshold;
unrelated files are checked exactly against every candidate a permissive LSH (threshold 0.5) finds, and any
file with a true near-duplicate among them is left out, so "unique" means unique.

    python -m bench.make_neardup_set --corpus /tmp/corpora-full/real --out /tmp/neardup --groups 300 --unique 3000
writes <out>/files/... and <out>/labels.jsonl (path, group, role: original | copy | weak_copy | unique).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys

from pipeline.dedup.minhash import shingles
from pipeline.ingest.language import from_path

LANGS = {"Python", "Java", "C", "C++", "Go", "JavaScript", "TypeScript", "Rust", "Ruby", "PHP"}
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{3,}\b")
COMMENT = {"Python": "#", "Ruby": "#"}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def reflow(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    out = []
    for line in lines:
        line = line.rstrip()
        if line.startswith("    ") and rng.random() < 0.5:
            line = "\t" + line[4:]
        out.append(line)
        if not line and rng.random() < 0.3:
            out.append("")
    return "\n".join(out)


def rename(text: str, rng: random.Random, lang: str) -> str:
    names = sorted(set(_IDENT.findall(text)))
    for old in rng.sample(names, min(len(names), rng.randint(1, 3))):
        text = re.sub(rf"\b{re.escape(old)}\b", old + "_v2", text)
    return text


def comment_edit(text: str, rng: random.Random, lang: str) -> str:
    mark = COMMENT.get(lang, "//")
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines) + 1)
        indent = re.match(r"\s*", lines[i - 1] if i else "").group(0)
        lines.insert(i, f"{indent}{mark} note {rng.randrange(10_000)}: reviewed")
    return "\n".join(lines)


def insert_delete(text: str, rng: random.Random, lang: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.5 and len(lines) > 10:
            del lines[rng.randrange(len(lines))]
        else:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])  # a repeated line: a typical copy-paste edit
    return "\n".join(lines)


EDITS = (lambda t, r, lang: reflow(t, r), rename, comment_edit, insert_delete)


def pick_files(corpus: str, rng: random.Random, want: int, min_bytes=2_000, max_bytes=40_000) -> list[tuple]:
    found = []
    for folder, dirs, names in os.walk(corpus):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            lang = from_path(name)
            if lang in LANGS and not os.path.islink(path) and min_bytes <= os.path.getsize(path) <= max_bytes:
                found.append((path, lang))
    rng.shuffle(found)
    out = []
    for path, lang in found:
        try:
            with open(path, encoding="utf-8") as f:
                out.append((path, lang, f.read()))
        except (UnicodeDecodeError, OSError):
            continue
        if len(out) >= want:
            break
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="/tmp/corpora/real")
    ap.add_argument("--out", default="/tmp/neardup")
    ap.add_argument("--groups", type=int, default=300)
    ap.add_argument("--copies", type=int, default=4, help="edited copies per group")
    ap.add_argument("--unique", type=int, default=3000)
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--shingle-tokens", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    picked = pick_files(args.corpus, rng, args.groups + args.unique * 2)
    if len(picked) < args.groups + args.unique:
        print(f"only {len(picked)} usable files in {args.corpus}", file=sys.stderr)
        return 1
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(os.path.join(args.out, "files"))
    n = args.shingle_tokens
    labels, sets = [], {}

    def write(rel: str, text: str, group: str, role: str):
        path = os.path.join(args.out, "files", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        labels.append({"path": rel, "group": group, "role": role})
        sets[rel] = set(shingles(text.encode("utf-8"), n))

    for g, (path, lang, text) in enumerate(picked[:args.groups]):
        ext = os.path.splitext(path)[1]
        write(f"g{g:04d}/original{ext}", text, f"g{g:04d}", "original")
        base = sets[labels[-1]["path"]]
        for c in range(args.copies):
            copy = text
            for edit in rng.sample(EDITS, rng.randint(1, 3)):
                copy = edit(copy, rng, lang)
            rel = f"g{g:04d}/copy{c}{ext}"
            write(rel, copy, f"g{g:04d}", "copy")
            if jaccard(sets[rel], base) < args.threshold:
                labels[-1]["role"] = "weak_copy"  # edited past the threshold: a unique file by the ground truth
    # unique files: drop any that truly near-duplicates another file (exact Jaccard over LSH candidates)
    from datasketch import MinHash, MinHashLSH

    from pipeline.dedup.minhash import shingle_hash32
    pool = picked[args.groups:]
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for key, group_set in sets.items():
        m = MinHash(num_perm=128, hashfunc=shingle_hash32)
        m.update_batch(list(group_set))
        lsh.insert(key, m)
    kept = 0
    for i, (path, lang, text) in enumerate(pool):
        if kept >= args.unique:
            break
        s = set(shingles(text.encode("utf-8"), n))
        if len(s) < 20:
            continue
        m = MinHash(num_perm=128, hashfunc=shingle_hash32)
        m.update_batch(list(s))
        if any(jaccard(s, sets[k]) >= args.threshold for k in lsh.query(m)):
            continue
        rel = f"unique/u{i:05d}{os.path.splitext(path)[1]}"
        lsh.insert(rel, m)
        write(rel, text, rel, "unique")
        kept += 1
    with open(os.path.join(args.out, "labels.jsonl"), "w") as f:
        for row in labels:
            f.write(json.dumps(row) + "\n")
    roles = {r: sum(1 for x in labels if x["role"] == r) for r in ("original", "copy", "weak_copy", "unique")}
    print(f"wrote {len(labels)} files to {args.out}/files: {roles}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
