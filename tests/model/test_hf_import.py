"""load_hf on folders transformers itself saved (no sidecar): same logits (fp32, max abs diff <= 1e-5), an unpadded
or tied vocabulary, and a clear refusal of shapes our model cannot hold."""
import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

from model import load_hf

SHAPE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
             max_position_embeddings=128)


def saved(tmp_path, **changes):
    """A randomly initialised GPTNeoXForCausalLM saved by save_pretrained, its LayerNorms and biases perturbed so a
    misplaced tensor cannot hide."""
    torch.manual_seed(0)
    hf = GPTNeoXForCausalLM(GPTNeoXConfig(**{**SHAPE, "vocab_size": 1000, **changes})).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    hf.save_pretrained(tmp_path)
    return GPTNeoXForCausalLM.from_pretrained(tmp_path).eval()  # what transformers itself reads back


@pytest.mark.parametrize("changes", [
    dict(),                                              # transformers' defaults: rotary 0.25, parallel residual
    dict(tie_word_embeddings=True, vocab_size=999),      # no separate head in the file, vocabulary not / 128
    dict(use_parallel_residual=False, rope_parameters={"rope_type": "default", "rope_theta": 500.0,
                                                       "partial_rotary_factor": 0.5}),
])
def test_a_transformers_folder_loads_with_the_same_logits(tmp_path, changes):
    hf = saved(tmp_path, **changes)
    if changes.get("tie_word_embeddings"):  # the file holds no head: load_hf copies the embedding into it
        from safetensors.torch import load_file

        assert list(load_file(tmp_path / "model.safetensors")).count("gpt_neox.embed_in.weight") == 1
        assert not [k for k in load_file(tmp_path / "model.safetensors") if k.startswith(("embed_out", "lm_head"))]
    ours = load_hf(tmp_path).eval()
    vocab = hf.config.vocab_size
    assert ours.cfg.vocab_size == vocab and ours.cfg.padded_vocab_size == 1024
    assert (ours.cfg.rotary_pct, ours.cfg.parallel_residual) == (
        hf.config.rope_parameters["partial_rotary_factor"], hf.config.use_parallel_residual)
    ids = torch.randint(0, vocab, (2, 60), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        theirs, mine = hf(ids).logits, ours(ids)[..., :vocab]
    assert (theirs - mine).abs().max().item() <= 1e-5
    assert not ours.head.weight[vocab:].any()                     # padded rows are zero, never predicted


@pytest.mark.parametrize("changes, reason", [
    (dict(hidden_act="relu"), "hidden_act 'relu'"),
    (dict(attention_bias=False), "attention_bias false"),
])
def test_shapes_ours_cannot_hold_are_named(tmp_path, changes, reason):
    saved(tmp_path, **changes)
    with pytest.raises(ValueError, match=f"a GPT-NeoX model ours cannot hold: {reason}"):
        load_hf(tmp_path)


def test_weights_of_another_shape_than_the_config_are_named(tmp_path):
    import json

    saved(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "intermediate_size": 128}))
    with pytest.raises(ValueError, match="weights do not fit the config's shape.*dense_h_to_4h|fc_in"):
        load_hf(tmp_path)
