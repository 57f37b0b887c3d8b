"""A trained tokenizer on disk: tokenizer.json plus the files transformers' PreTrainedTokenizerFast loads."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from common.chatml_template import CHAT_TEMPLATE
from pipeline.tokenizer.special import EOT, FIM_MIDDLE, FIM_PAD, FIM_PREFIX, FIM_SUFFIX, IM_END, IM_START, PAD

TOKENIZER_JSON = "tokenizer.json"
TRAINING_JSON = "training.json"

# CHAT_TEMPLATE (common/chatml_template.py): apply_chat_template renders ChatML as schemas/chatml.py does, with
# OpenAI's user/assistant roles mapped to human/bot


def hf_config(model_max_length: int) -> tuple[dict, dict]:
    """(tokenizer_config.json, special_tokens_map.json) contents."""
    extra = [IM_START, IM_END, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD]
    special = {"eos_token": EOT, "bos_token": EOT, "unk_token": None, "pad_token": PAD,
               "additional_special_tokens": extra}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": model_max_length,
              "clean_up_tokenization_spaces": False, "add_bos_token": False, "add_eos_token": False,
              "chat_template": CHAT_TEMPLATE, **special}
    return config, special


def save(tokenizer, out_dir: str, stats: dict, model_max_length: int = 4096) -> str:
    """Write the files into `out_dir`; returns tokenizer.json's sha256 (what manifests name)."""
    out = Path(out_dir.removeprefix("file://"))
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out / TOKENIZER_JSON))
    config, special = hf_config(model_max_length)
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    digest = sha256_of(str(out))
    (out / TRAINING_JSON).write_text(json.dumps({**stats, "tokenizer_sha256": digest}, indent=2, sort_keys=True)
                                     + "\n")
    return digest


def read_file(tokenizer_dir: str, name: str = TOKENIZER_JSON) -> bytes:
    """A file of a tokenizer folder given as a local path or any pyarrow filesystem URI (hdfs://, s3://): what
    executors on a cluster read."""
    if "://" not in tokenizer_dir or tokenizer_dir.startswith("file://"):
        return (Path(tokenizer_dir.removeprefix("file://")) / name).read_bytes()
    from pyarrow import fs as pafs

    filesystem, root = pafs.FileSystem.from_uri(tokenizer_dir.rstrip("/"))
    with filesystem.open_input_stream(f"{root}/{name}") as f:
        return f.read()


def sha256_of(tokenizer_dir: str) -> str:
    return hashlib.sha256(read_file(tokenizer_dir)).hexdigest()
