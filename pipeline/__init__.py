"""The data side: Spark stages that turn raw source code into filtered, scored, deduplicated Parquet tables."""
__version__ = "0.1.0"
