"""The export of a ChatML tokenizer: our chat template (OpenAI roles mapped to ours) and <|im_end|> ending a turn."""
import json

import pytest
import torch

from common.chatml_template import CHAT_TEMPLATE
from model import FLAVORS, GPTNeoX, export_hf
from schemas.chatml import render_text
from tests.pipeline.tokenizer.trained import trained_dir

OLD_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A random debug model exported with the session's trained tokenizer, its config given the template tokenizers
    carried before the role mapping (an older tokenizer folder)."""
    import shutil

    from transformers import AutoTokenizer

    src = trained_dir(str(tmp_path_factory.getbasetemp() / "trained-tokenizer"))
    old = tmp_path_factory.mktemp("old-tokenizer")
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy2(f"{src}/{f}", old / f)
    config = json.loads((old / "tokenizer_config.json").read_text())
    (old / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": OLD_TEMPLATE}))
    torch.manual_seed(0)
    model = GPTNeoX(FLAVORS["debug"].with_vocab(len(AutoTokenizer.from_pretrained(old)))).eval()
    return export_hf(model, tmp_path_factory.mktemp("chat-export") / "hf", tokenizer_dir=old)


def test_export_carries_our_template_alone(exported):
    assert (exported / "chat_template.jinja").read_text() == CHAT_TEMPLATE
    assert "chat_template" not in json.loads((exported / "tokenizer_config.json").read_text())


def test_openai_roles_render_as_our_chatml(exported):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(exported)
    openai = [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Add?"},
              {"role": "assistant", "content": "a + b"}, {"role": "user", "content": "Sub?"}]
    ours = [{"role": "system", "content": "Be brief."}, {"role": "human", "content": "Add?"},
            {"role": "bot", "content": "a + b"}, {"role": "human", "content": "Sub?"}]
    assert tok.apply_chat_template(openai, tokenize=False, add_generation_prompt=True) == \
        render_text(ours) + "<|im_start|>bot\n"
    assert tok.apply_chat_template(ours, tokenize=False) == render_text(ours)  # the training rendering, unchanged


def test_unknown_role_is_refused(exported):
    from jinja2 import TemplateError
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(exported)
    with pytest.raises(TemplateError, match="role tool is not one of"):
        tok.apply_chat_template([{"role": "tool", "content": "{}"}], tokenize=False)


def test_im_end_ends_generation(exported):
    from transformers import AutoTokenizer, GPTNeoXForCausalLM

    tok = AutoTokenizer.from_pretrained(exported)
    eot, im_end = tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    assert json.loads((exported / "generation_config.json").read_text())["eos_token_id"] == [eot, im_end]
    assert json.loads((exported / "config.json").read_text())["eos_token_id"] == eot
    model = GPTNeoXForCausalLM.from_pretrained(exported).eval()
    ids = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    with torch.no_grad():  # <|im_end|> forced first: the reply is that one token
        out = model.generate(**ids, max_new_tokens=8, do_sample=False, sequence_bias={(im_end,): 100.0})
    assert out[0, ids["input_ids"].shape[1]:].tolist() == [im_end]
