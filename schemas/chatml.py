"""ChatML conversations (system / human / bot) from kept code–comment pairs, templates chosen by hash."""
from __future__ import annotations

import functools
import hashlib
from importlib import resources

import pyarrow as pa
import yaml

from schemas import SFT_CHATML

TASKS = ("annotate", "generate", "explain")  # the sft stage's ChatML table
# the tokenize stage's pair tasks and the templates each renders with (comment_generation is the annotate task)
PAIR_TASK_TEMPLATES = {"comment_generation": "annotate", "code_generation": "code_generation"}
ROLES = ("system", "human", "bot")
_FENCE = {"C++": "cpp", "C#": "csharp", "Shell": "bash", "TypeScript": "typescript", "JavaScript": "javascript"}


@functools.lru_cache(maxsize=1)
def templates() -> dict:
    # importlib.resources reads it from a folder or from the zip spark-submit ships (where __file__ is no path)
    return yaml.safe_load(resources.files("schemas").joinpath("chatml_templates.yaml").read_text(encoding="utf-8"))


def _draw(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def choose(pair_id: str, task: str, zh_share: float) -> tuple[str, int]:
    """(prompt language, template index): the same pair and task always get the same choice."""
    draw = _draw(f"{pair_id}:{task}")
    lang = "zh" if (draw & 0xFFFFFFFF) / 2**32 < zh_share else "en"
    return lang, (draw >> 32) % len(templates()["tasks"][task][lang])


def render_text(messages: list[dict]) -> str:
    """The ChatML string: <|im_start|>role\\ncontent<|im_end|> per turn."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def head_line(code: str) -> str:
    """A function's first non-blank line without a trailing `{`: the signature where no parser gave one."""
    first = next((line for line in code.split("\n") if line.strip()), "")
    return first.rstrip().removesuffix("{").rstrip()


def conversation(pair: dict, task: str, zh_share: float) -> dict:
    """One conversation of `task`'s templates; `pair` may carry a `signature` (the code's head), else its first
    line stands in."""
    lang, index = choose(pair["id"], task, zh_share)
    spec = templates()["tasks"][task]
    fields = {"language": pair["language"], "name": pair["function_name"], "code": pair["code"],
              "comment": pair["comment"], "fence": _FENCE.get(pair["language"], pair["language"].lower()),
              "signature": pair.get("signature") or head_line(pair["code"])}
    messages = [{"role": "system", "content": templates()["system"][lang]},
                {"role": "human", "content": spec[lang][index].format(**fields)},
                {"role": "bot", "content": spec["answer"].format(**fields)}]
    return {"id": hashlib.blake2b(f"{pair['id']}:{task}".encode(), digest_size=16).hexdigest(),
            "pair_id": pair["id"], "task": task, "prompt_language": lang, "template": index,
            "messages": messages, "text": render_text(messages)}


def render_batches(batches, tasks: list[str], zh_share: float):
    """mapInArrow body: kept pairs in, one conversation per pair and task out."""
    for batch in batches:
        rows = [conversation(p, t, zh_share) for p in batch.select(["id", "language", "function_name", "code",
                                                                     "comment"]).to_pylist() for t in tasks]
        yield pa.RecordBatch.from_pylist(rows, schema=SFT_CHATML)
