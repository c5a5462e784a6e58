"""The meter-data runs the flows call: land raw blocks, run the nightly VEE, read back.

``land`` is what an adapter does with what it decoded (HES buffers, MDM exports): rows
into the ``raw`` dataset. ``nightly_vee`` validates chosen partitions of it on the
configured engine into the ``readings`` and ``issues`` datasets (replacing those
partitions atomically, so a re-run is safe). ``vee_results`` turns one meter's
validated rows back into :class:`adapters.vee.VeeResult` for the MeterData mapping.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from adapters import vee
from adapters.columnar import dataset as ds
from adapters.columnar import vee as vee_expr
from adapters.columnar.engine import Engine
from adapters.synthetic import IST


@dataclass(frozen=True, slots=True)
class MeterDataStore:
    """The three datasets of one discom's (or one state's) meter-data lake."""

    root: Path

    @property
    def raw(self) -> ds.Dataset:
        return ds.Dataset(self.root / "raw", ds.RAW)

    @property
    def readings(self) -> ds.Dataset:
        return ds.Dataset(self.root / "readings", ds.READINGS)

    @property
    def issues(self) -> ds.Dataset:
        return ds.Dataset(self.root / "issues", ds.ISSUES)


def raw_rows(meter: str, samples: Iterable[vee.Sample]) -> dict[str, list[object]]:
    """One meter's samples as RAW columns (``row`` = position in the source stream)."""
    cols: dict[str, list[object]] = {n: [] for n in ds.RAW.names}
    for position, sample in enumerate(samples):
        cols["meter"].append(meter)
        cols["at"].append(sample.at.astimezone(UTC))
        cols["import_kwh"].append(sample.import_kwh)
        cols["export_kwh"].append(sample.export_kwh)
        cols["row"].append(position)
    return cols


def land(
    store: MeterDataStore,
    partition: ds.Partition,
    meters: Iterable[tuple[str, Iterable[vee.Sample]]],
    *,
    batch_meters: int = 2000,
) -> None:
    """Write meters' samples into one raw partition (one file, published at the end)."""
    with store.raw.writer() as writer:
        buffer: dict[str, list[object]] = {n: [] for n in ds.RAW.names}
        count = 0
        for meter, samples in meters:
            for name, values in raw_rows(meter, samples).items():
                buffer[name].extend(values)
            count += 1
            if count % batch_meters == 0:
                writer.write(partition, pa.table(buffer, schema=ds.RAW))
                buffer = {n: [] for n in ds.RAW.names}
        if buffer["meter"] or count == 0:
            writer.write(partition, pa.table(buffer, schema=ds.RAW))


def nightly_vee(
    engine: Engine,
    store: MeterDataStore,
    partitions: Sequence[ds.Partition],
    *,
    config: vee.VeeConfig,
    step: timedelta = timedelta(minutes=15),
    zone: timezone = IST,
) -> None:
    """VEE of ``partitions`` of the raw dataset, written to ``readings`` and ``issues``.

    Every input file is checked first (footer, schema, no reading in two files); the
    outputs are staged and published per partition only if the whole run succeeded.

    The work is one query per partition, or per meter-hash bucket of a partition of
    more than ``engine.bucket_rows`` raw rows (counted from the footers), each keyed by
    the meter alone and written out by the engine before the next starts: the memory a
    night needs is that of one bucket, and its time grows with the number of buckets.
    """
    checked = engine.checked_files(store.raw, partitions, unique=("meter", "at"))
    by_partition: dict[ds.Partition, list[ds.PartitionFile]] = defaultdict(list)
    for item in checked:
        by_partition[item.partition].append(item)
    with (
        store.readings.writer(replace=True) as readings,
        store.issues.writer(replace=True) as issues,
    ):
        for partition in sorted(by_partition):
            files = by_partition[partition]
            rows = sum(pq.ParquetFile(f.path).metadata.num_rows for f in files)
            count = max(1, math.ceil(rows / max(engine.bucket_rows, 1)))
            with engine.buckets(store.raw, files, count) as tables:
                for table in tables:
                    result = vee_expr.validate(
                        table,
                        checkpoint=engine.checkpoint,
                        config=config,
                        days=[partition.day],
                        step=step,
                        zone=zone,
                        partition=partition,
                    )
                    engine.write(result.readings, readings)
                    engine.write(result.issues, issues)
                    engine.release()


def vee_results(
    engine: Engine,
    store: MeterDataStore,
    meter: str,
    partitions: Sequence[ds.Partition],
    *,
    step: timedelta = timedelta(minutes=15),
    zone: timezone = IST,
) -> list[vee.VeeResult]:
    """One meter's validated days as ``adapters.vee.VeeResult`` (readings; issue kinds
    with their counts, without per-block detail)."""
    if not partitions:
        return []
    readings = engine.read_checked(store.readings, partitions)
    rows = engine.to_pyarrow(
        readings.filter(readings.meter == meter).order_by(["day", "slot"])
    ).to_pylist()
    issues = engine.read_checked(store.issues, partitions)
    found = engine.to_pyarrow(issues.filter(issues.meter == meter)).to_pylist()
    slots = int(timedelta(days=1) / step)
    by_day: dict[str, list[vee.Reading]] = defaultdict(list)
    for row in rows:
        by_day[row["day"]].append(to_reading(row, zone))
    issues_by_day: dict[str, list[vee.Issue]] = defaultdict(list)
    for row in found:
        issues_by_day[row["day"]] += [vee.Issue(row["kind"], f"{row['count']} x {row['kind']}")]
    out = []
    for day in sorted(set(by_day) | set(issues_by_day)):
        d = date.fromisoformat(day)
        start = datetime(d.year, d.month, d.day, tzinfo=zone)
        present = {int((r.start - start) / step) for r in by_day[day]}
        out.append(
            vee.VeeResult(
                start,
                step,
                slots,
                by_day[day],
                issues_by_day[day],
                [start + step * s for s in range(slots) if s not in present],
            )
        )
    return out


def to_reading(row: Mapping[str, Any], zone: timezone = IST) -> vee.Reading:
    """A READINGS row (as Arrow gives it to Python) as ``adapters.vee.Reading``."""
    original = None
    if row["original_import_kwh"] is not None:
        original = (float(row["original_import_kwh"]), float(row["original_export_kwh"]))
    return vee.Reading(
        row["start"].astimezone(zone),
        float(row["import_kwh"]),
        float(row["export_kwh"]),
        vee.Quality(row["quality"]),
        row["method"],
        row["reason"],
        original,
    )
