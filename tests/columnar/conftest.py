"""Fixtures for the columnar path: engines (Spark started once per module that asks),
a synthetic discom landed as raw Parquet, and helpers turning samples into rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from adapters import vee
from adapters.columnar import dataset as ds
from adapters.columnar import pipeline
from adapters.columnar.engine import Engine, MeterDataSettings, connect
from adapters.synthetic import IST

DAY = datetime(2026, 5, 18, tzinfo=IST)
STEP = timedelta(minutes=15)
PARTITION = ds.Partition("MH", "MSEDCL", "2026-05-18")


def raw_table(
    meters: Mapping[str, Sequence[vee.Sample]], partition: ds.Partition = PARTITION
) -> pa.Table:
    """Samples as RAW rows with their partition columns, as an engine reads them."""
    cols: dict[str, list[object]] = {n: [] for n in ds.RAW.names}
    for meter, samples in meters.items():
        for name, values in pipeline.raw_rows(meter, samples).items():
            cols[name].extend(values)
    table = pa.table(cols, schema=ds.RAW)
    n = table.num_rows
    for column in ds.PARTITION_COLUMNS:
        table = table.append_column(column, pa.array([getattr(partition, column)] * n, pa.string()))
    return table


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    engine = connect(MeterDataSettings(meterdata_engine="duckdb", meterdata_threads=2))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def spark() -> Iterator[Engine]:
    pytest.importorskip("pyspark")
    engine = connect(
        MeterDataSettings(
            meterdata_engine="spark", spark_master="local[2]", spark_shuffle_partitions=2
        )
    )
    yield engine
    engine.close()
