"""DuckDB and Spark give identical results on the same Parquet input: the nightly VEE
(every reading, flag and issue count) and every aggregate the flows read."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from adapters import vee
from adapters.columnar import aggregates as agg
from adapters.columnar import dataset as ds
from adapters.columnar import pipeline
from adapters.columnar.engine import Engine
from adapters.synthetic import Network
from tests.columnar.conftest import DAY, STEP

pytestmark = pytest.mark.slow

CONFIG = vee.VeeConfig(discom="MSEDCL")
DAYS = [ds.Partition("MH", "MSEDCL", "2026-05-18"), ds.Partition("MH", "MSEDCL", "2026-05-19")]
TARIFF = agg.Tariff(
    slabs=(100.0, 300.0, 500.0),
    tod=(agg.TouZone("peak", 18, 22), agg.TouZone("off-peak", 22, 6), agg.TouZone("solar", 9, 17)),
)


def _land(store: pipeline.MeterDataStore, network: Network) -> None:
    for n, partition in enumerate(DAYS):
        day = DAY + timedelta(days=n)
        meters = []
        for k, meter_day in enumerate(network.days(day)):
            samples = [
                vee.Sample(day + STEP * (s + 1), i, e)
                for s, (i, e) in enumerate(zip(meter_day.imports, meter_day.exports, strict=True))
            ]
            if k % 3 == 0:
                samples = samples[:30] + samples[32:] + [samples[10]]
            if k % 4 == 1:
                samples = samples[:20] + samples[44:]
            if k % 5 == 2:
                samples[50] = vee.Sample(samples[50].at, 40.0, 0.0)
            meters.append((meter_day.consumer.meter_serial, samples))
        pipeline.land(store, partition, meters)


def _sorted(table: pa.Table) -> list[dict[str, object]]:
    order = ("state", "discom", "day", "meter", "feeder", "dt", "slot", "kind", "zone", "start")
    keys = [c for c in order if c in table.column_names]
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def test_duckdb_and_spark_agree(duck: Engine, spark: Engine, tmp_path: Path) -> None:
    network = Network(seed=5, consumers=30)
    first = pipeline.MeterDataStore(tmp_path / "duckdb")
    _land(first, network)
    second = pipeline.MeterDataStore(tmp_path / "spark")
    shutil.copytree(first.raw.root, second.raw.root)

    pipeline.nightly_vee(duck, first, DAYS, config=CONFIG)
    saved = spark.bucket_rows
    spark.bucket_rows = 800  # Spark through the meter-hash buckets, DuckDB in one query
    try:
        pipeline.nightly_vee(spark, second, DAYS, config=CONFIG)
    finally:
        spark.bucket_rows = saved
    assert len(second.readings.files(DAYS)) > len(DAYS)
    for name in ("readings", "issues"):
        a, b = getattr(first, name), getattr(second, name)
        left = duck.to_pyarrow(duck.read_checked(a, a.partitions()))
        right = duck.to_pyarrow(duck.read_checked(b, b.partitions()))
        assert left.num_rows > 0
        assert _sorted(left) == _sorted(right), name

    topology = tmp_path / "topology.parquet"
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {
                "meter": [c.meter_serial for c in network.consumers],
                "feeder": [f"FDR-{n % 2}" for n in range(len(network.consumers))],
                "dt": [f"DT-{n % 5}" for n in range(len(network.consumers))],
            }
        ),
        topology,
    )
    feeder_input = tmp_path / "feeder-input.parquet"
    pq.write_table(
        pa.table({"feeder": ["FDR-0", "FDR-1"], "input_kwh": [900.0, 1200.0]}), feeder_input
    )
    topo_schema = pa.schema([("meter", pa.string()), ("feeder", pa.string()), ("dt", pa.string())])
    input_schema = pa.schema([("feeder", pa.string()), ("input_kwh", pa.float64())])

    def run(
        engine: Engine, build: Callable[[ir.Table, ir.Table, ir.Table], ir.Table]
    ) -> list[dict[str, object]]:
        readings = engine.read_checked(first.readings, DAYS)
        return _sorted(
            engine.to_pyarrow(
                build(
                    readings,
                    engine.read_file(topology, topo_schema),
                    engine.read_file(feeder_input, input_schema),
                )
            )
        )

    builds: dict[str, Callable[[ir.Table, ir.Table, ir.Table], ir.Table]] = {
        "blocks": lambda r, t, f: agg.export_import_blocks(r, block=timedelta(hours=1)),
        "feeder": lambda r, t, f: agg.network_aggregates(r, t, level="feeder"),
        "dt": lambda r, t, f: agg.network_aggregates(r, t, level="dt"),
        "losses": lambda r, t, f: agg.feeder_losses(agg.feeder_billed_energy(r, t), f),
        "totals": lambda r, t, f: agg.billing_determinants(r, TARIFF)[0],
        "slabs": lambda r, t, f: agg.billing_determinants(r, TARIFF)[1],
        "tod": lambda r, t, f: agg.billing_determinants(r, TARIFF)[2],
    }
    for name, build in builds.items():
        on_duckdb = run(duck, build)
        assert on_duckdb, name
        assert run(spark, build) == on_duckdb, name
