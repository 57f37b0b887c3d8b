"""Export: a folder transformers loads with from_pretrained, tokenizer beside it, same greedy tokens as ours."""
import json
import sysconfig
from pathlib import Path

import pytest
import torch

from model import FLAVORS, GPTNeoX, export_hf, load_hf

EOS = "<|endoftext|>"


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    """A byte-level BPE trained in a second or two on a few stdlib sources, saved as transformers saves it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [str(stdlib / name) for name in ("textwrap.py", "shlex.py", "fnmatch.py", "bisect.py")]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(files, trainer)
    out = tmp_path_factory.mktemp("tokenizer")
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS).save_pretrained(out)
    return out


def our_greedy(model, ids, steps):
    with torch.no_grad():
        for _ in range(steps):
            nxt = model(ids)[:, -1, : model.cfg.vocab_size].argmax(-1, keepdim=True)
            ids = torch.cat([ids, nxt], dim=1)
    return ids


def trained_ish_model(vocab):
    torch.manual_seed(0)
    m = GPTNeoX(FLAVORS["debug"].replace(vocab_size=vocab, rotary_pct=0.5)).eval()
    with torch.no_grad():  # larger weights so greedy decoding is not a tie-breaking accident
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        m.head.weight[vocab:] = 5.0  # padded rows that would win if they were not suppressed
    return m


def test_export_loads_in_transformers_and_generates_like_ours(tokenizer_dir, tmp_path):
    from transformers import AutoTokenizer, GPTNeoXForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = trained_ish_model(len(tok))
    out = export_hf(model, tmp_path / "hf", tokenizer_dir=tokenizer_dir)
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == model.cfg.padded_vocab_size == 512
    assert config["rope_parameters"]["partial_rotary_factor"] == 0.5
    assert config["eos_token_id"] == tok.eos_token_id

    hf = GPTNeoXForCausalLM.from_pretrained(out).eval()
    hf_tok = AutoTokenizer.from_pretrained(out)
    ids = hf_tok("def wrap(text, width):", return_tensors="pt").input_ids
    with torch.no_grad():
        assert (hf(ids).logits - model(ids)).abs().max().item() <= 1e-4
        generated = hf.generate(ids, max_new_tokens=6, do_sample=False, eos_token_id=None,
                                attention_mask=torch.ones_like(ids))
    new = generated[0, ids.shape[1]:]
    assert len(new) == 6 and int(new.max()) < len(tok)  # padded ids suppressed by generation_config.json
    ours = our_greedy(model, ids, 6)[0, ids.shape[1]:]
    assert new.tolist() == ours.tolist()
    assert isinstance(hf_tok.decode(new), str)


def test_load_hf_round_trips(tokenizer_dir, tmp_path):
    model = trained_ish_model(420)
    out = export_hf(model, tmp_path / "hf", dtype=torch.float32)
    back = load_hf(out)
    assert back.cfg == model.cfg
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), back.state_dict().values()))


def test_bf16_export_and_sharding(tmp_path):
    model = trained_ish_model(420)
    out = export_hf(model, tmp_path / "hf", dtype=torch.bfloat16, max_shard_size="200KB")
    assert len(list(out.glob("*.safetensors"))) > 1 and (out / "model.safetensors.index.json").is_file()
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    back = load_hf(out)
    assert torch.equal(back.head.weight, model.head.weight.to(torch.bfloat16).float())
