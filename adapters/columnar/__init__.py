"""Interval data at scale: hive-partitioned Parquet and one set of dataframe expressions
(Ibis) that run on embedded DuckDB or on a Spark cluster, chosen by configuration.

- ``dataset``: the fixed schemas, the partitioned writer (atomic per partition) and the
  checked, streamed reader.
- ``engine``: ``IES_METERDATA_ENGINE=duckdb|spark``; reading into and writing out of it.
- ``vee``: ``adapters.vee``'s rules as one expression over every meter-day.
- ``aggregates``: per-feeder/DT sums, losses inputs, per-block export/import, billing
  determinants.
- ``pipeline``: landing and the nightly run that the flows call.
"""
