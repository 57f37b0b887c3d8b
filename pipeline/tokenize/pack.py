"""Packing documents into rows of exactly seq_len + 1 ids with their start positions; leftovers carry over. In sft
mode each id travels with its loss-mask bit and its task id, so all three stay aligned through every cut."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

PAD_TASK = -1  # the task id of padding
ROW_COLUMNS = pa.schema([pa.field("input_ids", pa.list_(pa.uint32()), nullable=False),
                         pa.field("doc_starts", pa.list_(pa.int32()), nullable=False),
                         pa.field("loss_mask", pa.list_(pa.uint8())),
                         pa.field("task_ids", pa.list_(pa.int16()))])


def _lists(offsets: np.ndarray, values: np.ndarray, type_: pa.DataType) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values, type=type_))


class Packer:
    """Feed documents in order; get back full rows. A document that does not fit continues at the start of the next
    row (which then lists 0 among its starts), so no token is dropped. `with_mask`: rows carry a loss mask;
    `with_tasks`: rows carry each token's task id (documents come with one array of ids per document)."""

    def __init__(self, row_len: int, with_mask: bool, with_tasks: bool = False):
        self.row_len, self.with_mask, self.with_tasks = row_len, with_mask, with_tasks
        self.ids = np.zeros(0, np.uint32)
        self.mask = np.zeros(0, np.uint8)
        self.tasks = np.zeros(0, np.int16)
        self.starts = np.zeros(0, np.int64)  # document starts within the carried ids

    def add(self, docs: list[np.ndarray], masks: list[np.ndarray] | None = None,
            tasks: list[np.ndarray] | None = None) -> pa.RecordBatch:
        """Rows completed by these documents (possibly none), as a batch of ROW_COLUMNS."""
        lengths = np.fromiter((len(d) for d in docs), np.int64, len(docs))
        starts = np.concatenate([self.starts, len(self.ids) + np.concatenate([[0], np.cumsum(lengths)[:-1]])]) \
            if len(docs) else self.starts
        ids = np.concatenate([self.ids, *docs]).astype(np.uint32, copy=False)
        mask = np.concatenate([self.mask, *masks]).astype(np.uint8, copy=False) if self.with_mask else None
        task = np.concatenate([self.tasks, *tasks]).astype(np.int16, copy=False) if self.with_tasks else None
        n_rows = len(ids) // self.row_len
        cut = n_rows * self.row_len
        self.ids, self.starts = ids[cut:], starts[starts >= cut] - cut
        if self.with_mask:
            self.mask = mask[cut:]
        if self.with_tasks:
            self.tasks = task[cut:]
        return self._rows(ids[:cut], None if mask is None else mask[:cut], None if task is None else task[:cut],
                          starts[starts < cut], n_rows)

    def _rows(self, ids, mask, task, starts, n_rows: int) -> pa.RecordBatch:
        L = self.row_len
        all_starts = np.union1d(starts, np.arange(n_rows, dtype=np.int64) * L)  # every row starts a segment
        row_of = all_starts // L
        start_offsets = np.searchsorted(row_of, np.arange(n_rows + 1))
        id_offsets = np.arange(n_rows + 1, dtype=np.int64) * L
        columns = [_lists(id_offsets, ids, pa.uint32()),
                   _lists(start_offsets, (all_starts - row_of * L).astype(np.int32), pa.int32()),
                   _lists(id_offsets, mask, pa.uint8()) if mask is not None
                   else pa.nulls(n_rows, ROW_COLUMNS.field("loss_mask").type),
                   _lists(id_offsets, task, pa.int16()) if task is not None
                   else pa.nulls(n_rows, ROW_COLUMNS.field("task_ids").type)]
        return pa.RecordBatch.from_arrays(columns, schema=ROW_COLUMNS)

    def leftover(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
        """(ids, mask, starts, task ids) not yet in a full row: fewer than row_len ids."""
        return self.ids, (self.mask if self.with_mask else None), self.starts, \
            (self.tasks if self.with_tasks else None)


def pad_last(ids: np.ndarray, mask: np.ndarray | None, starts: np.ndarray, row_len: int, pad_id: int,
             tasks: np.ndarray | None = None):
    """The final partial row filled with pad ids: (ids, mask, starts, task ids). The pad run starts a segment of its
    own, its mask is 0 (so this one row carries a mask even in pretrain mode: 1 on the real tokens) and its task id
    is PAD_TASK (task ids stay None in pretrain mode)."""
    n = len(ids)
    real = mask if mask is not None else np.ones(n, np.uint8)
    out_ids = np.concatenate([ids, np.full(row_len - n, pad_id, np.uint32)])
    out_mask = np.concatenate([real, np.zeros(row_len - n, np.uint8)])
    out_starts = np.union1d(np.union1d(starts, [0]), [n] if n < row_len else [])
    out_tasks = None if tasks is None else np.concatenate([tasks, np.full(row_len - n, PAD_TASK, np.int16)])
    return out_ids, out_mask, out_starts.astype(np.int64), out_tasks
