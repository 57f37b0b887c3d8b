"""MFTCoder's chat_rounds JSONL lines to ChatML messages, or a reject reason and a detail that says what is wrong."""
from __future__ import annotations

import json

from pipeline import reasons
from pipeline.tokenizer.special import ROLES

DETAIL_CHARS = 200  # of a bad value quoted in a detail


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "..."


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
        return False


def parse_line(line: str | None) -> tuple[list[dict], None, None] | tuple[None, str, str]:
    """(messages, None, None) for a line {"chat_rounds": [{"role": system|human|bot, "content": str}, ...]} (other
    keys are ignored), or (None, reason, detail). Rules: at least one round; each round an object with a known role
    and string content; a system turn only first; the last turn the bot's; no bot turn blank (nothing to learn)."""
    if line is None or not line.strip():
        return None, reasons.CHAT_EMPTY_LINE, "blank line"
    try:
        data = json.loads(line)
    except ValueError as e:
        return None, reasons.CHAT_BAD_JSON, f"not JSON: {e}"
    if not isinstance(data, dict):
        return None, reasons.CHAT_NOT_OBJECT, f"a JSON {type(data).__name__}, not an object"
    rounds = data.get("chat_rounds")
    if not isinstance(rounds, list) or not rounds:
        got = "missing" if "chat_rounds" not in data else _short(rounds)
        return None, reasons.CHAT_NO_ROUNDS, f"chat_rounds must be a non-empty list, got {got}"
    messages = []
    for i, r in enumerate(rounds, 1):
        if not isinstance(r, dict):
            return None, reasons.CHAT_BAD_ROUND, f"round {i} is {_short(r)}, not an object"
        role, content = r.get("role"), r.get("content")
        if role not in ROLES:
            return None, reasons.CHAT_UNKNOWN_ROLE, f"round {i} has role {_short(role)}, not one of {list(ROLES)}"
        if not isinstance(content, str):
            return None, reasons.CHAT_BAD_ROUND, f"round {i} ({role}) has content {_short(content)}, not a string"
        if not _encodable(content):
            return None, reasons.CHAT_BAD_ROUND, f"round {i} ({role}) holds a lone surrogate (not UTF-8 text)"
        if role == "system" and i > 1:
            return None, reasons.CHAT_BAD_ORDER, f"round {i} is a system turn; only the first round may be"
        if role == "bot" and not content.strip():
            return None, reasons.CHAT_EMPTY_ANSWER, f"round {i} (bot) is blank: nothing to learn"
        messages.append({"role": role, "content": content})
    if messages[-1]["role"] != "bot":
        return None, reasons.CHAT_BAD_ORDER, f"the last round ({len(messages)}) is a {messages[-1]['role']} turn, " \
                                             "not the bot's"
    return messages, None, None
