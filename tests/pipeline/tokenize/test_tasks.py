"""SFT tasks without Spark: task ids from config, mixing by weight, the hold-out rule per task, pair samples, and
chat_rounds lines parsed or rejected with reasons (rows in = kept + rejected)."""
from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pytest

from common.typed_config import ConfigError, load
from pipeline import reasons
from pipeline.config import PipelineConfig, SftTaskConfig, TokenizeConfig
from pipeline.resample.weights import draw
from pipeline.tokenize.chat_rounds import parse_line
from pipeline.tokenize.samples import SAMPLES, chat_batches, pair_rows
from pipeline.tokenize.tasks import CHAT_ROUNDS, HELD_OUT, PAIRS, REJECTED, TRAIN, TaskSpec, fate, task_specs
from schemas.chatml import conversation
from schemas.sft_holdout import is_held_out, prompt_and_reference

NO_HOLDOUT = (0.0, 0)


def _pair_specs(code_weight: float = 1.0) -> list[TaskSpec]:
    return [TaskSpec("code_generation", 0, PAIRS, code_weight, "", 0.0),
            TaskSpec("comment_generation", 1, PAIRS, 1.0, "", 0.0)]


def _specs(*overrides: str):
    return task_specs(load(PipelineConfig, None, ["tokenize.mode=sft", *overrides]).tokenize)


def test_task_ids_follow_sorted_names_and_weight_zero_leaves_a_task_out():
    assert [(s.name, s.task_id, s.kind) for s in _specs()] == [("code_generation", 0, PAIRS),
                                                               ("comment_generation", 1, PAIRS)]
    specs = _specs("tokenize.tasks.a_chat.path=/data/chat.jsonl", "tokenize.tasks.a_chat.weight=0.5",
                   "tokenize.tasks.code_generation.weight=0")
    assert [(s.name, s.task_id, s.kind, s.weight) for s in specs] == [("a_chat", 0, CHAT_ROUNDS, 0.5),
                                                                      ("comment_generation", 1, PAIRS, 1.0)]


@pytest.mark.parametrize("overrides, message", [
    (["tokenize.tasks.chat.weight=2"], "tokenize.tasks.chat has no path.*set tokenize.tasks.chat.path=FILE"),
    (["tokenize.tasks.code_generation.path=x.jsonl"], "code_generation is built from the sft stage's kept pairs"),
    (["tokenize.tasks.code_generation.weight=0", "tokenize.tasks.comment_generation.weight=0"],
     "no task with a weight above 0"),
])
def test_tasks_that_cannot_be_built_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        _specs(*overrides)


def test_unknown_task_keys_fail_at_load():
    with pytest.raises(ConfigError, match="'tokenize.tasks.chat.wieght'.*did you mean 'weight'"):
        load(PipelineConfig, None, ["tokenize.tasks.chat.wieght=2"])


def test_mixing_weights_give_deterministic_counts():
    ids = [f"s{i}" for i in range(1000)]
    copies = lambda w, seed: [fate(i, i, w, NO_HOLDOUT, seed)[1] for i in ids]  # noqa: E731
    assert copies(1.0, 1) == [1] * 1000 and copies(2.0, 1) == [2] * 1000 and copies(0.0, 1) == [0] * 1000
    # fixed by (seed, id): these totals are the same on every run and machine
    assert sum(copies(0.3, 1)) == 290 and sum(copies(0.3, 2)) == 298
    assert sum(copies(1.5, 1)) == 1498 and set(copies(1.5, 1)) == {1, 2}
    assert copies(0.3, 1) == copies(0.3, 1) and copies(0.3, 1) != copies(0.3, 2)
    # hand-checked rule: the whole part, plus one when the sample's draw falls under the fractional part
    for i in ids[:50]:
        assert fate(i, i, 1.25, NO_HOLDOUT, 7) == (TRAIN, 1 + (draw(f"mix:{i}", 7) < 0.25))


def test_held_out_pairs_never_train_in_any_task():
    specs = _pair_specs(code_weight=3.0)
    pairs = [{"id": f"pair-{i}", "language": "Python", "function_name": f"f{i}", "code": f"def f{i}():\n    pass\n",
              "comment": f"Do {i}."} for i in range(300)]
    rows = [r for p in pairs for r in pair_rows(p, specs, (0.2, 5), 1)]
    by_pair: dict[str, set] = {}
    for r in rows:
        by_pair.setdefault(r["holdout_key"], set()).add((r["split"], r["copies"]))
    held = {k for k, v in by_pair.items() if (HELD_OUT, 0) in v}
    assert held == {p["id"] for p in pairs if is_held_out(p["id"], 0.2, 5)} and 30 < len(held) < 90
    assert all(v == {(HELD_OUT, 0)} for k, v in by_pair.items() if k in held)  # both tasks, no copy trained
    trained = [r for r in rows if r["split"] == TRAIN]
    assert not {r["holdout_key"] for r in trained} & held
    assert len(trained) == 2 * (300 - len(held)) and {r["copies"] for r in trained if r["task"] == "code_generation"} \
        == {3}


def test_pair_samples_use_the_annotate_templates_and_the_signature():
    pair = {"id": "p1", "language": "Python", "function_name": "area",
            "code": "@cache\ndef area(w, h):\n    return w * h\n", "comment": "Area of a w by h rectangle."}
    specs = _pair_specs()
    code, comment = pair_rows(pair, specs, NO_HOLDOUT, 1)
    assert comment["messages"] == conversation(pair, "annotate", 0.0)["messages"]  # the sft stage's annotate
    assert comment["messages"][2]["content"] == pair["comment"]
    human, answer = code["messages"][1]["content"], code["messages"][2]["content"]
    assert "```python\n@cache\ndef area(w, h):\n```" in human and pair["comment"] in human
    assert "return w * h" not in human and answer == "```python\n" + pair["code"] + "\n```"
    assert code["id"] != comment["id"] and code["holdout_key"] == comment["holdout_key"] == "p1"
    (bad,) = pair_rows({**pair, "comment": "  "}, specs[:1], NO_HOLDOUT, 1)
    assert (bad["split"], bad["reject_reason"], bad["reject_detail"]) == \
        (REJECTED, reasons.SFT_PAIR_INCOMPLETE, "pair p1 has no comment")


GOOD = {"chat_rounds": [{"role": "system", "content": "Be brief."}, {"role": "human", "content": "2+2?"},
                        {"role": "bot", "content": "4"}, {"role": "human", "content": "3+3?"},
                        {"role": "bot", "content": "6"}], "id": 17}


@pytest.mark.parametrize("line, reason, detail", [
    ("", reasons.CHAT_EMPTY_LINE, "blank line"),
    ('{"chat_rounds": [', reasons.CHAT_BAD_JSON, "not JSON: "),
    ("[1, 2]", reasons.CHAT_NOT_OBJECT, "a JSON list, not an object"),
    ('{"messages": []}', reasons.CHAT_NO_ROUNDS, "got missing"),
    ('{"chat_rounds": []}', reasons.CHAT_NO_ROUNDS, "got []"),
    ('{"chat_rounds": ["hi"]}', reasons.CHAT_BAD_ROUND, "round 1 is 'hi', not an object"),
    ('{"chat_rounds": [{"role": "assistant", "content": "x"}]}', reasons.CHAT_UNKNOWN_ROLE,
     "round 1 has role 'assistant', not one of ['system', 'human', 'bot']"),
    ('{"chat_rounds": [{"role": "human", "content": 5}, {"role": "bot", "content": "x"}]}', reasons.CHAT_BAD_ROUND,
     "round 1 (human) has content 5, not a string"),
    ('{"chat_rounds": [{"role": "human", "content": "\\ud800"}, {"role": "bot", "content": "x"}]}',
     reasons.CHAT_BAD_ROUND, "lone surrogate"),
    ('{"chat_rounds": [{"role": "human", "content": "a"}, {"role": "system", "content": "b"}]}',
     reasons.CHAT_BAD_ORDER, "round 2 is a system turn"),
    ('{"chat_rounds": [{"role": "bot", "content": "a"}, {"role": "human", "content": "b"}]}', reasons.CHAT_BAD_ORDER,
     "the last round (2) is a human turn, not the bot's"),
    ('{"chat_rounds": [{"role": "human", "content": "a"}, {"role": "bot", "content": "\\n"}]}',
     reasons.CHAT_EMPTY_ANSWER, "round 2 (bot) is blank"),
])
def test_bad_chat_lines_have_reasons(line, reason, detail):
    messages, got_reason, got_detail = parse_line(line)
    assert messages is None and got_reason == reason and detail in got_detail


def test_a_good_chat_line_keeps_its_rounds_and_the_last_bot_turn_is_the_reference():
    messages, reason, _ = parse_line(json.dumps(GOOD))
    assert reason is None and messages == GOOD["chat_rounds"]
    prompt, reference = prompt_and_reference(messages)
    assert prompt == GOOD["chat_rounds"][:4] and reference == "6"


def test_chat_lines_in_equal_kept_plus_rejected():
    spec = TaskSpec("chat", 0, CHAT_ROUNDS, 1.0, "chat.jsonl", 0.5)
    lines = [json.dumps(GOOD), "oops", json.dumps({**GOOD, "id": 18}), None, json.dumps(GOOD), "[]"]
    batch = pa.RecordBatch.from_pylist([{"value": v, "file": "f.jsonl"} for v in lines])
    (out,) = list(chat_batches([batch], spec, NO_HOLDOUT, 1))
    assert out.schema == SAMPLES and out.num_rows == len(lines)
    rows = out.to_pylist()
    assert Counter(r["split"] for r in rows) == {TRAIN: 3, REJECTED: 3}
    assert Counter(r["reject_reason"] for r in rows if r["reject_reason"]) == {
        reasons.CHAT_BAD_JSON: 1, reasons.CHAT_EMPTY_LINE: 1, reasons.CHAT_NOT_OBJECT: 1}
    assert rows[0]["id"] == rows[4]["id"] != rows[2]["id"]  # identical lines share an id (and a hold-out draw)
    assert rows[1]["raw"] == "oops" and rows[0]["raw"] is None and {r["task_id"] for r in rows} == {0}


def test_tokenize_config_default_tasks_are_the_pair_tasks():
    assert set(TokenizeConfig().tasks) == {"comment_generation", "code_generation"}
    assert TokenizeConfig().tasks["code_generation"] == SftTaskConfig()
