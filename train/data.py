"""Token shards for training: manifest reading, checksum verification, a deterministic order, rank slices, resume."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from schemas.tokens import MANIFEST_NAME, Manifest


class DataError(ValueError):
    """The manifest or a shard does not match what the manifest promises."""


def manifest_path(path: str | Path) -> Path:
    p = Path(path)
    return p / MANIFEST_NAME if p.is_dir() else p


def read_manifest(path: str | Path) -> tuple[Manifest, Path]:
    """(manifest, folder its shard paths are relative to)."""
    p = manifest_path(path)
    if not p.is_file():
        raise DataError(f"no manifest at {p} (data.manifest)")
    manifest = Manifest.from_json(p.read_text())
    if not manifest.shards:
        raise DataError(f"manifest {p} lists no shards")
    for s in manifest.shards:
        if s.tokens != s.rows * (manifest.seq_len + 1):
            raise DataError(f"manifest {p}: shard {s.path} has tokens {s.tokens} != rows {s.rows} x "
                            f"(seq_len {manifest.seq_len} + 1)")
    return manifest, p.parent


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_shards(manifest: Manifest, root: Path, rank: int = 0, world: int = 1, checksums: bool = True) -> list[str]:
    """Problems found in this rank's share of the shards (shard i is checked by rank i % world): missing file,
    sha256 mismatch, row count or row length that differs from the manifest. Empty list = all good."""
    problems = []
    for i, s in enumerate(manifest.shards):
        if i % world != rank:
            continue
        path = root / s.path
        if not path.is_file():
            problems.append(f"shard {s.path}: file missing at {path}")
            continue
        if checksums and file_sha256(path) != s.sha256:
            problems.append(f"shard {s.path}: sha256 differs from the manifest (corrupt or replaced file)")
            continue
        meta = pq.ParquetFile(path).metadata
        if meta.num_rows != s.rows:
            problems.append(f"shard {s.path}: {meta.num_rows} rows, manifest says {s.rows}")
    return problems


def tokenizer_dir(manifest: Manifest, root: Path) -> Path | None:
    """The manifest's tokenizer folder (relative paths are relative to the manifest), or None when it names none."""
    if not manifest.tokenizer_dir:
        return None
    p = Path(manifest.tokenizer_dir)
    return p if p.is_absolute() else root / p


def verify_tokenizer(manifest: Manifest, root: Path) -> list[str]:
    """The tokenizer the shards were made with must be the one exported beside the model: tokenizer.json's sha256
    against the manifest's (nothing to check when the manifest names no tokenizer)."""
    folder = tokenizer_dir(manifest, root)
    if folder is None or not manifest.tokenizer_sha256:
        return []
    path = folder / "tokenizer.json"
    if not path.is_file():
        return [f"tokenizer: no tokenizer.json in {folder}"]
    if file_sha256(path) != manifest.tokenizer_sha256:
        return [f"tokenizer: {path} does not match the manifest's tokenizer_sha256"]
    return []


def manifest_fingerprint(manifest: Manifest) -> str:
    """Identifies the data a position refers to: the shard list with checksums, and seq_len."""
    text = "|".join(f"{s.path}:{s.rows}:{s.sha256}" for s in manifest.shards) + f"|{manifest.seq_len}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Batch:
    """One micro batch: inputs and targets [B, seq_len] (int64), loss_mask [B, seq_len] float or None, each row's
    document starts (positions < seq_len), and task_ids [B, seq_len] (int64, the task of each target: an index into
    the manifest's tasks, -1 on padding; 0 wherever the shard has none)."""

    input_ids: np.ndarray
    targets: np.ndarray
    loss_mask: np.ndarray | None
    doc_starts: list[list[int]]
    task_ids: np.ndarray


def _per_token(column, width: int, fill: int, dtype, path: Path, name: str) -> np.ndarray | None:
    """A list column of `width` values per row as a [rows, width] array, null rows filled with `fill`; None when
    every row is null. A row of another length fails naming the shard, the column and the row."""
    arr = column.combine_chunks()
    if arr.null_count == len(arr):
        return None
    valid = np.asarray(arr.is_valid())
    offsets = arr.offsets.to_numpy()  # absolute positions in arr.values, also for a sliced array
    lengths = np.diff(offsets)
    bad = np.flatnonzero(valid & (lengths != width))
    if bad.size:
        raise DataError(f"shard {path}: {name} of row {bad[0]} holds {lengths[bad[0]]} values, not seq_len + 1 = "
                        f"{width}")
    out = np.full((len(arr), width), fill, dtype=dtype)
    rows = np.flatnonzero(valid)
    values = arr.values.to_numpy(zero_copy_only=False)
    out[rows] = values[offsets[rows][:, None] + np.arange(width)]
    return out


class _Shard:
    """A shard's columns as numpy arrays (read once, kept while the stream is on it)."""

    def __init__(self, path: Path, seq_len: int, num_tasks: int = 1):
        # shards written before the task_ids column existed lack it: all their tokens are task 0
        present = set(pq.ParquetFile(path).schema_arrow.names)
        wanted = ["input_ids", "doc_starts", "loss_mask"] + (["task_ids"] if "task_ids" in present else [])
        table = pq.read_table(path, columns=wanted)
        ids = table.column("input_ids").combine_chunks()
        self.ids = ids.values.to_numpy().reshape(len(ids), seq_len + 1)
        starts = table.column("doc_starts").combine_chunks()
        self.start_offsets = starts.offsets.to_numpy()
        self.start_values = starts.values.to_numpy()
        # A null mask counts every token: pretrain shards carry one only on the final, padded row.
        self.mask = _per_token(table.column("loss_mask"), seq_len + 1, 1, np.uint8, path, "loss_mask")
        self.tasks = None  # null task_ids: every token is task 0
        if "task_ids" in present:
            self.tasks = _per_token(table.column("task_ids"), seq_len + 1, 0, np.int16, path, "task_ids")
        if self.tasks is not None:
            _check_tasks(self.tasks, self.mask, num_tasks, path)

    def starts(self, row: int) -> np.ndarray:
        return self.start_values[self.start_offsets[row]:self.start_offsets[row + 1]]


def _check_tasks(tasks: np.ndarray, mask: np.ndarray | None, num_tasks: int, path: Path) -> None:
    """Every task id indexes the manifest's tasks (or is -1, padding), and no counted target is padding."""
    low, high = int(tasks.min()), int(tasks.max())
    if low < -1 or high >= num_tasks:
        raise DataError(f"shard {path}: task_ids hold {low if low < -1 else high}, outside -1 .. {num_tasks - 1} "
                        f"(the manifest's tasks)")
    counted = mask[:, 1:] > 0 if mask is not None else np.ones_like(tasks[:, 1:], dtype=bool)
    pads = np.argwhere(counted & (tasks[:, 1:] < 0))
    if len(pads):
        row, pos = pads[0]
        raise DataError(f"shard {path}: row {row} position {pos + 1} is counted by loss_mask but has task_id -1 "
                        f"(padding)")


class TokenStream:
    """The global order of sequences and each rank's part of it.

    Epoch e visits every row once: shards in a permutation drawn from (seed, e), rows of each shard in a permutation
    drawn from (seed, e, shard index). Sample p of the run is row p mod N of epoch p // N (N rows in all). A global
    batch is samples [p, p + global_batch); data-parallel rank r takes the r-th contiguous slice of it and cuts it
    into micro batches, so the global batch is the same set of sequences for any world size, and the position
    (`samples`, saved in checkpoints) alone says which batch comes next.
    """

    def __init__(self, manifest: Manifest, root: Path, seed: int, shuffle: bool = True, cache_shards: int = 2):
        self.manifest, self.root, self.seed, self.shuffle = manifest, root, seed, shuffle
        self.rows = np.array([s.rows for s in manifest.shards], dtype=np.int64)
        self.total = int(self.rows.sum())
        self.samples = 0  # the position: samples consumed by all ranks together
        self._load = functools.lru_cache(maxsize=cache_shards)(
            lambda i: _Shard(root / manifest.shards[i].path, manifest.seq_len, max(1, len(manifest.tasks))))

    @functools.lru_cache(maxsize=4)
    def _epoch(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(shard order, cumulative row ends in that order) for `epoch`."""
        n = len(self.rows)
        order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)
        return order, np.cumsum(self.rows[order])

    @functools.lru_cache(maxsize=8)
    def _row_order(self, epoch: int, shard: int) -> np.ndarray:
        rows = int(self.rows[shard])
        if not self.shuffle:
            return np.arange(rows)
        return np.random.default_rng([self.seed, epoch, shard]).permutation(rows)

    def locate(self, sample: int) -> tuple[int, int]:
        """(shard index, row) holding global sample number `sample`."""
        epoch, q = divmod(sample, self.total)
        order, ends = self._epoch(epoch)
        k = int(np.searchsorted(ends, q, side="right"))
        start = int(ends[k - 1]) if k else 0
        shard = int(order[k])
        return shard, int(self._row_order(epoch, shard)[q - start])

    def gather(self, samples: range) -> Batch:
        s = self.manifest.seq_len
        rows, starts, masks, tasks = [], [], [], []
        for p in samples:
            shard_i, row = self.locate(p)
            shard = self._load(shard_i)
            rows.append(shard.ids[row])
            starts.append([int(x) for x in shard.starts(row) if x < s])
            masks.append(shard.mask[row] if shard.mask is not None else None)
            tasks.append(shard.tasks[row] if shard.tasks is not None else np.zeros(s + 1, np.int16))
        ids = np.stack(rows).astype(np.int64)
        mask = None
        if any(m is not None for m in masks):  # rows without a mask count every token
            mask = np.stack([np.ones(s + 1, np.uint8) if m is None else m for m in masks])[:, 1:].astype(np.float32)
        task_ids = np.stack(tasks)[:, 1:].astype(np.int64)  # like the mask, aligned with the targets
        return Batch(input_ids=ids[:, :-1], targets=ids[:, 1:], loss_mask=mask, doc_starts=starts, task_ids=task_ids)

    def next_global_batch(self, global_batch: int, micro_batch: int, rank: int, dp_world: int) -> list[Batch]:
        """This rank's micro batches of the next global batch; advances the position by global_batch samples."""
        per_rank = global_batch // dp_world
        first = self.samples + rank * per_rank
        micro = [self.gather(range(first + i, first + i + micro_batch)) for i in range(0, per_rank, micro_batch)]
        self.samples += global_batch
        return micro

    def state(self) -> dict:
        return {"samples": self.samples, "seed": self.seed, "shuffle": self.shuffle,
                "manifest": manifest_fingerprint(self.manifest)}

    def load_state(self, state: dict) -> None:
        mine = self.state()
        for key in ("seed", "shuffle", "manifest"):
            if state.get(key) != mine[key]:
                raise DataError(f"checkpoint's data position refers to {key}={state.get(key)!r}, this run has "
                                f"{mine[key]!r}: resume with the same data and data.seed, or start a new output")
        self.samples = int(state["samples"])
