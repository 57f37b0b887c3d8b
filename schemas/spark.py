"""Spark types derived from the pyarrow schemas, so no Spark schema is ever written by hand."""
import pyarrow as pa


def spark_type(arrow_type: pa.DataType):
    """The Spark SQL type that Spark's Arrow conversion maps to and from `arrow_type`."""
    from pyspark.sql import types as T

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return T.StringType()
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return T.BinaryType()
    if pa.types.is_boolean(arrow_type):
        return T.BooleanType()
    simple = {
        pa.int8(): T.ByteType(), pa.int16(): T.ShortType(), pa.int32(): T.IntegerType(),
        pa.int64(): T.LongType(), pa.float32(): T.FloatType(), pa.float64(): T.DoubleType(),
        pa.uint32(): T.LongType(), pa.date32(): T.DateType(),
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        return T.TimestampType()
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return T.ArrayType(spark_type(arrow_type.value_type), containsNull=True)
    if pa.types.is_struct(arrow_type):
        return spark_schema(pa.schema(list(arrow_type)))
    raise TypeError(f"no Spark type for Arrow type {arrow_type}")


def spark_schema(schema: pa.Schema):
    """StructType with the same names, types and nullability as `schema`."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField(f.name, spark_type(f.type), f.nullable) for f in schema])

