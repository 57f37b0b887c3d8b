"""tokenizer.vocab_size's minimum is exactly the size that holds the specials, the bytes and every keyword form."""
from __future__ import annotations

import pytest

from common import typed_config
from pipeline.config import MIN_VOCAB_SIZE, PipelineConfig
from pipeline.tokenizer.train import train

# one tiny document: the trainer learns almost nothing, so the keyword forms need the most room they can ever need
TINY = [("a.py", "def f(x):\n    return x\n")]


def test_the_minimum_fits_every_keyword_form_and_one_less_does_not():
    tok, stats = train(TINY, MIN_VOCAB_SIZE)
    assert stats["keyword_forms_fixed"] == stats["keyword_forms"] == 618
    assert tok.get_vocab_size() == MIN_VOCAB_SIZE and stats["reserved_tokens"] == 0
    with pytest.raises(ValueError, match="cannot hold the 618 keyword forms"):
        train(TINY, MIN_VOCAB_SIZE - 1)


def test_the_config_refuses_what_the_trainer_cannot_hold():
    assert typed_config.load(PipelineConfig, None, [f"tokenizer.vocab_size={MIN_VOCAB_SIZE}"]).tokenizer.vocab_size \
        == MIN_VOCAB_SIZE
    with pytest.raises(typed_config.ConfigError, match=f"'tokenizer.vocab_size' must be >= {MIN_VOCAB_SIZE}, got 2048"):
        typed_config.load(PipelineConfig, None, ["tokenizer.vocab_size=2048"])
