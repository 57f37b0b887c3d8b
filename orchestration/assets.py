"""The Assets the DAGs share: the data DAG publishes the token shards, the training DAG is scheduled on them."""
from __future__ import annotations

from airflow.sdk import Asset

TOKEN_SHARDS = Asset(name="codefuse_token_shards", uri="file:///codefuse/token_shards")
