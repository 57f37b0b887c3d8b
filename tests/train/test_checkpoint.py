"""Checkpoint bookkeeping: seal writes marker then `latest`; partial, truncated or corrupt tags are skipped."""
from __future__ import annotations

import json

from train import checkpoint as ckpt


def _fake_save(root, step, payload=b"weights"):
    folder = root / ckpt.tag_for(step)
    folder.mkdir(parents=True)
    (folder / "mp_rank_00_model_states.pt").write_bytes(payload * 100)
    (folder / "zero_pp_rank_0_mp_rank_00_optim_states.pt").write_bytes(payload * 300)
    return folder


def test_seal_records_files_and_points_latest(tmp_path):
    folder = _fake_save(tmp_path, 10)
    ckpt.seal(tmp_path, "global_step10", 10)
    marker = json.loads((folder / ckpt.MARKER).read_text())
    assert marker["step"] == 10 and set(marker["files"]) == {"mp_rank_00_model_states.pt",
                                                             "zero_pp_rank_0_mp_rank_00_optim_states.pt"}
    assert (tmp_path / "latest").read_text() == "global_step10"
    assert ckpt.problem(tmp_path, "global_step10") is None


def test_partial_and_corrupt_checkpoints_fall_back_to_the_previous(tmp_path):
    for step in (10, 20, 30):
        _fake_save(tmp_path, step)
        ckpt.seal(tmp_path, ckpt.tag_for(step), step)
    _fake_save(tmp_path, 40)                                   # killed before its marker: no seal
    opt = tmp_path / "global_step30" / "zero_pp_rank_0_mp_rank_00_optim_states.pt"
    data = bytearray(opt.read_bytes())
    data[5] ^= 1                                              # same size, one bit flipped
    opt.write_bytes(bytes(data))
    model = tmp_path / "global_step20" / "mp_rank_00_model_states.pt"
    good, bad = ckpt.resumable(tmp_path)
    assert good == ["global_step20", "global_step10"]
    assert dict(bad) == {"global_step40": "no completeness marker (the save did not finish)",
                         "global_step30": "file zero_pp_rank_0_mp_rank_00_optim_states.pt does not match its sha256 "
                                          "(corrupt)"}
    assert ckpt.resumable(tmp_path, verify="size")[0][0] == "global_step30"  # size-only cannot see a flipped bit
    model.write_bytes(model.read_bytes()[:-1])                 # truncated
    assert ckpt.problem(tmp_path, "global_step20", "size").startswith("file mp_rank_00_model_states.pt has 699 bytes")
    assert ckpt.resumable(tmp_path)[0] == ["global_step10"]


def test_prune_keeps_the_newest_and_drops_stale_partials(tmp_path):
    _fake_save(tmp_path, 5)                                    # a partial older than complete ones
    for step in (10, 20, 30):
        _fake_save(tmp_path, step)
        ckpt.seal(tmp_path, ckpt.tag_for(step), step)
    _fake_save(tmp_path, 40)                                   # a partial newer: kept (it may be in progress)
    assert sorted(ckpt.prune(tmp_path, keep_last=2)) == ["global_step10", "global_step5"]
    assert ckpt.tags_newest_first(tmp_path) == ["global_step40", "global_step30", "global_step20"]
    assert ckpt.prune(tmp_path, keep_last=0) == []
