"""The GPT-NeoX-style code model: config and flavors, the module, and Hugging Face export."""
from model.config import FLAVORS, ModelConfig
from model.gpt import GPTNeoX
from model.hf import export_hf, load_hf, to_hf_config

__all__ = ["FLAVORS", "GPTNeoX", "ModelConfig", "export_hf", "load_hf", "to_hf_config"]
