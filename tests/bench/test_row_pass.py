"""The row pass benchmark: it refuses a missing table before running anything."""
from __future__ import annotations

from bench import row_pass


def test_a_missing_table_exits_2_naming_it(tmp_path, capsys):
    assert row_pass.main(["--table", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert f"no table at {tmp_path / 'nope'}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
