"""ChatML conversations to ids and a loss mask that is 1 only on the bot's tokens."""
from __future__ import annotations

import numpy as np

from pipeline.tokenizer.special import EOT, IM_END, IM_START, ROLES

UNKNOWN_ROLE = "sft_unknown_role"
NO_BOT_TURN = "sft_no_bot_turn"
NULL_MESSAGES = "sft_null_messages"


def encode_conversation(messages, encode, special: dict[str, int]) -> tuple[np.ndarray, np.ndarray] | tuple[str, str]:
    """(ids, mask) of <|im_start|>role\\ncontent<|im_end|>\\n per turn, then <|endoftext|>; the mask is 1 on a bot
    turn's content and its <|im_end|> (the model learns to stop), 0 on role headers, other turns and the end.
    Special-token text inside a message is encoded as plain text: a message cannot forge a turn.
    A bad conversation gives (reason, detail) instead."""
    if messages is None:
        return NULL_MESSAGES, "messages is null"
    ids, mask, learned = [], [], 0
    start, end = np.array([special[IM_START]], np.uint32), np.array([special[IM_END]], np.uint32)
    newline = encode("\n")
    for m in messages:
        role, content = (m or {}).get("role"), (m or {}).get("content")
        if role not in ROLES:
            return UNKNOWN_ROLE, f"role {role!r} is not one of {list(ROLES)}"
        body = encode(content or "")
        bot = 1 if role == "bot" else 0
        learned += bot * len(body)
        for part, on in ((start, 0), (encode(role + "\n"), 0), (body, bot), (end, bot), (newline, 0)):
            ids.append(part)
            mask.append(np.full(len(part), on, np.uint8))
    if not learned:
        return NO_BOT_TURN, "no bot turn with content: nothing to learn"
    ids.append(np.array([special[EOT]], np.uint32))
    mask.append(np.zeros(1, np.uint8))
    return np.concatenate(ids).astype(np.uint32, copy=False), np.concatenate(mask)
