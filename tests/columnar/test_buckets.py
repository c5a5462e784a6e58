"""The scale path (one query per partition, or per meter-hash bucket of it, keyed by
meter alone) gives exactly what one query over every partition gives."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from adapters import vee
from adapters.columnar import dataset as ds
from adapters.columnar import pipeline
from adapters.columnar import vee as vee_expr
from adapters.columnar.engine import Engine
from adapters.columnar.errors import DuplicateReadings
from adapters.synthetic import Network
from tests.columnar.test_engines_agree import DAYS, _land, _sorted

CONFIG = vee.VeeConfig(discom="MSEDCL")


def _all(engine: Engine, dataset: ds.Dataset) -> list[dict[str, object]]:
    return _sorted(engine.to_pyarrow(engine.read_checked(dataset, dataset.partitions())))


def test_bucketed_nightly_vee_equals_one_query(duck: Engine, tmp_path: Path) -> None:
    network = Network(seed=3, consumers=40)
    store = pipeline.MeterDataStore(tmp_path)
    _land(store, network)
    raw = duck.read_checked(store.raw, DAYS, unique=("meter", "at"))
    whole = vee_expr.validate(raw, config=CONFIG, days=[p.day for p in DAYS])
    expected = {
        "readings": _sorted(duck.to_pyarrow(whole.readings)),
        "issues": _sorted(duck.to_pyarrow(whole.issues)),
    }
    assert expected["readings"]
    assert expected["issues"]

    saved = duck.bucket_rows
    try:
        for bucket_rows in (10**9, 500):  # one query per day; then ~8 buckets per day
            duck.bucket_rows = bucket_rows
            pipeline.nightly_vee(duck, store, DAYS, config=CONFIG)
            assert _all(duck, store.readings) == expected["readings"], bucket_rows
            assert _all(duck, store.issues) == expected["issues"], bucket_rows
            files = store.readings.files(DAYS)
            if bucket_rows == 500:
                assert len(files) > 4  # several buckets were written per day
            else:
                assert len(files) == len(DAYS)  # one query, one file per day
    finally:
        duck.bucket_rows = saved
    assert not list((tmp_path / "readings" / "_staging").glob("*"))


def test_buckets_split_by_meter(duck: Engine, tmp_path: Path) -> None:
    network = Network(seed=4, consumers=12)
    store = pipeline.MeterDataStore(tmp_path)
    _land(store, network)
    files = store.raw.files([DAYS[0]])
    seen: dict[str, int] = {}
    total = 0
    with duck.buckets(store.raw, files, 4) as tables:
        for n, table in enumerate(tables):
            rows: pa.Table = duck.to_pyarrow(table)
            assert rows.column_names == ds.RAW.names
            total += rows.num_rows
            for meter in set(rows["meter"].to_pylist()):
                assert meter not in seen  # a meter's rows are all in one bucket
                seen[meter] = n
    assert total == sum(pq_rows(f.path) for f in files)
    assert len(seen) == 12
    assert len(set(seen.values())) > 1


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def test_a_failed_bucket_publishes_nothing(
    duck: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Buckets are written one by one into staging; if a later one fails, no partition
    of the run appears (and what an earlier run published stays as it was)."""
    network = Network(seed=6, consumers=20)
    store = pipeline.MeterDataStore(tmp_path)
    _land(store, network)
    pipeline.nightly_vee(duck, store, DAYS, config=CONFIG)
    before = _all(duck, store.readings)
    calls = {"n": 0}
    write = duck.write

    def failing(expr: object, writer: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # the third bucket's readings
            raise OSError("disk full")
        write(expr, writer)  # type: ignore[arg-type]

    monkeypatch.setattr(duck, "write", failing)
    monkeypatch.setattr(duck, "bucket_rows", 400)
    with pytest.raises(OSError, match="disk full"):
        pipeline.nightly_vee(duck, store, DAYS, config=CONFIG)
    monkeypatch.undo()
    assert _all(duck, store.readings) == before
    assert not list((tmp_path / "readings" / "_staging").glob("*"))
    assert not [p for p in (tmp_path / "readings").rglob(".*") if p.is_dir()]


def test_duplicates_across_files_refused_before_bucketing(
    duck: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = Network(seed=8, consumers=10)
    store = pipeline.MeterDataStore(tmp_path)
    _land(store, network)
    _land(store, network)  # the same export landed twice: two files per day
    monkeypatch.setattr(duck, "bucket_rows", 300)
    with pytest.raises(DuplicateReadings) as refused:
        pipeline.nightly_vee(duck, store, DAYS, config=CONFIG)
    assert len(refused.value.files) == 2
    assert all(str(tmp_path / "raw") in f for f in refused.value.files)
    assert not (tmp_path / "readings").exists() or not store.readings.partitions()
