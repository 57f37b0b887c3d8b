"""Per-task evaluation from the tokenize stage's held-out samples: BLEU for text tasks, the pass@k command for
code_generation, clear errors for a wrong file."""
from __future__ import annotations

import json

import pytest

from evaluation.__main__ import main
from evaluation.sft_tasks import evaluate_tasks, prompt, read_heldout

SYSTEM = {"role": "system", "content": "You are CodeFuse."}


def _rows() -> list[dict]:
    rows = []
    for i in range(6):
        rows.append({"task": "comment_generation", "id": f"c{i}", "reference": f"Return {i}.",
                     "messages": [SYSTEM, {"role": "human", "content": f"Document:\ndef f{i}():\n    return {i}"}]})
        rows.append({"task": "code_generation", "id": f"g{i}", "reference": f"```python\ndef f{i}(): ...\n```",
                     "messages": [SYSTEM, {"role": "human", "content": f"Write f{i}."}]})
    rows.append({"task": "chat", "id": "h0", "reference": "crimson teal",
                 "messages": [{"role": "human", "content": "Colours?"}]})
    return rows


@pytest.fixture
def heldout(tmp_path):
    folder = tmp_path / "heldout"
    folder.mkdir()
    lines = [json.dumps(r) for r in _rows()]
    (folder / "part-00000-x-c000.json").write_text("\n".join(lines[::-1]) + "\n")
    (folder / ".part-00000-x-c000.json.crc").write_bytes(b"\0crc")  # Spark's checksum files are skipped
    (folder / "_SUCCESS").write_text("")
    return folder


def test_held_out_samples_are_read_by_task_in_id_order(heldout):
    by_task = read_heldout(heldout)
    assert list(by_task) == ["chat", "code_generation", "comment_generation"]
    assert [r["id"] for r in by_task["comment_generation"]] == [f"c{i}" for i in range(6)]
    assert list(read_heldout(heldout, ["chat"])) == ["chat"]
    text = prompt(by_task["chat"][0])
    assert text == "<|im_start|>human\nColours?<|im_end|>\n<|im_start|>bot\n"


def test_wrong_files_and_tasks_are_named(heldout, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_heldout(tmp_path / "nope")
    with pytest.raises(ValueError, match=r"no held-out samples of \['explain'\]"):
        read_heldout(heldout, ["explain"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task": "chat", "id": "x"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1 is not a held-out sample"):
        read_heldout(bad)


def test_text_tasks_get_bleu_and_code_generation_names_its_pass_at_k_command(tiny_model, heldout, tmp_path, capsys):
    report = evaluate_tasks(tiny_model, heldout, tmp_path / "out", limit=4, max_new_tokens=6, progress=False)
    comment, code, chat = (report["tasks"][t] for t in ("comment_generation", "code_generation", "chat"))
    assert comment["measure"] == "BLEU" and comment["scored"] == 4 and comment["held_out"] == 6
    assert 0.0 <= comment["bleu"] <= 100.0 and chat["scored"] == 1
    assert code == {"held_out": 6, "measure": "pass@k (HumanEval)", "scored": False,
                    "command": f"python -m evaluation --model {tiny_model} --preset sample"}
    saved = json.loads((tmp_path / "out" / "sft_tasks.json").read_text())
    assert saved["tasks"] == report["tasks"]
    samples = [json.loads(line) for line in (tmp_path / "out" / "sft_tasks_samples.jsonl").read_text().splitlines()]
    assert [(s["task"], s["reference"]) for s in samples] == [("chat", "crimson teal")] + \
        [("comment_generation", f"Return {i}.") for i in range(4)]
    printed = capsys.readouterr().out.splitlines()
    assert printed[1].startswith("code_generation") and "not scored here" in printed[1] and "--preset sample" in \
        printed[1]


def test_the_cli_turns_a_missing_heldout_into_one_line(tmp_path, capsys):
    assert main(["sft-tasks", "--model", str(tmp_path), "--heldout", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("evaluation error: ")
