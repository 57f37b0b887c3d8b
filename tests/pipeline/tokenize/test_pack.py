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
    left, mask, starts = p.leftover()
    assert left.tolist() == [116, 117, 118] and mask is None and starts.tolist() == [1]  # doc 4 starts at 117


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
    ids, mask, starts = pad_last(np.array([5, 6, 7], np.uint32), None, np.array([1]), 6, pad_id=1)
    assert ids.tolist() == [5, 6, 7, 1, 1, 1] and mask.tolist() == [1, 1, 1, 0, 0, 0] and starts.tolist() == [0, 1, 3]


def test_tails_of_buckets_pack_into_rows_and_one_padded_row():
    tails = [(np.array([1, 2, 3], np.uint32), None, np.array([0, 2])),
             (np.array([4, 5, 6, 7, 8], np.uint32), None, np.array([0, 1]))]
    table, n_pad = pack_tails(tails, 6, pad_id=99)
    assert table.column("input_ids").to_pylist() == [[1, 2, 3, 4, 5, 6], [7, 8, 99, 99, 99, 99]]
    assert table.column("doc_starts").to_pylist() == [[0, 2, 3, 4], [0, 2]]
    assert table.column("loss_mask").to_pylist() == [None, [1, 1, 0, 0, 0, 0]]
    assert n_pad == 4


def test_permutation_is_a_bijection_and_seeded():
    for n in (1, 2, 7, 100, 1024):
        a, b = permutation(n, 5)
        assert sorted((a * g + b) % n for g in range(n)) == list(range(n))
    assert permutation(1000, 1) != permutation(1000, 2)
