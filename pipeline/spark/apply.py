"""Applying a pure stage to a DataFrame: whole rows through mapInArrow, or only the columns a marking stage reads."""
from __future__ import annotations

import pyarrow as pa

from pipeline.stage import DETAIL, REASON, BatchStage
from schemas.spark import spark_schema

_MARKS = "__stage_marks"


def arrow_schema(df) -> pa.Schema:
    """The Arrow schema of a DataFrame (for a stage to declare what it adds)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


def apply_stage(df, stage: BatchStage):
    """`stage` over `df`. A stage that only marks rows and names the columns it reads (`reads`) runs as an Arrow UDF
    on those columns alone, so wide columns such as content never travel to Python and back."""
    if hasattr(stage, "transform"):  # a whole-dataset step (dedup): a DataFrame function
        return stage.transform(df)
    if stage.reads is None:
        return df.mapInArrow(stage, spark_schema(stage.output_schema(arrow_schema(df))))
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    names = list(stage.reads) + [REASON, DETAIL]

    def marks(*arrays: pa.Array) -> pa.Array:
        out = stage.apply(pa.RecordBatch.from_arrays(list(arrays), names=names))
        return pa.StructArray.from_arrays([out.column(REASON), out.column(DETAIL)], names=[REASON, DETAIL])

    struct = T.StructType([T.StructField(REASON, T.StringType()), T.StructField(DETAIL, T.StringType())])
    udf = F.arrow_udf(marks, returnType=struct)  # scalar, from the type hints
    columns = [c for c in df.columns if c not in (REASON, DETAIL)]
    return (df.withColumn(_MARKS, udf(*[F.col(c) for c in names]))
              .select(*columns, F.col(f"{_MARKS}.{REASON}").alias(REASON), F.col(f"{_MARKS}.{DETAIL}").alias(DETAIL)))
