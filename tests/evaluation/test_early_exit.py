"""A program that exits 0 before its tests finished is not a pass: sys.exit, SystemExit, os._exit, a forged marker."""
import pytest

from evaluation import sandbox
from evaluation.executors import EXITED, FAILED, PASSED
from evaluation.executors.python import PythonExecutor, classify
from tests.evaluation.conftest import python_problem

FAST = sandbox.Limits(wall_seconds=5, cpu_seconds=3, memory_bytes=512 << 20, processes=16)
PY = PythonExecutor()
NONCE = "0123abcd"


def outcome(rc, stdout="", stderr=""):
    return sandbox.Outcome(rc, False, None, stdout, stderr, 0.1)


def test_exit_status_zero_passes_only_with_the_nonce_on_the_last_line():
    assert classify(outcome(0, f"hello\n\n{NONCE}\n"), NONCE) == (PASSED, "")
    no_marker = (EXITED, "exit status 0 before the tests finished (no completion marker)")
    assert classify(outcome(0, "hello\n"), NONCE) == no_marker
    assert classify(outcome(0, f"\n{NONCE}\nprinted after\n"), NONCE) == no_marker
    assert classify(outcome(0, "\nffffffff\n"), NONCE) == no_marker
    assert classify(outcome(3, "", "\nSystemExit(0) raised before the tests finished\n"), NONCE) == \
        (EXITED, "SystemExit(0) raised before the tests finished")


EARLY_EXITS = {
    "sys.exit(0) at module level": "    return False\n\nimport sys\nsys.exit(0)\n",
    "raise SystemExit in the body": "    raise SystemExit\n",
    "exit() in the body": "    exit(0)\n",
    "__main__ guard": "    return False\n\nif __name__ == '__main__':\n    import sys\n    sys.exit(0)\n",
    "os._exit(0) in the body": "    import os\n    os._exit(0)\n",
    "os._exit(0) at module level": "    return False\n\nimport os\nos._exit(0)\n",
}


@pytest.mark.parametrize("completion", EARLY_EXITS.values(), ids=EARLY_EXITS.keys())
def test_a_program_that_exits_before_its_tests_finished_is_not_a_pass(sandboxed, completion):
    result = PY.check(python_problem(), completion, FAST)
    assert result.status == EXITED, result
    if "_exit" in completion:
        assert result.detail == "exit status 0 before the tests finished (no completion marker)"
    else:
        assert result.detail in ("SystemExit(0) raised before the tests finished",
                                 "SystemExit(None) raised before the tests finished")


def test_a_program_cannot_read_the_nonce_or_forge_the_marker(sandboxed):
    # it reads fd 0 (where the driver got the nonce), looks for it in its environment and files, prints what it
    # found as the last line, then leaves without running the tests
    forger = ("    import os, sys\n    seen = os.read(0, 4096).decode() + repr(dict(os.environ))\n"
              "    for name in filter(os.path.isfile, os.listdir('.')):\n"
              "        seen += open(name, errors='replace').read()\n"
              "    print(seen)\n    print(sys.argv)\n    sys.stdout.flush()\n    os._exit(0)\n")
    result = PY.check(python_problem(), forger, FAST)
    assert (result.status, result.detail) == \
        (EXITED, "exit status 0 before the tests finished (no completion marker)")


def test_samples_that_print_or_replace_stdout_still_pass_and_a_wrong_one_fails(sandboxed):
    chatty = "    import sys, io\n    print('no newline at the end', end='')\n    sys.stdout = io.StringIO()\n" \
             "    return True\n"
    assert PY.check(python_problem(), chatty, FAST).status == PASSED
    wrong = PY.check(python_problem(), "    return False\n", FAST)
    assert (wrong.status, wrong.detail) == (FAILED, "AssertionError")
    exit_one = PY.check(python_problem(), "    import sys\n    sys.exit(1)\n", FAST)
    assert (exit_one.status, exit_one.detail) == (EXITED, "SystemExit(1) raised before the tests finished")


def test_three_wrong_answers_that_exit_early_score_pass_at_1_zero_from_the_command_line(sandboxed, tmp_path, capsys):
    import json

    from evaluation.__main__ import main

    endings = ["import sys\nsys.exit(0)\n", "raise SystemExit\n", "import os\nos._exit(0)\n",
               "if __name__ == '__main__':\n    import sys\n    sys.exit(0)\n"]
    rows = [{"task_id": "HumanEval/0", "completion": f"    return None\n\n{end}"} for end in endings]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--samples", str(samples), "--limit", "1", "--k", "1", "--no-progress",
                 "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert report["overall"] == {"pass@1": 0.0} and report["status_counts"] == {EXITED: 4}
    assert "statuses exited: 4" in capsys.readouterr().out
