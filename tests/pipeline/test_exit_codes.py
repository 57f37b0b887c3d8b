"""The exit-code contract: which codes a retry cannot fix, the CLI's error line for each, and finding that line."""
from __future__ import annotations

import pytest

from pipeline import exit_codes
from pipeline.cli import main


@pytest.mark.parametrize("code, permanent", [(2, True), (3, True), (0, False), (1, False), (137, False),
                                             (143, False), (None, False)])
def test_only_config_and_data_errors_are_permanent(code, permanent):
    assert exit_codes.is_permanent(code) is permanent


def test_the_error_line_is_the_last_prefixed_line_among_spark_logs():
    lines = ["26/11/26 14:10:32 WARN Utils: Your hostname, vm, resolves to a loopback address",
             "config error: first", "  config error: input not found: /data/x  ",
             "26/11/26 14:10:40 INFO ShutdownHookManager: Shutdown hook called"]
    assert exit_codes.error_line(lines) == "config error: input not found: /data/x"
    assert exit_codes.error_line(["Traceback (most recent call last):", "ValueError: boom"]) is None


def test_a_config_error_exits_2_with_a_line_the_operator_finds(capsys):
    assert main(["run", "--input", "/no/such/folder", "--output", "/tmp/x"]) == exit_codes.CONFIG
    assert exit_codes.error_line(capsys.readouterr().err.splitlines()) == \
        "config error: input not found: /no/such/folder"


def test_a_reconciliation_failure_exits_3_as_a_data_error(monkeypatch, tmp_path, capsys):
    from pipeline import runner

    def lose_rows(cfg, spark=None, progress=None):
        raise runner.ReconciliationError("stage filter: 10 rows in, but 9 kept + 0 rejected")

    monkeypatch.setattr(runner, "run", lose_rows)
    assert main(["run", "--input", str(tmp_path), "--output", str(tmp_path / "out")]) == exit_codes.DATA
    assert exit_codes.error_line(capsys.readouterr().err.splitlines()) == \
        "data error: reconciliation failed: stage filter: 10 rows in, but 9 kept + 0 rejected"
