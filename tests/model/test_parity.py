"""Logits match transformers' GPTNeoXForCausalLM loaded with the same weights (fp32, max abs diff <= 1e-4)."""
import pytest
import torch
from transformers import GPTNeoXForCausalLM

from model import FLAVORS, GPTNeoX, to_hf_config
from model.hf import from_hf_state_dict, to_hf_state_dict


def random_model(cfg, seed=0):
    """A model whose biases and LayerNorms are far from their init, so a misplaced tensor cannot hide."""
    torch.manual_seed(seed)
    model = GPTNeoX(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def hf_twin(model):
    hf = GPTNeoXForCausalLM(to_hf_config(model.cfg)).eval()
    hf.load_state_dict(to_hf_state_dict(model), strict=True)
    return hf


@pytest.mark.parametrize("changes", [
    dict(),                                   # full rotary, base 10000 (CodeFuse-13B)
    dict(rotary_pct=0.25, rotary_base=500.0),  # partial rotary, another base
    dict(rotary_pct=0.5, parallel_residual=False, vocab_size=700),
])
def test_logits_match_transformers(changes):
    cfg = FLAVORS["debug"].replace(**changes)
    model = random_model(cfg)
    hf = hf_twin(model)
    rope = hf.config.rope_parameters
    assert (rope["partial_rotary_factor"], rope["rope_theta"]) == (cfg.rotary_pct, cfg.rotary_base)
    ids = torch.randint(0, cfg.vocab_size, (3, 77), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = model(ids), hf(ids).logits
    assert ours.shape == theirs.shape == (3, 77, cfg.padded_vocab_size)
    assert (ours - theirs).abs().max().item() <= 1e-4


def test_a_wrong_rotary_fraction_would_be_caught():
    """The guard behind the test above: transformers' default fraction (0.25) gives different logits."""
    model = random_model(FLAVORS["debug"])
    hf = GPTNeoXForCausalLM(to_hf_config(model.cfg.replace(rotary_pct=0.25))).eval()
    hf.load_state_dict(to_hf_state_dict(model))
    ids = torch.randint(0, 1000, (1, 40), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (model(ids) - hf(ids).logits).abs().max().item() > 1e-2


def test_weight_conversion_round_trips():
    model = random_model(FLAVORS["debug"])
    back = from_hf_state_dict(to_hf_state_dict(model), model.cfg)
    assert back.keys() == model.state_dict().keys()
    assert all(torch.equal(back[k], v) for k, v in model.state_dict().items())


def test_init_is_deterministic_under_manual_seed():
    torch.manual_seed(3)
    a = GPTNeoX(FLAVORS["debug"])
    torch.manual_seed(3)
    b = GPTNeoX(FLAVORS["debug"])
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    std = a.blocks[0].mlp.fc_in.weight.std().item()
    assert 0.015 < std < 0.025  # init_std 0.02
