"""Spark types come from the pyarrow schemas, and Arrow batches cross into Spark and back through mapInArrow."""
from __future__ import annotations

import pyarrow as pa
import pytest

from schemas import FILES, LISTING, REJECTS, with_reject_columns
from schemas.spark import spark_schema, spark_type


def test_every_table_maps_field_by_field():
    from pyspark.sql import types as T

    for schema in (FILES, REJECTS, LISTING):
        struct = spark_schema(schema)
        assert struct.names == schema.names
        assert [f.nullable for f in struct.fields] == [f.nullable for f in schema]
    assert spark_type(pa.string()) == T.StringType()
    assert spark_type(pa.int32()) == T.IntegerType()
    assert spark_type(pa.float32()) == T.FloatType()
    assert spark_type(pa.list_(pa.uint32())) == T.ArrayType(T.LongType())
    with pytest.raises(TypeError, match="no Spark type"):
        spark_type(pa.dictionary(pa.int8(), pa.string()))


def test_spark_types_convert_back_to_the_same_arrow_types():
    from pyspark.sql.pandas.types import to_arrow_schema

    back = to_arrow_schema(spark_schema(FILES))
    assert [(f.name, f.type) for f in back] == [(f.name, f.type) for f in FILES]


def test_reject_columns_are_added_once():
    once = with_reject_columns(FILES)
    assert once.names[-2:] == ["reject_reason", "reject_detail"]
    assert with_reject_columns(once) == once


@pytest.mark.spark
def test_map_in_arrow_round_trip(spark):
    """Guards against the pyspark-client clobber, which breaks every mapInArrow from a plain-Python session."""
    from importlib.metadata import version

    import pyspark

    assert pyspark.__version__ == version("pyspark")
    df = spark.createDataFrame([(i, f"f{i}.py") for i in range(100)], "n long, path string").repartition(2)

    def double(batches):
        for b in batches:
            yield pa.RecordBatch.from_pydict({"n": pa.compute.multiply(b.column("n"), 2), "path": b.column("path")})
    rows = df.mapInArrow(double, df.schema).orderBy("n").collect()
    assert [r.n for r in rows] == [2 * i for i in range(100)]
