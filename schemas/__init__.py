"""Table contracts shared by pipeline/ and train/: pyarrow schemas, and the Spark types derived from them."""
from schemas.tables import (
    FILES,
    LISTING,
    PARSE_FACTS,
    QUALITY_COLUMNS,
    REJECT_COLUMNS,
    REJECTS,
    SFT_CHATML,
    SFT_PAIRS,
    STATUS_COLUMN,
    STATUS_KEPT,
    STATUS_REJECTED,
    with_reject_columns,
)
from schemas.tokens import MANIFEST_NAME, TOKEN_SHARD, Manifest, ShardEntry

__all__ = [
    "FILES",
    "LISTING",
    "PARSE_FACTS",
    "QUALITY_COLUMNS",
    "REJECTS",
    "SFT_CHATML",
    "SFT_PAIRS",
    "REJECT_COLUMNS",
    "STATUS_COLUMN",
    "STATUS_KEPT",
    "STATUS_REJECTED",
    "with_reject_columns",
    "MANIFEST_NAME",
    "TOKEN_SHARD",
    "Manifest",
    "ShardEntry",
]
