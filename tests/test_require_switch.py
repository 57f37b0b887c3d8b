"""The require switches CI sets (EVAL_REQUIRE_SANDBOX, EVAL_REQUIRE_RUST, TEST_REQUIRE_SLURM) make a skip a fail."""
import pytest

from tests.conftest import require_or_skip


@pytest.mark.parametrize("switch", ["EVAL_REQUIRE_SANDBOX", "EVAL_REQUIRE_RUST", "TEST_REQUIRE_SLURM"])
def test_a_missing_tool_skips_unless_its_switch_is_set(monkeypatch, switch):
    monkeypatch.delenv(switch, raising=False)
    with pytest.raises(pytest.skip.Exception, match="^no rustc$"):
        require_or_skip(switch, "no rustc")
    monkeypatch.setenv(switch, "1")
    with pytest.raises(pytest.fail.Exception, match=f"^required here \\({switch}=1\\) but: no rustc$"):
        require_or_skip(switch, "no rustc")
