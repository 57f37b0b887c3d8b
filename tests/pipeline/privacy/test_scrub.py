"""Scrubbing replaces every span by its typed placeholder, merges overlaps, and counts per type."""
import hashlib

import pyarrow as pa

from pipeline.config import PrivacyConfig
from pipeline.privacy.detectors import EMAIL, KEY, PASSWORD, PRIVATE_KEY, TYPES, Span
from pipeline.privacy.scrub import candidates, resolve, scrub, scrub_array
from pipeline.privacy.stage import PII_COLUMNS, PrivacyScrubber
from pipeline.stage import DETAIL, REASON
from tests.pipeline.privacy.test_detectors import AWS, GITHUB, PEM, RANDOM

TEXT = (f"# contact: jane.doe@acme-corp.de\nKEY_ID = '{AWS}'\n"
        f"db = 'mysql://app:{RANDOM}@db.acme-corp.de/x'\nPRIVATE = '''{PEM}'''\n"
        "sha = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'\n")


def test_scrub_replaces_each_type_and_counts():
    out, counts = scrub(TEXT)
    assert counts == {"EMAIL": 1, "IP_ADDRESS": 0, "KEY": 1, "PASSWORD": 1, "PRIVATE_KEY": 1}
    assert "<EMAIL>" in out and "'<KEY>'" in out and "mysql://app:<PASSWORD>@db.acme-corp.de" in out
    assert "'''<PRIVATE_KEY>'''" in out
    for secret in ("jane.doe", AWS, RANDOM, "MIIEow"):
        assert secret not in out
    assert "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3" in out  # the hash is left alone


def test_clean_text_comes_back_as_the_same_object():
    text = "def add(a, b):\n    return a + b\n"
    out, counts = scrub(text)
    assert out is text and set(counts.values()) == {0}


def test_overlaps_merge_into_the_outermost_type():
    merged = resolve([Span(10, 20, KEY), Span(0, 50, PRIVATE_KEY), Span(60, 70, EMAIL), Span(65, 72, PASSWORD)])
    assert merged == [Span(0, 50, PRIVATE_KEY), Span(60, 72, EMAIL)]


def test_batch_screen_agrees_with_per_text_scrub():
    texts = [TEXT, None, "x = 1\n", f"token = '{GITHUB}'\n", "ping 8.8.4.20 and 81.169.145.92\n"]
    flags = candidates(pa.array(texts), ["email", "token", "ip"])
    assert flags[1] == frozenset() and flags[2] == frozenset() and "token" in flags[3]
    got = list(scrub_array(pa.array(texts)))
    assert got[1] == (None, None)
    for text, (out, counts) in zip(texts, got):
        if text is not None:
            assert (out, counts) == scrub(text)


def test_stage_rewrites_content_hash_and_size_only_where_replaced():
    rows = [TEXT, "print('hi')\n", f"key: {GITHUB}\n"]
    batch = pa.RecordBatch.from_pydict({
        "id": ["a", "b", "c"], "content": rows, "size_bytes": [len(r.encode()) for r in rows],
        "content_sha256": [hashlib.sha256(r.encode()).hexdigest() for r in rows],
        REASON: [None, None, "too_long"], DETAIL: [None, None, "upstream"],
    })
    out = PrivacyScrubber(PrivacyConfig()).apply(batch).to_pydict()
    assert out["content"][1] == rows[1] and out["content_sha256"][1] == batch.column("content_sha256")[1].as_py()
    new = out["content"][0]
    assert out["size_bytes"][0] == len(new.encode())
    assert out["content_sha256"][0] == hashlib.sha256(new.encode()).hexdigest()
    assert (out["pii_email"][0], out["pii_key"][0], out["pii_password"][0], out["pii_private_key"][0]) == (1, 1, 1, 1)
    assert out["pii_key"][1] == 0
    # a row rejected upstream is neither scanned nor changed, and its counts stay null
    assert out["content"][2] == rows[2] and out["pii_key"][2] is None and out[REASON][2] == "too_long"
    assert out[REASON][:2] == [None, None]  # privacy rejects nothing
    assert set(PII_COLUMNS.names) <= set(out)


def test_stage_scrubs_only_the_configured_types():
    batch = pa.RecordBatch.from_pydict({"id": ["a"], "content": [TEXT], "size_bytes": [1], "content_sha256": ["x"]})
    out = PrivacyScrubber(PrivacyConfig(types=[EMAIL])).apply(batch).to_pydict()
    assert "<EMAIL>" in out["content"][0] and AWS in out["content"][0]
    assert out["pii_email"] == [1] and out["pii_key"] == [None] and out["pii_password"] == [None]
    assert set(TYPES) == {EMAIL, "IP_ADDRESS", KEY, PASSWORD, PRIVATE_KEY}
