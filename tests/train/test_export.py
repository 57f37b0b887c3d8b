"""Exporting a run's checkpoint to Hugging Face gives the weights the trainer itself exported at the end."""
from __future__ import annotations

import pytest
from safetensors.torch import load_file

from train.export import main as export_main


@pytest.fixture(scope="module")
def run(pretrained_run):
    return pretrained_run  # tests/train/conftest.py: 6 steps, checkpoints at 3 and 6


def test_checkpoint_export_equals_the_trainers_own_export(run, tmp_path):
    assert export_main([str(run), "--out", str(tmp_path / "hf")]) == 0
    ours, trainers = load_file(tmp_path / "hf" / "model.safetensors"), load_file(run / "hf" / "model.safetensors")
    assert ours.keys() == trainers.keys()
    assert all((ours[k] == trainers[k]).all() for k in ours)
    assert "global_step6" in (tmp_path / "hf" / "codefuse_checkpoint.txt").read_text()
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(tmp_path / "hf").config.vocab_size == 256


def test_an_older_tag_and_clear_errors(run, tmp_path, capsys):
    assert export_main([str(run), "--tag", "global_step3", "--out", str(tmp_path / "hf3")]) == 0
    older, final = load_file(tmp_path / "hf3" / "model.safetensors"), load_file(run / "hf" / "model.safetensors")
    assert any((older[k] != final[k]).any() for k in older)  # three more steps changed the weights
    assert export_main([str(run), "--tag", "global_step4"]) == 2
    assert "global_step4" in capsys.readouterr().err
    assert export_main([str(tmp_path)]) == 2  # not a run folder
