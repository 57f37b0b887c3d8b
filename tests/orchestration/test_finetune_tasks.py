"""The fine-tuning DAG's own tasks on their own: pretraining shards refused as SFT data, a quantization that deploy
refuses raised with its one-line reason (the DAG fails the task at once), quantize=false skipped with the reason."""
from __future__ import annotations

import sys

import pytest

from orchestration.finetune_tasks import QuantizeRefused, check_manifests, quantize
from tests.train.shards import real_token_shards


def _planned(tmp_path, **values) -> dict:
    v = {"manifest": str(real_token_shards(tmp_path / "sft", seq_len=16, rows=8, sft=True)), "quantize": True,
         "quantize_manifest": str(real_token_shards(tmp_path / "held", seq_len=16, rows=8)),
         "quantize_group_size": 32, "quantize_calib_rows": 2, "quantize_eval_rows": 2, "quantize_passk_limit": 0}
    return {"values": {**v, **values}, "run_dir": str(tmp_path / "run"), "quantize_dir": str(tmp_path / "run" / "int4")}


def test_the_sft_and_calibration_shards_are_checked(tmp_path):
    planned = _planned(tmp_path)
    checked = check_manifests(planned)
    assert (checked["sft"]["mode"], checked["sft"]["rows"]) == ("sft", 8)
    assert (checked["calibration"]["mode"], checked["calibration"]["rows"]) == ("pretrain", 8)
    planned["values"]["manifest"] = planned["values"]["quantize_manifest"]
    with pytest.raises(ValueError, match="mode 'pretrain', fine-tuning needs sft shards"):
        check_manifests(planned)
    (tmp_path / "held" / "shard-00000.parquet").write_bytes(b"broken")
    planned["values"]["manifest"] = str(tmp_path / "sft" / "manifest.json")
    with pytest.raises(ValueError, match="problem"):
        check_manifests(planned)
    assert "calibration" not in check_manifests({**planned, "values": {**planned["values"], "quantize": False}})


def test_a_refused_quantization_raises_deploys_one_line_reason(tmp_path):
    from tests.evaluation.tiny_model import tiny_hf_model

    hf = tiny_hf_model(tmp_path / "hf")  # ~600 tokens; the held-out shards have 256: deploy refuses them
    with pytest.raises(QuantizeRefused, match=r"^quantize error: .*vocab"):
        quantize(_planned(tmp_path), str(hf), sys.executable)
    assert not (tmp_path / "run" / "int4").exists()
    assert quantize(_planned(tmp_path, quantize=False), str(hf), sys.executable) == {"skipped": "quantize=false"}
