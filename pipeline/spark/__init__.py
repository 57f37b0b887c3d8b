"""The Spark shell: session set-up, applying pure stages with mapInArrow, committing outputs, Hadoop paths."""
