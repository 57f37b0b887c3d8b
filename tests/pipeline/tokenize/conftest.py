"""The session's small trained tokenizer (shared with tests/pipeline/tokenize)."""
import pytest

from tests.pipeline.tokenizer.trained import trained_dir


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    return trained_dir(str(tmp_path_factory.getbasetemp() / "trained-tokenizer"))
