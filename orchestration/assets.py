"""The Assets the DAGs share: the data DAG publishes the token shards, the training DAG is scheduled on them and
publishes its Hugging Face export, which the fine-tuning DAG is scheduled on."""
from __future__ import annotations

from airflow.sdk import Asset

TOKEN_SHARDS = Asset(name="codefuse_token_shards", uri="file:///codefuse/token_shards")
# event extra: {"hf": the export folder, "run_dir": the training run, "manifest": the shards it trained on}
MODEL_EXPORT = Asset(name="codefuse_model_export", uri="file:///codefuse/model_export")
