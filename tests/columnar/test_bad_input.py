"""Bad input is refused with the file named, and nothing is half-written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters import vee
from adapters.columnar import dataset as ds
from adapters.columnar import pipeline
from adapters.columnar.engine import Engine
from adapters.columnar.errors import (
    ColumnarFileInvalid,
    ColumnarSchemaMismatch,
    DuplicateReadings,
    PartitionInvalid,
)
from tests.columnar.conftest import DAY, PARTITION, STEP

CONFIG = vee.VeeConfig(discom="MSEDCL")
OTHER_DAY = ds.Partition("MH", "MSEDCL", "2026-05-19")


def _meters(first: int, count: int) -> list[tuple[str, list[vee.Sample]]]:
    return [
        (f"SM{n:06d}", [vee.Sample(DAY + STEP * (s + 1), 0.2 + n / 100, 0.0) for s in range(96)])
        for n in range(first, first + count)
    ]


@pytest.fixture
def store(tmp_path: Path) -> pipeline.MeterDataStore:
    store = pipeline.MeterDataStore(tmp_path / "lake")
    pipeline.land(store, PARTITION, _meters(0, 5))
    return store


def _nothing_written(store: pipeline.MeterDataStore) -> None:
    assert store.readings.partitions() == []
    assert store.issues.partitions() == []
    for dataset in (store.raw, store.readings, store.issues):
        staging = dataset.root / "_staging"
        assert not staging.exists() or not any(staging.iterdir())


def test_corrupt_parquet_file_is_named(duck: Engine, store: pipeline.MeterDataStore) -> None:
    target = store.raw.root / OTHER_DAY.relative
    target.mkdir(parents=True)
    good = next((store.raw.root / PARTITION.relative).glob("*.parquet")).read_bytes()
    bad = target / "part-cut.parquet"
    bad.write_bytes(good[: len(good) // 2])  # a copy cut short: no footer
    with pytest.raises(ColumnarFileInvalid) as caught:
        pipeline.nightly_vee(duck, store, [PARTITION, OTHER_DAY], config=CONFIG)
    assert caught.value.file == str(bad)
    assert str(bad) in str(caught.value)
    _nothing_written(store)


def test_partition_with_wrong_schema_is_named(duck: Engine, store: pipeline.MeterDataStore) -> None:
    target = store.raw.root / OTHER_DAY.relative
    target.mkdir(parents=True)
    wrong = target / "part-mdm.parquet"
    pq.write_table(
        pa.table({"meter": ["SM1"], "at": [DAY], "import_kwh": ["0.5"], "export_kwh": [0.0]}), wrong
    )
    with pytest.raises(ColumnarSchemaMismatch) as caught:
        pipeline.nightly_vee(duck, store, [PARTITION, OTHER_DAY], config=CONFIG)
    message = str(caught.value)
    assert str(wrong) in message
    assert "missing columns ['row']" in message
    assert "import_kwh: string" in message
    _nothing_written(store)


def test_duplicate_readings_across_files_name_both(
    duck: Engine, store: pipeline.MeterDataStore
) -> None:
    pipeline.land(store, PARTITION, _meters(3, 4))  # meters 3 and 4 landed a second time
    files = sorted(str(p) for p in (store.raw.root / PARTITION.relative).glob("*.parquet"))
    assert len(files) == 2
    with pytest.raises(DuplicateReadings) as caught:
        pipeline.nightly_vee(duck, store, [PARTITION], config=CONFIG)
    assert sorted(caught.value.files) == files
    assert "meter=SM00000" in str(caught.value)
    _nothing_written(store)


def test_distinct_meters_in_two_files_are_fine(
    duck: Engine, store: pipeline.MeterDataStore
) -> None:
    pipeline.land(store, PARTITION, _meters(5, 3))
    pipeline.nightly_vee(duck, store, [PARTITION], config=CONFIG)
    readings = duck.to_pyarrow(duck.read_checked(store.readings, [PARTITION]))
    assert readings.num_rows == 8 * 96


def test_failed_write_publishes_no_partition(tmp_path: Path) -> None:
    dataset = ds.Dataset(tmp_path / "raw", ds.RAW)
    rows = pa.table(pipeline.raw_rows("SM1", _meters(0, 1)[0][1]), schema=ds.RAW)

    def interrupted() -> None:
        with dataset.writer() as writer:
            writer.write(PARTITION, rows)
            writer.write(OTHER_DAY, rows)
            raise RuntimeError("the HES connection dropped mid-export")

    def misshapen() -> None:
        with dataset.writer() as writer:
            writer.write(PARTITION, rows)
            writer.write(OTHER_DAY, rows.drop_columns(["row"]))  # wrong shape: refused

    with pytest.raises(RuntimeError):
        interrupted()
    assert dataset.partitions() == []
    assert not any((dataset.root / "_staging").iterdir())
    with pytest.raises(KeyError):
        misshapen()
    assert dataset.partitions() == []


def test_rerun_replaces_output_partitions(duck: Engine, store: pipeline.MeterDataStore) -> None:
    pipeline.nightly_vee(duck, store, [PARTITION], config=CONFIG)
    pipeline.nightly_vee(duck, store, [PARTITION], config=CONFIG)
    assert len(list((store.readings.root / PARTITION.relative).glob("*.parquet"))) >= 1
    readings = duck.to_pyarrow(duck.read_checked(store.readings, [PARTITION]))
    assert readings.num_rows == 5 * 96


@pytest.mark.parametrize("value", ["", "../etc", "a/b", "x" * 80])
def test_partition_values_are_safe_path_segments(value: str) -> None:
    with pytest.raises(PartitionInvalid):
        ds.Partition(value, "MSEDCL", "2026-05-18")
