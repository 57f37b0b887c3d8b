"""Per-task counts: joined from the input step and the buckets, reconciled, printed as a short table."""
from __future__ import annotations

import pytest

from pipeline.tokenize.console import task_lines
from pipeline.tokenize.summary import manifest_task_counts, task_summary

INPUTS = {"chat": {"id": 0, "kind": "chat_rounds", "weight": 2.0, "path": "c.jsonl", "rows_in": 10, "available": 6,
                   "taken": 12, "held_out": 1, "rejected": 3, "rejected_by_reason": {"chat_bad_json": 3}},
          "comment_generation": {"id": 1, "kind": "pairs", "weight": 1.0, "rows_in": 5, "available": 5, "taken": 5,
                                 "held_out": 0, "rejected": 0, "rejected_by_reason": {}}}


def _bucket(chat_docs: int, comment_docs: int) -> dict:
    return {"by_task": {"0": {"documents": chat_docs, "packed_documents": chat_docs, "tokens": 10 * chat_docs,
                              "loss_tokens": 3 * chat_docs, "rejected_by_reason": {}},
                        "1": {"documents": comment_docs, "packed_documents": comment_docs - 1,
                              "tokens": 20 * (comment_docs - 1), "loss_tokens": 5, "rejected_by_reason":
                                  {"sft_no_bot_turn": 1}}}}


def test_tasks_join_the_input_counts_with_the_buckets():
    out = task_summary([_bucket(7, 2), _bucket(5, 3)], INPUTS)
    assert out["chat"]["tokens"] == 120 and out["chat"]["packed_documents"] == 12 and out["chat"]["loss_tokens"] == 36
    assert out["comment_generation"]["packed_documents"] == 3
    assert out["comment_generation"]["pack_rejected_by_reason"] == {"sft_no_bot_turn": 2}
    assert manifest_task_counts({"tasks": out})["chat"] == {
        "id": 0, "available": 6, "taken": 12, "held_out": 1, "rejected": 3, "packed_documents": 12, "tokens": 120,
        "loss_tokens": 36}


def test_counts_that_do_not_add_up_fail_naming_the_task():
    with pytest.raises(RuntimeError, match="task chat: 12 copies taken, 11 reached the pack"):
        task_summary([_bucket(6, 2), _bucket(5, 3)], INPUTS)
    broken = {**INPUTS, "chat": {**INPUTS["chat"], "rows_in": 11}}
    with pytest.raises(RuntimeError, match=r"task chat: 11 rows in != 6 available \+ 1 held out \+ 3 rejected"):
        task_summary([_bucket(7, 2), _bucket(5, 3)], broken)


def test_the_console_table_has_a_line_per_task_and_per_reason():
    lines = task_lines(task_summary([_bucket(7, 2), _bucket(5, 3)], INPUTS))
    assert lines[0].split() == ["task", "in", "available", "taken", "tokens", "held", "out", "rejected"]
    assert lines[1].split() == ["chat", "10", "6", "12", "120", "1", "3"]
    assert lines[2].split() == ["rejected:", "chat_bad_json", "3"]
    assert lines[3].split() == ["comment_generation", "5", "5", "5", "60", "0", "0"]
    assert lines[4].split() == ["rejected:", "sft_no_bot_turn", "2"]
    assert task_lines({}) == []
