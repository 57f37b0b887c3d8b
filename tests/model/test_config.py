"""Flavors, padded vocabulary, exact parameter counts (13B included) and the FLOPs formula."""
import pytest
import torch

from model import FLAVORS, GPTNeoX, ModelConfig

CODEFUSE_13B_PARAMS = 13_618_432_000


def test_padded_vocab_is_the_next_multiple_of_128():
    assert FLAVORS["debug"].padded_vocab_size == 1024
    assert FLAVORS["debug"].with_vocab(1024).padded_vocab_size == 1024
    assert FLAVORS["debug"].with_vocab(1025).padded_vocab_size == 1152
    assert FLAVORS["debug"].with_vocab(1).padded_vocab_size == 128
    assert FLAVORS["13B"].padded_vocab_size == 100_864


def test_with_vocab_returns_a_copy():
    base = FLAVORS["debug"]
    other = base.with_vocab(300)
    assert other.vocab_size == 300 and base.vocab_size == 1000
    assert other.hidden == base.hidden and other.layers == base.layers


def test_model_rows_cover_the_padded_vocab():
    model = GPTNeoX(FLAVORS["debug"].with_vocab(300))
    assert model.tok_emb.weight.shape == (384, 64) and model.head.weight.shape == (384, 64)
    assert model(torch.zeros(1, 3, dtype=torch.long)).shape == (1, 3, 384)
    assert torch.all(model.head.weight[300:] == 0)


def test_13b_is_codefuse_shape_and_its_count_is_exact():
    cfg = FLAVORS["13B"]
    assert (cfg.layers, cfg.hidden, cfg.heads, cfg.ffn, cfg.max_seq_len, cfg.vocab_size) == \
        (40, 5120, 40, 20480, 4096, 100_864)
    assert (cfg.rotary_pct, cfg.rotary_base) == (1.0, 10000.0)
    assert cfg.num_params() == CODEFUSE_13B_PARAMS
    with torch.device("meta"):  # build the real module without memory and count its tensors
        assert GPTNeoX(cfg).num_params() == CODEFUSE_13B_PARAMS


@pytest.mark.parametrize("name", list(FLAVORS))
def test_formula_matches_the_module_for_every_flavor(name):
    with torch.device("meta"):
        assert GPTNeoX(FLAVORS[name]).num_params() == FLAVORS[name].num_params()


def test_flops_per_token_is_6n_plus_attention():
    cfg = FLAVORS["debug"]
    assert cfg.flops_per_token(128) == 6 * cfg.num_params() + 12 * 2 * 64 * 128


@pytest.mark.parametrize("bad", [dict(hidden=65), dict(rotary_pct=0.0), dict(rotary_pct=0.1), dict(vocab_size=0)])
def test_bad_shapes_fail_at_construction(bad):
    with pytest.raises(ValueError):
        FLAVORS["debug"].replace(**bad)


def test_cli_prints_the_count(capsys):
    from model.config import main

    main(["13B"])
    assert "13,618,432,000" in capsys.readouterr().out
    assert isinstance(FLAVORS["13B"], ModelConfig)


def test_13b_probe_is_13b_with_six_layers():
    probe, full = FLAVORS["13B-probe"], FLAVORS["13B"]
    assert probe == full.replace(layers=6)
    assert probe.num_params() == 2_920_693_760
    assert probe.flops_per_token(4096) == 6 * 2_920_693_760 + 12 * 6 * 5120 * 4096 == 19_034_112_000
