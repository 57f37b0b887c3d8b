"""sft.init_from: the pretrained model a fine-tuning run starts from (a Hugging Face GPT-NeoX folder or one of our run
folders), checked against the SFT manifest's vocabulary, tokenizer and sequence length before training."""
from __future__ import annotations

from pathlib import Path

import torch

from common.typed_config import ConfigError
from train.data import DataError, file_sha256, read_manifest, tokenizer_dir


def _is_run_folder(p: Path) -> bool:
    return (p / "config.yaml").is_file() and not (p / "config.json").is_file()


def _load(p: Path, device):
    """(model, sha256 of the tokenizer it was trained with or None) from a HF folder (read onto `device`) or a run
    folder (its checkpoint gathered on the CPU)."""
    if _is_run_folder(p):
        from train.export import load_run_model

        try:
            model, cfg, _, _ = load_run_model(p)
        except (FileNotFoundError, ValueError) as e:
            raise ConfigError(f"sft.init_from {p}: {e}") from None
        try:
            manifest, _ = read_manifest(cfg["data"]["manifest"])
            sha = manifest.tokenizer_sha256 or None
        except DataError:  # the pretraining shards moved away: nothing to compare the tokenizer with
            sha = None
        return model, sha
    if not (p / "config.json").is_file():
        raise ConfigError(f"sft.init_from {p}: neither a Hugging Face folder (config.json) nor a run folder "
                          f"(config.yaml and checkpoints)")
    from model import load_hf

    try:
        model = load_hf(p, device)
    except (ValueError, KeyError, OSError) as e:
        raise ConfigError(f"sft.init_from {p}: {e}") from None
    tok = p / "tokenizer.json"
    return model, (file_sha256(tok) if tok.is_file() else None)


def check_fits(model_vocab: int, init_sha: str | None, manifest, root: Path, where: str) -> None:
    """The manifest's tokens must be the model's: the same tokenizer where both name one (sha256 of tokenizer.json),
    and the same vocabulary size, or a larger model vocabulary only when the tokenizers are known to be the same
    (rows past the tokenizer are then padding, as in many released GPT-NeoX models)."""
    data_sha = manifest.tokenizer_sha256 or None
    folder = tokenizer_dir(manifest, root)
    if data_sha is None and folder is not None and (folder / "tokenizer.json").is_file():
        data_sha = file_sha256(folder / "tokenizer.json")
    same_tokenizer = init_sha is not None and init_sha == data_sha
    if init_sha and data_sha and not same_tokenizer:
        raise ConfigError(f"sft.init_from {where}: its tokenizer.json differs from the one the SFT shards were "
                          f"tokenized with (manifest tokenizer_sha256): tokenize the SFT data with the model's "
                          f"tokenizer")
    if model_vocab == manifest.vocab_size or (model_vocab > manifest.vocab_size and same_tokenizer):
        return
    raise ConfigError(f"sft.init_from {where}: the model's vocabulary has {model_vocab:,} tokens, the SFT manifest's "
                      f"{manifest.vocab_size:,}: fine-tune on shards tokenized with the model's tokenizer")


def load_init_model(init_from: str, manifest, root: Path, max_seq_len: int, device="cpu"):
    """The model to fine-tune (on `device`, in float32) with its context set by model.max_seq_len (0: the model's
    own, -1: the manifest's seq_len, N: N); fails with a ConfigError or DataError naming what does not fit."""
    p = Path(init_from)
    if not p.is_dir():
        raise ConfigError(f"sft.init_from {init_from}: no such folder")
    model, init_sha = _load(p, device)
    check_fits(model.cfg.vocab_size, init_sha, manifest, root, init_from)
    if max_seq_len:
        model.cfg = model.cfg.replace(max_seq_len=manifest.seq_len if max_seq_len < 0 else max_seq_len)
    if manifest.seq_len > model.cfg.max_seq_len:
        raise DataError(f"manifest seq_len {manifest.seq_len} exceeds sft.init_from's context {model.cfg.max_seq_len}: "
                        f"shorter shards, or model.max_seq_len=-1 to stretch it (rotary positions are not learned)")
    return model.to(device=device, dtype=torch.float32)
