"""The sft tasks of a tokenize config (ids by sorted name, kind, weight) and each sample's fate: held out for
evaluation, or trained on some number of times (mixing by weight), all drawn from stable ids and seeds."""
from __future__ import annotations

from typing import NamedTuple

from common.typed_config import ConfigError
from pipeline.config import PAIR_TASKS, TokenizeConfig
from pipeline.resample.weights import draw, repeats
from schemas.sft_holdout import is_held_out

PAIRS, CHAT_ROUNDS = "pairs", "chat_rounds"
TRAIN, HELD_OUT, REJECTED = "train", "held_out", "rejected"
MAX_TASKS = 2**15 - 1  # task ids are int16 in the shards; -1 marks padding


class TaskSpec(NamedTuple):
    name: str
    task_id: int      # index in the manifest's tasks
    kind: str         # pairs | chat_rounds
    weight: float
    path: str         # chat_rounds: the JSONL file or folder
    zh_share: float   # pairs: share of Chinese prompts


def task_specs(cfg: TokenizeConfig) -> tuple[TaskSpec, ...]:
    """The tasks with a weight above 0, ids in order of their sorted names. A task that cannot be built is a config
    error naming the key and the fix."""
    specs = []
    for name in sorted(n for n, t in cfg.tasks.items() if t.weight > 0):
        t = cfg.tasks[name]
        key = f"tokenize.tasks.{name}"
        if name in PAIR_TASKS and t.path:
            raise ConfigError(f"{key}.path is set, but {name} is built from the sft stage's kept pairs: remove the "
                              "path, or give the chat_rounds task another name")
        if name not in PAIR_TASKS and not t.path:
            raise ConfigError(f"{key} has no path: a task other than {', '.join(PAIR_TASKS)} reads a chat_rounds "
                              f"JSONL file (set {key}.path=FILE, or {key}.weight=0)")
        specs.append(TaskSpec(name, len(specs), PAIRS if name in PAIR_TASKS else CHAT_ROUNDS, t.weight, t.path,
                              t.zh_share))
    if not specs:
        raise ConfigError("tokenize.mode=sft has no task with a weight above 0: set tokenize.tasks.<name>.weight")
    if len(specs) > MAX_TASKS:
        raise ConfigError(f"tokenize.tasks names {len(specs)} tasks; task ids are int16 (at most {MAX_TASKS})")
    return tuple(specs)


def fate(holdout_key: str, sample_id: str, weight: float, holdout: tuple[float, int], seed: int) -> tuple[str, int]:
    """(held_out, 0) when the hold-out rule picks `holdout_key` (a pair id: both tasks of a pair stay out together),
    else (train, copies): the whole part of the weight plus one more with the fractional part's probability, drawn
    from the sample id and the seed (the resample stage's rule)."""
    fraction, holdout_seed = holdout
    if fraction and is_held_out(holdout_key, fraction, holdout_seed):
        return HELD_OUT, 0
    return TRAIN, repeats(weight, draw(f"mix:{sample_id}", seed))
