"""Hugging Face interop: GPTNeoXConfig from ModelConfig, weight conversion (interleaved QKV), export and load back."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import torch

from common.chatml_template import CHAT_TEMPLATE
from model.config import ModelConfig
from model.gpt import GPTNeoX

SIDECAR = "codefuse_model.json"  # our ModelConfig beside config.json: it keeps the unpadded vocab_size
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                   "added_tokens.json", "chat_template.jinja")
CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")  # a tokenizer with both gets our chat template; <|im_end|> ends a turn


def to_hf_config(cfg: ModelConfig, **token_ids):
    """A transformers GPTNeoXConfig of the same shape. Rotary settings go in rope_parameters (transformers 5 ignores
    the legacy rotary_pct / rotary_emb_base keywords and defaults the fraction to 0.25); vocab_size is the padded one.
    token_ids: bos_token_id, eos_token_id, pad_token_id."""
    from transformers import GPTNeoXConfig

    return GPTNeoXConfig(
        vocab_size=cfg.padded_vocab_size, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads, intermediate_size=cfg.ffn, hidden_act="gelu",
        max_position_embeddings=cfg.max_seq_len, initializer_range=cfg.init_std, layer_norm_eps=cfg.layernorm_eps,
        use_parallel_residual=cfg.parallel_residual, tie_word_embeddings=False, attention_bias=True,
        attention_dropout=0.0, hidden_dropout=0.0,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rotary_base,
                         "partial_rotary_factor": cfg.rotary_pct},
        bos_token_id=token_ids.get("bos_token_id"), eos_token_id=token_ids.get("eos_token_id"),
        pad_token_id=token_ids.get("pad_token_id"),
    )


def _qkv_to_hf(t: torch.Tensor, heads: int) -> torch.Tensor:
    """Ours [3 * H * D, ...] ordered (qkv, head, dim) -> HF's (head, qkv, dim) interleaving."""
    return t.reshape(3, heads, -1, *t.shape[1:]).transpose(0, 1).reshape(t.shape)


def _qkv_from_hf(t: torch.Tensor, heads: int) -> torch.Tensor:
    """HF's (head, qkv, dim) -> ours (qkv, head, dim)."""
    return t.reshape(heads, 3, -1, *t.shape[1:]).transpose(0, 1).reshape(t.shape)


_RENAMES = (  # ours -> transformers, per block
    ("ln_attn.", "input_layernorm."), ("ln_mlp.", "post_attention_layernorm."),
    ("attn.qkv.", "attention.query_key_value."), ("attn.proj.", "attention.dense."),
    ("mlp.fc_in.", "mlp.dense_h_to_4h."), ("mlp.fc_out.", "mlp.dense_4h_to_h."),
)


def to_hf_state_dict(model: GPTNeoX) -> dict[str, torch.Tensor]:
    """GPTNeoXForCausalLM's state dict (names and layouts) holding our weights."""
    heads, out = model.cfg.heads, {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach()
        if name.startswith("blocks."):
            _, index, rest = name.split(".", 2)
            if rest.startswith("attn.qkv."):
                tensor = _qkv_to_hf(tensor, heads)
            for ours, theirs in _RENAMES:
                if rest.startswith(ours):
                    rest = theirs + rest[len(ours):]
            out[f"gpt_neox.layers.{index}.{rest}"] = tensor
        elif name.startswith("tok_emb."):
            out["gpt_neox.embed_in." + name[len("tok_emb."):]] = tensor
        elif name.startswith("ln_f."):
            out["gpt_neox.final_layer_norm." + name[len("ln_f."):]] = tensor
        elif name.startswith("head."):
            out["lm_head." + name[len("head."):]] = tensor
        else:
            raise KeyError(f"no transformers name for parameter {name}")
    return out


def from_hf_state_dict(hf_state: dict[str, torch.Tensor], cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """The inverse of to_hf_state_dict; unknown names (rotary buffers of old checkpoints) are skipped."""
    out = {}
    for name, tensor in hf_state.items():
        if name.startswith("gpt_neox.layers."):
            _, _, index, rest = name.split(".", 3)
            for ours, theirs in _RENAMES:
                if rest.startswith(theirs):
                    rest = ours + rest[len(theirs):]
                    break
            else:
                continue
            if rest.startswith("attn.qkv."):
                tensor = _qkv_from_hf(tensor, cfg.heads)
            out[f"blocks.{index}.{rest}"] = tensor
        elif name.startswith("gpt_neox.embed_in."):
            out["tok_emb." + name[len("gpt_neox.embed_in."):]] = tensor
        elif name.startswith("gpt_neox.final_layer_norm."):
            out["ln_f." + name[len("gpt_neox.final_layer_norm."):]] = tensor
        elif name.startswith(("lm_head.", "embed_out.")):  # transformers saves GPT-NeoX's head as embed_out
            out["head." + name.split(".", 1)[1]] = tensor
    return out


def _token_ids(tokenizer_dir: str | Path | None) -> tuple[dict[str, int | None], int | None]:
    """(bos, eos and pad ids; the id of <|im_end|> when the tokenizer speaks ChatML, else None)."""
    if tokenizer_dir is None:
        return {}, None
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    vocab = tok.get_vocab()
    turn_end = vocab[CHATML_TOKENS[1]] if all(t in vocab for t in CHATML_TOKENS) else None
    return {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
            "pad_token_id": tok.pad_token_id}, turn_end


def _copy_tokenizer(tokenizer_dir: Path, out: Path, chatml: bool) -> None:
    """The tokenizer files; a ChatML tokenizer gets the project's template (common/chatml_template.py) as
    chat_template.jinja, and any older template in tokenizer_config.json (tokenizers saved before the template
    mapped OpenAI's user/assistant roles) is dropped so that one template is left."""
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copy2(tokenizer_dir / name, out / name)
    if not chatml:
        return
    config = out / "tokenizer_config.json"
    if config.is_file():
        values = json.loads(config.read_text())
        if values.pop("chat_template", None) is not None:
            config.write_text(json.dumps(values, indent=2) + "\n")
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)


def export_hf(model: GPTNeoX, out_dir: str | Path, tokenizer_dir: str | Path | None = None,
              dtype: torch.dtype | None = None, max_shard_size: str = "5GB") -> Path:
    """Write a folder GPTNeoXForCausalLM.from_pretrained loads: config.json, generation_config.json (padded ids
    suppressed; with a ChatML tokenizer <|im_end|> ends generation as <|endoftext|> does, so a chat reply stops at the
    end of its turn), safetensors shards (+ index when several), our config sidecar, and the tokenizer files if given
    (a ChatML one with our chat template). dtype: cast weights on the way out (default: as they are)."""
    from huggingface_hub import save_torch_state_dict
    from transformers import GenerationConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    ids, turn_end = _token_ids(tokenizer_dir)
    state = {k: (v.to(dtype) if dtype is not None else v).contiguous().cpu()
             for k, v in to_hf_state_dict(model).items()}
    save_torch_state_dict(state, out, max_shard_size=max_shard_size, metadata={"format": "pt"})
    hf_cfg = to_hf_config(cfg, **ids)
    hf_cfg.architectures = ["GPTNeoXForCausalLM"]
    hf_cfg.dtype = str(next(iter(state.values())).dtype).removeprefix("torch.")
    hf_cfg.save_pretrained(out)
    padded = list(range(cfg.vocab_size, cfg.padded_vocab_size))
    generation = {k: v for k, v in ids.items() if v is not None}
    if turn_end is not None:
        generation["eos_token_id"] = list(dict.fromkeys(i for i in (ids["eos_token_id"], turn_end) if i is not None))
    GenerationConfig(suppress_tokens=padded or None, **generation).save_pretrained(out)
    (out / SIDECAR).write_text(json.dumps(dataclasses.asdict(cfg), indent=2, sort_keys=True) + "\n")
    if tokenizer_dir is not None:
        _copy_tokenizer(Path(tokenizer_dir), out, chatml=turn_end is not None)
    return out


def config_from_hf(path: str | Path) -> ModelConfig:
    """Our ModelConfig of a transformers GPT-NeoX folder, read through transformers' own GPTNeoXConfig (so legacy
    keys are understood as transformers understands them); what our model cannot hold fails naming it."""
    from transformers import GPTNeoXConfig

    path = Path(path)
    model_type = json.loads((path / "config.json").read_text()).get("model_type")
    if model_type != "gpt_neox":
        raise ValueError(f"{path}: model_type {model_type!r} is not gpt_neox")
    hf = GPTNeoXConfig.from_pretrained(str(path))
    rope = dict(hf.rope_parameters or {})
    problems = []
    if hf.hidden_act != "gelu":
        problems.append(f"hidden_act {hf.hidden_act!r} (ours is exact gelu)")
    if not getattr(hf, "attention_bias", True):
        problems.append("attention_bias false (ours has attention biases)")
    if rope.get("rope_type", "default") != "default":
        problems.append(f"rope_type {rope.get('rope_type')!r} (ours is default rotary)")
    if problems:
        raise ValueError(f"{path}: a GPT-NeoX model ours cannot hold: " + "; ".join(problems))
    return ModelConfig(vocab_size=hf.vocab_size, hidden=hf.hidden_size, layers=hf.num_hidden_layers,
                       heads=hf.num_attention_heads, ffn=hf.intermediate_size, max_seq_len=hf.max_position_embeddings,
                       rotary_pct=rope.get("partial_rotary_factor", 1.0), rotary_base=rope.get("rope_theta", 10000.0),
                       layernorm_eps=hf.layer_norm_eps, parallel_residual=hf.use_parallel_residual,
                       init_std=hf.initializer_range)


def load_hf(path: str | Path, device: str | torch.device = "cpu") -> GPTNeoX:
    """Load a folder written by export_hf, or any transformers GPTNeoXForCausalLM folder whose shape ours holds (its
    vocabulary rows padded to a multiple of 128 with zeros, a tied output head copied from the embedding), into
    GPTNeoX in float32 on `device`. The weights are read straight onto the device, one tensor at a time, into a model
    built on the meta device (no random init, no second copy: a 13B model loads on each GPU without 52 GB of host
    memory per rank). A shape ours cannot hold fails with ValueError naming it."""
    from safetensors import safe_open

    from model.gpt import Rotary

    path = Path(path)
    sidecar = path / SIDECAR
    cfg = ModelConfig(**json.loads(sidecar.read_text())) if sidecar.is_file() else config_from_hf(path)
    hf_state: dict[str, torch.Tensor] = {}
    for file in sorted(path.glob("*.safetensors")):
        with safe_open(str(file), framework="pt", device=str(device)) as f:
            for key in f.keys():
                t = f.get_tensor(key)
                hf_state[key] = t.float() if t.is_floating_point() else t
    if not hf_state:
        raise ValueError(f"{path}: no *.safetensors weights")
    tied = json.loads((path / "config.json").read_text()).get("tie_word_embeddings", False)
    if tied and not {"lm_head.weight", "embed_out.weight"} & set(hf_state):  # the head is the embedding
        hf_state["lm_head.weight"] = hf_state["gpt_neox.embed_in.weight"].clone()
    state = from_hf_state_dict(hf_state, cfg)
    for name in ("tok_emb.weight", "head.weight"):  # a foreign vocabulary not padded to our multiple of 128
        t = state.get(name)
        if t is not None and t.shape[0] < cfg.padded_vocab_size:
            state[name] = torch.cat([t, t.new_zeros(cfg.padded_vocab_size - t.shape[0], *t.shape[1:])])
    with torch.device("meta"):
        model = GPTNeoX(cfg)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit the config's shape: {e}") from None
    with torch.device(device):
        model.rotary = Rotary(cfg)  # its inv_freq table is computed, not stored: rebuild it off the meta device
    return model
