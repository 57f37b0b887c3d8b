"""The two commands around the shards: `tokenizer-train` and `tokenize`, with their default inputs in a run folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

from common.typed_config import ConfigError, to_dict
from pipeline.config import PipelineConfig
from pipeline.ingest.fsio import to_uri

MB = 1 << 20
TEXT_CHUNK = 16384  # text folders are sampled in line-aligned chunks of about this many characters


def _local(uri: str) -> str:
    return uri.removeprefix("file://")


def tokenizer_dir(cfg: PipelineConfig, for_tokenize: bool = False) -> str:
    chosen = cfg.tokenize.tokenizer if for_tokenize and cfg.tokenize.tokenizer else cfg.tokenizer.output
    return _local(to_uri(chosen or f"{cfg.run.output}/tokenizer"))


def _is_table(path: str) -> bool:
    if path.endswith(".parquet"):
        return True
    return any(name.endswith(".parquet") for _, _, names in os.walk(path) for name in names)


def default_table(cfg: PipelineConfig, mode: str) -> str:
    """What a run folder offers: its final kept table (pretrain) or the sft stage's kept pairs (sft)."""
    run_dir = _local(to_uri(cfg.run.output))
    if mode == "sft":
        path = f"{run_dir}/sft/status=kept"
        if not Path(path).exists():
            raise ConfigError(f"tokenize.mode=sft builds its pair tasks from {path}, which does not exist: run the "
                              "sft stage, give --input PAIRS, or set the pair tasks' weight to 0 "
                              "(tokenize.tasks.comment_generation.weight=0, ...code_generation.weight=0)")
        return path
    run_json = Path(run_dir) / "run.json"
    if not run_json.exists():
        raise ConfigError(f"no --input and no {run_json}: run the pipeline into {run_dir} first or give --input TABLE")
    final = json.loads(run_json.read_text()).get("final_table")
    if not final:
        raise ConfigError(f"{run_json} names no final table: run the pipeline's stages first or give --input TABLE")
    return _local(final)


def train_tokenizer(cfg: PipelineConfig, inputs: list[str]) -> dict:
    """Train on a hash-chosen sample of each input (a files table, or a folder of raw files) and of each text
    folder; write the tokenizer folder; return its training stats."""
    import itertools

    from pipeline.tokenizer.sample import folder_sample, table_sample
    from pipeline.tokenizer.save import save
    from pipeline.tokenizer.train import train

    t = cfg.tokenizer
    inputs = inputs or [default_table(cfg, "pretrain")]
    sources = []
    for path in inputs:
        path = _local(to_uri(path))
        sample = table_sample if _is_table(path) else folder_sample
        sources.append(sample(path, t.seed, int(t.code_sample_mb * MB)))
    for path in t.text_inputs:
        sources.append(folder_sample(_local(to_uri(path)), t.seed, int(t.text_sample_mb * MB), chunk_chars=TEXT_CHUNK))
    tokenizer, stats = train(itertools.chain(*sources), t.vocab_size, t.min_frequency, t.max_token_bytes)
    out = tokenizer_dir(cfg)
    stats["config"] = to_dict(t)
    stats["inputs"] = inputs
    stats["tokenizer_sha256"] = save(tokenizer, out, stats, cfg.tokenize.seq_len)
    stats["output"] = out
    return stats


def tokenize(cfg: PipelineConfig, inputs: list[str], spark=None, verbose: bool = False) -> dict:
    from pipeline.spark.session import get_session
    from pipeline.tokenize.job import run_tokenize
    from pipeline.tokenize.tasks import PAIRS, task_specs

    mode = cfg.tokenize.mode
    if mode == "sft" and not any(s.kind == PAIRS for s in task_specs(cfg.tokenize)):
        if inputs:
            raise ConfigError(f"--input {inputs[0]}: in sft mode --input is the pair tasks' kept pairs, and no pair "
                              "task has a weight above 0 (chat_rounds tasks read tokenize.tasks.<name>.path)")
    else:
        inputs = inputs or [default_table(cfg, mode)]
    output = cfg.tokenize.output or f"{cfg.run.output}/{'tokens' if mode == 'pretrain' else 'sft_tokens'}"
    tok = tokenizer_dir(cfg, for_tokenize=True)
    if not (Path(tok) / "tokenizer.json").exists():
        raise ConfigError(f"no tokenizer.json in {tok}: run `python -m pipeline tokenizer-train` or set "
                          "tokenize.tokenizer")
    return run_tokenize(spark or get_session(cfg.spark, verbose), cfg.tokenize, inputs, tok, output, cfg.run.force)
