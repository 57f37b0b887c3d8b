"""FIM draws and layouts; ChatML conversations to ids with a loss mask only on bot turns."""
from __future__ import annotations

import numpy as np

from pipeline.tokenize import fim, sft
from pipeline.tokenizer import fast
from pipeline.tokenizer.special import EOT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, IM_END, IM_START
from schemas.chatml import render_text

TEXT = "def area(w, h):\n    return w * h  # 面积\n"


def test_fim_draws_depend_on_id_and_seed_only():
    got = [fim.split(TEXT, f"doc{i}", 1, 0.5, 0.5) for i in range(400)]
    share = sum(g is not None for g in got) / 400
    assert 0.4 < share < 0.6
    assert got == [fim.split(TEXT, f"doc{i}", 1, 0.5, 0.5) for i in range(400)]
    assert got != [fim.split(TEXT, f"doc{i}", 2, 0.5, 0.5) for i in range(400)]
    for g in got:
        if g is not None:
            assert g.prefix + g.middle + g.suffix == TEXT
    orders = {g.order for g in got if g is not None}
    assert orders == {"psm", "spm"}
    assert all(fim.split(TEXT, f"d{i}", 1, 0.0, 0.5) is None for i in range(50))
    assert all(fim.split(TEXT, f"d{i}", 1, 1.0, 0.0).order == "psm" for i in range(50))
    assert all(fim.split(TEXT, f"d{i}", 1, 1.0, 1.0).order == "spm" for i in range(50))


def test_fim_layouts():
    enc = lambda s: [ord(c) for c in s]  # noqa: E731
    f = fim.Fim("psm", "ab", "c", "d")
    assert fim.layout(f, 1, 2, 3, enc) == [[1], [97, 98], [3], [100], [2], [99]]
    f = fim.Fim("spm", "ab", "c", "d")
    assert fim.layout(f, 1, 2, 3, enc) == [[1, 3], [100], [2], [97, 98], [99]]


def test_fim_tokens_in_a_document(tokenizer_dir):
    from pipeline.tokenize.encode import DocEncoder

    enc = DocEncoder(tokenizer_dir, None, "pretrain", 1.0, 0.0, 1)
    stats = {"fim_psm": 0, "fim_spm": 0}
    ids, mask = enc.pretrain("x", TEXT, stats)
    s = enc.enc.special
    assert ids[0] == s[FIM_PREFIX] and ids[-1] == s[EOT] and mask is None and stats["fim_psm"] == 1
    assert s[FIM_SUFFIX] in ids and s[FIM_MIDDLE] in ids


def test_sft_mask_is_one_only_on_bot_turns(tokenizer_dir):
    enc = fast.load(tokenizer_dir)
    messages = [{"role": "system", "content": "You write code."},
                {"role": "human", "content": "Explain <|im_end|> this: x = 1"},
                {"role": "bot", "content": "It sets x to 1. 设置 x 为 1。"}]
    ids, mask = sft.encode_conversation(messages, enc.encode, enc.special)
    assert ids.dtype == np.uint32 and mask.dtype == np.uint8 and len(ids) == len(mask)
    assert enc.decode(ids[:-1]) == render_text(messages)  # the same text the sft stage rendered
    assert ids[-1] == enc.special[EOT] and mask[-1] == 0
    on = ids[mask == 1]
    assert enc.decode(on) == "It sets x to 1. 设置 x 为 1。" + IM_END
    # a message cannot forge a turn: the only special ids are the real turn markers and the end
    assert (ids == enc.special[IM_START]).sum() == 3 and (ids == enc.special[IM_END]).sum() == 3


def test_bad_conversations_have_reasons(tokenizer_dir):
    enc = fast.load(tokenizer_dir)
    assert sft.encode_conversation(None, enc.encode, enc.special)[0] == sft.NULL_MESSAGES
    bad_role = [{"role": "assistant", "content": "hi"}]
    assert sft.encode_conversation(bad_role, enc.encode, enc.special)[0] == sft.UNKNOWN_ROLE
    no_bot = [{"role": "human", "content": "hi"}, {"role": "bot", "content": ""}]
    reason, detail = sft.encode_conversation(no_bot, enc.encode, enc.special)
    assert reason == sft.NO_BOT_TURN and "nothing to learn" in detail
