"""Evaluation tests: the sandbox gate (skip with its reason, or fail when EVAL_REQUIRE_SANDBOX=1 as in CI) and
small problems built inline."""
import pytest

from evaluation.benchmarks import Problem
from tests.conftest import require_or_skip


def require_sandbox():
    from evaluation.sandbox import available

    ok, why = available()
    if not ok:
        require_or_skip("EVAL_REQUIRE_SANDBOX", why)


@pytest.fixture
def sandboxed():
    require_sandbox()


def python_problem(body_check: str = "    assert candidate() is True\n", prompt: str = "def f():\n") -> Problem:
    """A problem whose tests call f() and check what it returns (True, unless body_check says otherwise)."""
    return Problem("t/0", prompt, f"def check(candidate):\n{body_check}", "f", "python")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A Hugging Face folder of the debug flavor (see tiny_model.py), made once per test session."""
    import torch

    from tests.evaluation.tiny_model import tiny_hf_model

    torch.set_num_threads(1)
    return tiny_hf_model(tmp_path_factory.mktemp("eval-model") / "hf")
