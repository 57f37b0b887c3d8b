"""LoRA through peft: adapters on our linears by name (sft.lora), a check that only they train, and the merge of the
adapters into plain GPTNeoX weights for the Hugging Face export."""
from __future__ import annotations

import torch

from common.typed_config import ConfigError
from train.config import LoraSection

ADAPTER_MARK = "lora_"  # peft names adapter weights ...lora_A.<adapter>.weight / ...lora_B.<adapter>.weight


def target_names(model: torch.nn.Module, targets: list[str]) -> dict[str, list[str]]:
    """Each target -> the full names of the nn.Linear modules it names (a module whose name is the target or ends
    with "." + target, peft's own rule); a target naming no linear fails with the names there are."""
    linears = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    found = {t: [n for n in linears if n == t or n.endswith("." + t)] for t in targets}
    missing = [t for t, names in found.items() if not names]
    if missing:
        choices = sorted({n.split(".", 2)[-1] if n.startswith("blocks.") else n for n in linears})
        raise ConfigError(f"sft.lora.target_modules {missing} name no linear layer of the model (choose from "
                          f"{choices})")
    return found


def apply(model: torch.nn.Module, lora: LoraSection):
    """Wrap `model` in place with LoRA adapters (peft): every original weight is frozen, the adapters train. Returns
    the PeftModel (whose merge_and_unload gives `model` back with merged weights); `model` itself stays the object
    to call, now holding the adapter layers."""
    from peft import LoraConfig, get_peft_model

    target_names(model, list(lora.target_modules))
    config = LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(lora.target_modules), bias="none")
    peft_model = get_peft_model(model, config)
    check_only_adapters_train(model)
    return peft_model


def check_only_adapters_train(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable parameters, all parameters); raises if a non-adapter parameter would train or no adapter does."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    leaks = [n for n, _ in trainable if ADAPTER_MARK not in n]
    if leaks or not trainable:
        raise RuntimeError(f"LoRA: {len(leaks)} non-adapter parameter(s) would train ({leaks[:3]})" if leaks
                           else "LoRA: no adapter parameter trains")
    return sum(p.numel() for _, p in trainable), sum(p.numel() for p in model.parameters())


def merged(peft_model) -> torch.nn.Module:
    """The base model with each adapter's update added into its weight (peft's merge_and_unload), adapters gone."""
    return peft_model.merge_and_unload()


def merged_from_state(model: torch.nn.Module, lora: LoraSection, state: dict) -> torch.nn.Module:
    """A LoRA run's saved state (base weights + adapters, peft names) loaded into a fresh adapted `model`, merged."""
    peft_model = apply(model, lora)
    model.load_state_dict(state, strict=True)
    return merged(peft_model)
