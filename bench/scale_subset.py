"""The scale bench's inputs: the whole corpus (or a size-capped share) and its half, by a stable hash of each path."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

MB = 1e6  # as the pipeline counts MB (pipeline/spark/commit.py)


def path_key(rel: str) -> float:
    """A number in [0, 1) fixed by a relative path alone: the same on every machine, run and Python."""
    digest = hashlib.blake2b(rel.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


def list_files(root: Path) -> list[tuple[str, int]]:
    """(path relative to root with '/' separators, bytes) of every regular file under root; symlinks are left
    out (make_corpus.sh drops them too)."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            found.append((os.path.relpath(path, root).replace(os.sep, "/"), os.path.getsize(path)))
    return sorted(found)


def select(files: list[tuple[str, int]], limit_mb: float | None = None) -> tuple[list[str], list[str]]:
    """(whole, half), both sorted. whole: the files whose key is below a cutoff, the cutoff chosen so that whole
    just reaches limit_mb (1.0, every file, without a limit); half: the files whose key is below half that cutoff,
    so half is a subset of whole holding about half its files and bytes, and both are fixed by the paths alone."""
    keyed = sorted((path_key(rel), rel, size) for rel, size in files)
    cutoff = 1.0
    if limit_mb is not None:
        total = 0
        for key, _, size in keyed:
            if total >= limit_mb * MB:
                cutoff = key
                break
            total += size
    whole = sorted(rel for key, rel, _ in keyed if key < cutoff)
    half = sorted(rel for key, rel, _ in keyed if key < cutoff / 2)
    return whole, half


def link_tree(root: Path, rels: list[str], dest: Path) -> str:
    """A fresh folder `dest` holding `rels` at their relative paths: hard links to root's files, or copies when
    dest is on another filesystem (ingest then reads plain files either way). Returns "hard links" or "copies"."""
    if dest.exists():
        shutil.rmtree(dest)
    how = "hard links"
    for rel in rels:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if how == "hard links":
            try:
                os.link(root / rel, target)
                continue
            except OSError:  # EXDEV (another filesystem) or a filesystem without hard links
                how = "copies"
        shutil.copyfile(root / rel, target)
    return how
