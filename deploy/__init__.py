"""Shipping a trained model: int4 GPTQ quantization (deploy.quantize) and an OpenAI-compatible server (deploy.serve)."""
