"""Distributed listing of folder trees: the driver lists one level, executors walk subtrees without following links."""
from __future__ import annotations

import os
import stat
from typing import Iterable, Iterator, NamedTuple

import pyarrow as pa

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest.admit import before_read, printable_name
from pipeline.ingest.archives import is_archive
from pipeline.ingest.fsio import arrow_fs, is_local, local_path
from schemas import LISTING


class WalkTask(NamedTuple):
    source: str
    root: str      # the input root, as given (local path or URI)
    rel_dir: str   # folder below the root, "" for the root itself
    recursive: bool


def plan(source: str, root: str, skip_dirs: list[str]) -> list[WalkTask]:
    """One task for the root's own files and one per top-level folder (the unit executors walk)."""
    tasks = [WalkTask(source, root, "", False)]
    if is_local(root):
        with os.scandir(local_path(root)) as it:
            subdirs = [e.name for e in it if e.is_dir(follow_symlinks=False)]
    else:
        from pyarrow import fs as pafs

        filesystem, base = arrow_fs(root)
        infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=False))
        subdirs = [i.base_name for i in infos if i.type == pafs.FileType.Directory]
    tasks += [WalkTask(source, root, d, True) for d in sorted(subdirs) if d not in skip_dirs]
    return tasks


def classify(source: str, repo: str | None, rel: str, uri: str | None, size: int | None, kind: str,
             cfg: IngestConfig, detail: str | None = None) -> dict:
    """One listing row: decide everything that needs no reading (links, names, languages, sizes)."""
    rel, decodable = printable_name(rel)
    row = {"source": source, "repo": repo, "path": rel, "uri": uri, "size_bytes": size, "kind": kind,
           "language": None, "reject_reason": None, "reject_detail": detail}
    if not decodable:
        row.update(reject_reason=reasons.UNDECODABLE_PATH, reject_detail="file name is not valid UTF-8")
    elif kind != "file":
        row["reject_reason"] = kind  # a non-file kind is already its reason
    elif cfg.expand_archives and is_archive(rel):
        row["kind"] = "archive"
    else:
        verdict = before_read(rel, size, cfg)
        row.update(language=verdict.language, reject_reason=verdict.reason, reject_detail=verdict.detail)
    if row["reject_reason"] is not None:
        row["uri"] = None
    return row


def _repo(task: WalkTask, rel: str, cfg: IngestConfig) -> str:
    return rel.split("/", 1)[0] if cfg.repo_from == "top_dir" and "/" in rel else task.source


def walk_local(task: WalkTask, cfg: IngestConfig) -> Iterator[dict]:
    """Entries under one task's folder; symbolic links are reported, never followed, so loops cannot hang."""
    base = local_path(task.root)
    pending = [task.rel_dir]
    while pending:
        rel_dir = pending.pop()
        folder = os.path.join(base, rel_dir) if rel_dir else base
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield classify(task.source, task.source, rel_dir or ".", None, None, reasons.UNREADABLE_DIR, cfg,
                           f"{type(e).__name__}: {e.strerror or e}")
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as e:
                yield classify(task.source, _repo(task, rel, cfg), rel, None, None, reasons.READ_ERROR, cfg,
                               f"stat failed: {e.strerror or e}")
                continue
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    target = "?"
                yield classify(task.source, _repo(task, rel, cfg), rel, None, None, reasons.SYMLINK, cfg,
                               f"symbolic link to {printable_name(target)[0]}")
            elif stat.S_ISDIR(st.st_mode):
                if task.recursive and entry.name not in cfg.skip_dirs:
                    pending.append(rel)
            elif stat.S_ISREG(st.st_mode):
                yield classify(task.source, _repo(task, rel, cfg), rel, entry.path, st.st_size, "file", cfg)
            else:
                yield classify(task.source, _repo(task, rel, cfg), rel, None, None, reasons.NOT_REGULAR_FILE, cfg,
                               f"file type {stat.filemode(st.st_mode)[0]!r} (device, FIFO or socket)")


def walk_remote(task: WalkTask, cfg: IngestConfig) -> Iterator[dict]:
    """Entries under one task's folder on an object store or HDFS (no symbolic links there)."""
    from pyarrow import fs as pafs

    filesystem, base = arrow_fs(task.root)
    start = f"{base.rstrip('/')}/{task.rel_dir}" if task.rel_dir else base.rstrip("/")
    selector = pafs.FileSelector(start, recursive=task.recursive, allow_not_found=True)
    scheme_root = task.root[: len(task.root) - len(base)] if task.root.endswith(base) else ""
    for info in sorted(filesystem.get_file_info(selector), key=lambda i: i.path):
        rel = info.path[len(base.rstrip("/")) + 1:]
        if any(part in cfg.skip_dirs for part in rel.split("/")[:-1]):
            continue
        if info.type == pafs.FileType.File:
            yield classify(task.source, _repo(task, rel, cfg), rel, scheme_root + info.path, info.size, "file", cfg)


def walk(task: WalkTask, cfg: IngestConfig) -> Iterator[dict]:
    return walk_local(task, cfg) if is_local(task.root) else walk_remote(task, cfg)


def walk_batches(tasks: Iterable[WalkTask], cfg: IngestConfig, rows_per_batch: int = 10_000):
    """mapInArrow body: walk every task, emit LISTING batches."""
    buf: list[dict] = []
    for task in tasks:
        for row in walk(task, cfg):
            buf.append(row)
            if len(buf) >= rows_per_batch:
                yield pa.RecordBatch.from_pylist(buf, schema=LISTING)
                buf = []
    if buf:
        yield pa.RecordBatch.from_pylist(buf, schema=LISTING)
