"""One servable debug-flavor folder (random init, the session's trained ChatML tokenizer) for the deploy tests."""
import pytest

from bench.serve_debug_model import export_debug_model
from tests.pipeline.tokenizer.trained import trained_dir


@pytest.fixture(scope="session")
def debug_model_dir(tmp_path_factory):
    tokenizer = trained_dir(str(tmp_path_factory.getbasetemp() / "trained-tokenizer"))
    return export_debug_model(tmp_path_factory.mktemp("serve-model") / "hf", tokenizer, seed=0)
