"""DeepSpeed checkpoints made transactional: a completeness marker with file checksums, `latest` written last,
and resume from the newest checkpoint that checks out (a partial or corrupt one is skipped for the one before)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from common.atomic import write_atomic
from train.data import file_sha256

MARKER = "COMPLETE.json"
LATEST = "latest"  # DeepSpeed's tag file: holds the tag name of the checkpoint load_checkpoint() picks by default
TAG = re.compile(r"^global_step(\d+)$")


def tag_for(step: int) -> str:
    return f"global_step{step}"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER)


def seal(ckpt_dir: Path, tag: str, step: int, verify: str = "sha256") -> None:
    """After every rank has written `tag`: record its files (size, and sha256 unless verify=size), then point
    `latest` at it. Both writes are atomic renames, so a kill leaves either no marker or a whole one."""
    folder = ckpt_dir / tag
    files = {str(p.relative_to(folder)): {"size": p.stat().st_size,
                                           **({"sha256": file_sha256(p)} if verify == "sha256" else {})}
             for p in _files(folder)}
    if not files:
        raise RuntimeError(f"checkpoint {folder} holds no files")
    write_atomic(folder / MARKER, json.dumps({"step": step, "tag": tag, "files": files}, indent=1) + "\n")
    write_atomic(ckpt_dir / LATEST, tag)


def problem(ckpt_dir: Path, tag: str, verify: str = "sha256") -> str | None:
    """Why checkpoint `tag` cannot be trusted, or None when its marker is there and every file matches it."""
    folder = ckpt_dir / tag
    marker = folder / MARKER
    if not marker.is_file():
        return "no completeness marker (the save did not finish)"
    try:
        files = json.loads(marker.read_text())["files"]
    except (ValueError, KeyError) as e:
        return f"unreadable marker: {e}"
    present = {str(p.relative_to(folder)) for p in _files(folder)}
    for name, want in files.items():
        path = folder / name
        if name not in present:
            return f"file {name} is missing"
        if path.stat().st_size != want["size"]:
            return f"file {name} has {path.stat().st_size} bytes, marker says {want['size']}"
        if verify == "sha256" and "sha256" in want and file_sha256(path) != want["sha256"]:
            return f"file {name} does not match its sha256 (corrupt)"
    return None


def tags_newest_first(ckpt_dir: Path) -> list[str]:
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p.name) for p in ckpt_dir.iterdir() if p.is_dir() and (m := TAG.match(p.name))]
    return [name for _, name in sorted(found, reverse=True)]


def resumable(ckpt_dir: Path, verify: str = "sha256") -> tuple[list[str], list[tuple[str, str]]]:
    """(tags that check out, newest first; [(tag, why skipped)] for the others). `latest` is a hint only: every
    tag folder is checked, so a `latest` that points at a damaged checkpoint cannot win."""
    good, bad = [], []
    for tag in tags_newest_first(ckpt_dir):
        why = problem(ckpt_dir, tag, verify)
        (bad.append((tag, why)) if why else good.append(tag))
    return good, bad


def prune(ckpt_dir: Path, keep_last: int, verify: str = "size") -> list[str]:
    """Delete complete checkpoints beyond the newest keep_last, and incomplete ones older than the newest complete
    one. Returns the deleted tags."""
    if keep_last <= 0:
        return []
    good, bad = resumable(ckpt_dir, verify)
    if not good:
        return []
    newest = int(TAG.match(good[0]).group(1))
    doomed = good[keep_last:] + [t for t, _ in bad if int(TAG.match(t).group(1)) < newest]
    for tag in doomed:
        shutil.rmtree(ckpt_dir / tag, ignore_errors=True)
    return doomed


def clear_tag(ckpt_dir: Path, tag: str) -> None:
    """Remove a leftover folder of `tag` (a save that died half-way) before it is written again."""
    folder = ckpt_dir / tag
    if folder.exists():
        shutil.rmtree(folder)
