"""Config: defaults < YAML < --set, and every mistake fails at load naming the key."""
from __future__ import annotations

import pytest

from common import typed_config
from common.typed_config import ConfigError, load, parse_override
from pipeline.config import MiB, PipelineConfig


def test_layers_apply_in_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("filter:\n  max_lines: 500\n  max_line_len: 300\ningest:\n  languages: [Python, C]\n")
    cfg = load(PipelineConfig, f, ["filter.max_lines=700", "ingest.dataset.path=max_stars_repo_path"])
    assert cfg.filter.max_lines == 700            # --set beats the file
    assert cfg.filter.max_line_len == 300         # the file beats the default
    assert cfg.filter.min_alnum_frac == 0.4       # the default
    assert cfg.ingest.languages == ["Python", "C"]
    assert cfg.ingest.dataset.path == "max_stars_repo_path"
    assert cfg.ingest.max_read_bytes == 8 * MiB


def test_set_parses_yaml_scalars_and_lists():
    cfg = load(PipelineConfig, None, ["run.force=true", "filter.min_alnum_frac=0.25", "ingest.languages=Go,Rust",
                                      "spark.conf={spark.executor.memory: 8g}"])
    assert cfg.run.force is True and cfg.filter.min_alnum_frac == 0.25
    assert cfg.ingest.languages == ["Go", "Rust"]
    assert cfg.spark.conf == {"spark.executor.memory": "8g"}
    assert parse_override("a.b=x=y") == {"a": {"b": "x=y"}}


@pytest.mark.parametrize("override, message", [
    ("filter.max_line_length=5", "unknown config key 'filter.max_line_length' in --set .*did you mean 'max_line_len'"),
    ("filtr.max_lines=5", "unknown config key 'filtr'"),
    ("filter.max_lines=abc", "'filter.max_lines' expects an integer, got 'abc'"),
    ("filter.max_lines=1.5", "'filter.max_lines' expects an integer"),
    ("run.force=yes please", "'run.force' expects true or false"),
    ("filter.min_alnum_frac=1.5", "'filter.min_alnum_frac' must be <= 1.0"),
    ("filter.max_file_bytes=0", "'filter.max_file_bytes' must be >= 1"),
    ("ingest.format=rar", "'ingest.format' got 'rar': must be one of"),
    ("ingest.languages=python",
     "'ingest.languages' got 'python': not one of the .* allowed values .did you mean 'Python'"),
    ("run.stages=ingest,tokenize", "'run.stages' got 'tokenize': must be one of"),
    ("filter=3", "'filter' must be a mapping"),
    ("novalue", "--set expects key=value"),
])
def test_mistakes_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load(PipelineConfig, None, [override])


def test_yaml_file_mistakes(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("filter: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(PipelineConfig, bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("ingest:\n  max_read_bytes: lots\n")
    with pytest.raises(ConfigError, match=f"'ingest.max_read_bytes' expects an integer.*file {wrong}"):
        load(PipelineConfig, wrong)
    with pytest.raises(ConfigError, match="config file not found"):
        load(PipelineConfig, tmp_path / "missing.yaml")


def test_fingerprint_follows_values_and_describe_lists_every_key():
    a, b = load(PipelineConfig), load(PipelineConfig, None, ["filter.max_lines=9"])
    assert typed_config.fingerprint(a.filter) == typed_config.fingerprint(load(PipelineConfig).filter)
    assert typed_config.fingerprint(a.filter) != typed_config.fingerprint(b.filter)
    keys = [k for k, _, _ in typed_config.describe(PipelineConfig)]
    assert "filter.max_avg_line_len" in keys and "ingest.dataset.content" in keys
    assert all(h for _, _, h in typed_config.describe(PipelineConfig))
    assert load(PipelineConfig, None, [], base=typed_config.to_dict(b)) == b


def test_named_sections_merge_by_name_and_check_their_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("tokenize:\n  tasks:\n    chat: {path: data/chat.jsonl, weight: 0.5}\n")
    cfg = load(PipelineConfig, f, ["tokenize.tasks.code_generation.weight=2"])
    tasks = cfg.tokenize.tasks
    assert list(tasks) == ["comment_generation", "code_generation", "chat"]  # defaults kept, the new one added
    assert (tasks["chat"].path, tasks["chat"].weight, tasks["chat"].zh_share) == ("data/chat.jsonl", 0.5, 0.5)
    assert tasks["code_generation"].weight == 2.0 and tasks["comment_generation"].weight == 1.0
    assert load(PipelineConfig, None, [], base=typed_config.to_dict(cfg)) == cfg  # through plain dicts and back
    with pytest.raises(ConfigError, match="'tokenize.tasks.chat.weight' must be >= 0.0"):
        load(PipelineConfig, None, ["tokenize.tasks.chat.weight=-1"])
    with pytest.raises(ConfigError, match="'tokenize.tasks' expects a mapping of named sections"):
        load(PipelineConfig, None, ["tokenize.tasks=[a]"])
    keys = {k: d for k, d, _ in typed_config.describe(PipelineConfig)}
    assert "tokenize.tasks.<name>.weight" in keys and '"code_generation"' in keys["tokenize.tasks"]
