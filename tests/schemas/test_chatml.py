"""ChatML conversations from kept pairs: roles, deterministic template choice, prompt language, rendering."""
from __future__ import annotations

import re

import pyarrow as pa
import pytest

from pipeline.config import SFT_TASKS
from schemas import SFT_CHATML
from schemas.chatml import (
    PAIR_TASK_TEMPLATES,
    ROLES,
    TASKS,
    choose,
    conversation,
    head_line,
    render_batches,
    render_text,
    templates,
)

PAIR = {"id": "pair-0001", "language": "C++", "function_name": "twice",
        "code": "int twice(int v) {\n    return v * 2;\n}", "comment": "Doubles v."}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_templates_have_english_and_chinese_prompts_for_every_task():
    t = templates()
    assert TASKS == SFT_TASKS
    assert set(t["system"]) == {"en", "zh"}
    assert set(t["tasks"]) == set(SFT_TASKS) | {"code_generation"}  # the sft stage's tasks + tokenize's own
    assert set(PAIR_TASK_TEMPLATES.values()) <= set(t["tasks"])
    for task in t["tasks"]:
        spec = t["tasks"][task]
        assert isinstance(spec["answer"], str)
        for lang in ("en", "zh"):
            assert isinstance(spec[lang], list) and spec[lang]
            assert all(isinstance(p, str) and p.strip() for p in spec[lang])
        assert all(CJK.search(p) for p in spec["zh"])
        assert not any(CJK.search(p) for p in spec["en"])


@pytest.mark.parametrize("task", SFT_TASKS)
def test_roles_in_order(task):
    conv = conversation(PAIR, task, zh_share=0.5)
    assert tuple(m["role"] for m in conv["messages"]) == ROLES == ("system", "human", "bot")
    assert (conv["pair_id"], conv["task"]) == ("pair-0001", task)


def test_choice_is_deterministic_per_pair_and_task():
    for task in SFT_TASKS:
        first = [choose(f"pair-{i}", task, 0.5) for i in range(50)]
        assert first == [choose(f"pair-{i}", task, 0.5) for i in range(50)]
        assert {lang for lang, _ in first} == {"en", "zh"}  # 50 draws at 0.5 hit both
        assert all(0 <= index < len(templates()["tasks"][task][lang]) for lang, index in first)
    assert conversation(PAIR, "annotate", 0.5) == conversation(dict(PAIR), "annotate", 0.5)


def test_zh_share_one_gives_chinese_prompts_and_zero_english():
    for task in SFT_TASKS:
        zh = conversation(PAIR, task, zh_share=1.0)
        assert zh["prompt_language"] == "zh"
        assert CJK.search(zh["messages"][0]["content"]) and CJK.search(zh["messages"][1]["content"])
        en = conversation(PAIR, task, zh_share=0.0)
        assert en["prompt_language"] == "en"
        assert not CJK.search(en["messages"][0]["content"]) and not CJK.search(en["messages"][1]["content"])
        if len(templates()["tasks"][task]["en"]) == len(templates()["tasks"][task]["zh"]):
            assert en["template"] == zh["template"]  # the index draw does not depend on the prompt language


def test_text_rendering():
    messages = [{"role": "system", "content": "S"}, {"role": "human", "content": "H\nmore"},
                {"role": "bot", "content": "B"}]
    assert render_text(messages) == \
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>human\nH\nmore<|im_end|>\n<|im_start|>bot\nB<|im_end|>\n"
    conv = conversation(PAIR, "explain", 0.0)
    assert conv["text"] == render_text(conv["messages"])


def test_generate_answers_with_the_code_in_a_fenced_block():
    conv = conversation(PAIR, "generate", 0.0)
    assert conv["messages"][2]["content"] == "```cpp\nint twice(int v) {\n    return v * 2;\n}\n```"
    human = conv["messages"][1]["content"]
    assert "Doubles v." in human and "`twice`" in human and "C++" in human


@pytest.mark.parametrize("task", ["annotate", "explain"])
def test_annotate_and_explain_answer_with_the_comment_and_show_the_code(task):
    conv = conversation(PAIR, task, 0.0)
    assert conv["messages"][2]["content"] == "Doubles v."
    assert "```cpp\nint twice(int v) {\n    return v * 2;\n}\n```" in conv["messages"][1]["content"]


def test_render_batches_gives_one_conversation_per_pair_and_task():
    pairs = pa.RecordBatch.from_pylist([PAIR, {**PAIR, "id": "pair-0002", "language": "Python"}])
    (out,) = list(render_batches([pairs], tasks=["annotate", "generate"], zh_share=0.0))
    assert out.schema == SFT_CHATML
    assert out.column("pair_id").to_pylist() == ["pair-0001", "pair-0001", "pair-0002", "pair-0002"]
    assert out.column("task").to_pylist() == ["annotate", "generate", "annotate", "generate"]
    assert len(set(out.column("id").to_pylist())) == 4
    assert out.column("messages").to_pylist()[3][2]["content"].startswith("```python\n")


def test_code_generation_shows_the_signature_and_the_description_and_answers_with_the_code():
    for zh_share in (0.0, 1.0):
        conv = conversation({**PAIR, "signature": "int twice(int v)"}, "code_generation", zh_share)
        human = conv["messages"][1]["content"]
        assert "```cpp\nint twice(int v)\n```" in human and "Doubles v." in human and "return" not in human
        assert conv["messages"][2]["content"] == "```cpp\nint twice(int v) {\n    return v * 2;\n}\n```"
    without = conversation(PAIR, "code_generation", 0.0)["messages"][1]["content"]
    assert "```cpp\nint twice(int v)\n```" in without  # no parsed signature: the first line, its `{` cut
    assert head_line("\n  \nfn f() -> u8 {\n  1\n}") == "fn f() -> u8" and head_line("") == ""
