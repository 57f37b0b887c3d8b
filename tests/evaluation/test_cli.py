"""The evaluation CLI turns bad input into one clear line and exit code 2, not a traceback."""
from __future__ import annotations

from evaluation.__main__ import main


def test_a_missing_model_folder_is_named(tmp_path, capsys):
    assert main(["--model", str(tmp_path / "nope"), "--limit", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evaluation error: ") and "no config.json" in err and str(tmp_path / "nope") in err


def test_a_missing_benchmark_file_is_named(tmp_path, capsys):
    assert main(["--canonical", "--benchmark", str(tmp_path / "b.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "b.jsonl does not exist" in capsys.readouterr().err
