"""The GPT-NeoX-style code model: config and flavors, the module, and Hugging Face export."""
from model.config import FLAVORS, ModelConfig

__all__ = ["FLAVORS", "GPTNeoX", "ModelConfig", "export_hf", "load_hf", "to_hf_config"]
# The config is plain Python; the module and the export need torch, which costs ~1.5 s to import. They load on first
# use, so reading FLAVORS (the training DAG's form, parsed by Airflow over and over) never imports torch.
_LAZY = {"GPTNeoX": "model.gpt", "export_hf": "model.hf", "load_hf": "model.hf", "to_hf_config": "model.hf"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
