"""Table contracts shared by pipeline/ and train/: pyarrow schemas, and the Spark types derived from them."""
from schemas.tables import (
    FILES,
    LISTING,
    REJECT_COLUMNS,
    REJECTS,
    STATUS_COLUMN,
    STATUS_KEPT,
    STATUS_REJECTED,
    with_reject_columns,
)

__all__ = [
    "FILES",
    "LISTING",
    "REJECTS",
    "REJECT_COLUMNS",
    "STATUS_COLUMN",
    "STATUS_KEPT",
    "STATUS_REJECTED",
    "with_reject_columns",
]
