"""Packing: exact row length, document starts, leftovers carried (no token lost), masks, the padded last row."""
from __future__ import annotations

import numpy as np

from pipeline.tokenize.pack import Packer, pad_last
from pipeline.tokenize.shards import pack_tails, permutation


def _docs(lengths, start=100):
    out, v = [], start
    for n in lengths:
        out.append(np.arange(v, v + n, dtype=np.uint32))
        v += n
    return out


def test_rows_are_exact_and_starts_are_right():
    p = Packer(8, with_mask=False)
    rows = p.add(_docs([3, 4, 10, 2]))  # 19 ids: two rows, 3 carried
    assert rows.num_rows == 2
    ids = rows.column("input_ids").to_pylist()
    assert all(len(r) == 8 for r in ids)
    assert ids[0] == list(range(100, 108)) and ids[1] == list(range(108, 116))
    assert rows.column("doc_starts").to_pylist() == [[0, 3, 7], [0]]  # row 2 continues doc 3 and lists 0
    assert rows.column("loss_mask").null_count == 2
    left, mask, starts, tasks = p.leftover()
    assert left.tolist() == [116, 117, 118] and mask is None and tasks is None and starts.tolist() == [1]  # doc 4
    assert rows.column("task_ids").null_count == 2  # no tasks given: null, as in pretrain mode


def test_leftovers_carry_into_the_next_call_and_nothing_is_lost():
    p = Packer(16, with_mask=False)
    docs = _docs([5, 7, 1, 30, 2, 9, 16, 3])
    got = []
    for i in range(0, len(docs), 3):
        got += p.add(docs[i:i + 3]).column("input_ids").to_pylist()
    flat = [x for r in got for x in r] + p.leftover()[0].tolist()
    assert flat == np.concatenate(docs).tolist()
    assert len(p.leftover()[0]) < 16


def test_masks_travel_with_their_ids():
    p = Packer(4, with_mask=True)
    rows = p.add(_docs([3, 3]), [np.array([0, 1, 1], np.uint8), np.array([1, 0, 0], np.uint8)])
    assert rows.column("loss_mask").to_pylist() == [[0, 1, 1, 1]]
    assert p.leftover()[1].tolist() == [0, 0]


def test_no_rows_until_full():
    p = Packer(100, with_mask=False)
    assert p.add(_docs([10])).num_rows == 0
    assert p.add([]).num_rows == 0
    assert len(p.leftover()[0]) == 10


def test_pad_last_row():
    ids, mask, starts, tasks = pad_last(np.array([5, 6, 7], np.uint32), None, np.array([1]), 6, pad_id=1)
    assert ids.tolist() == [5, 6, 7, 1, 1, 1] and mask.tolist() == [1, 1, 1, 0, 0, 0] and starts.tolist() == [0, 1, 3]
    assert tasks is None
    *_, tasks = pad_last(np.array([5, 6, 7], np.uint32), np.array([0, 1, 1], np.uint8), np.array([0]), 6, 1,
                         np.array([2, 2, 2], np.int16))
    assert tasks.tolist() == [2, 2, 2, -1, -1, -1]


def test_tails_of_buckets_pack_into_rows_and_one_padded_row():
    tails = [(np.array([1, 2, 3], np.uint32), None, np.array([0, 2]), None),
             (np.array([4, 5, 6, 7, 8], np.uint32), None, np.array([0, 1]), None)]
    table, n_pad = pack_tails(tails, 6, pad_id=99)
    assert table.column("input_ids").to_pylist() == [[1, 2, 3, 4, 5, 6], [7, 8, 99, 99, 99, 99]]
    assert table.column("doc_starts").to_pylist() == [[0, 2, 3, 4], [0, 2]]
    assert table.column("loss_mask").to_pylist() == [None, [1, 1, 0, 0, 0, 0]]
    assert table.column("task_ids").to_pylist() == [None, None]  # pretrain: null, the padded row too
    assert n_pad == 4


def test_permutation_is_a_bijection_and_seeded():
    for n in (1, 2, 7, 100, 1024):
        a, b = permutation(n, 5)
        assert sorted((a * g + b) % n for g in range(n)) == list(range(n))
    assert permutation(1000, 1) != permutation(1000, 2)


def test_task_ids_stay_on_their_tokens_through_cuts_carries_and_padding():
    """Hand-checked: docs of 3, 4, 10 and 2 ids from tasks 0, 1, 2, 1 in rows of 8; the third document is cut twice
    and the fourth waits in the leftovers, then lands in the padded last row with task id -1 on the pads."""
    docs = _docs([3, 4, 10, 2])
    masks = [np.array(m, np.uint8) for m in ([0, 1, 1], [0, 0, 1, 1], [0] * 5 + [1] * 5, [1, 0])]
    tasks = [np.full(len(d), t, np.int16) for d, t in zip(docs, [0, 1, 2, 1])]
    p = Packer(8, with_mask=True, with_tasks=True)
    rows = p.add(docs[:2], masks[:2], tasks[:2])  # 7 ids: no row yet
    assert rows.num_rows == 0 and p.leftover()[3].tolist() == [0, 0, 0, 1, 1, 1, 1]
    rows = p.add(docs[2:], masks[2:], tasks[2:])
    assert rows.column("input_ids").to_pylist() == [list(range(100, 108)), list(range(108, 116))]
    assert rows.column("task_ids").to_pylist() == [[0, 0, 0, 1, 1, 1, 1, 2], [2] * 8]
    assert rows.column("loss_mask").to_pylist() == [[0, 1, 1, 0, 0, 1, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1]]
    ids, mask, starts, left_tasks = p.leftover()
    assert ids.tolist() == [116, 117, 118] and left_tasks.tolist() == [2, 1, 1] and mask.tolist() == [1, 1, 0]
    table, n_pad = pack_tails([(ids, mask, np.union1d(starts, [0]), left_tasks)], 8, pad_id=99)
    assert table.column("input_ids").to_pylist() == [[116, 117, 118, 99, 99, 99, 99, 99]] and n_pad == 5
    assert table.column("task_ids").to_pylist() == [[2, 1, 1, -1, -1, -1, -1, -1]]
    assert table.column("loss_mask").to_pylist() == [[1, 1, 0, 0, 0, 0, 0, 0]]
    assert table.column("doc_starts").to_pylist() == [[0, 1, 3]]
