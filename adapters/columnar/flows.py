"""The flows a participant runs through the columnar path, as the worker exposes them.

Each is a plain function of picklable arguments (``adapters.columnar.worker`` calls it
by name in the child process); the worker holds one engine (``MeterDataSettings``:
DuckDB or Spark) and the landed lakes under a scratch root for its lifetime.

- ``hes_land`` / ``hes_days``: a HES archive landed and validated in the lake; one
  meter's validated days back as ``adapters.vee.VeeResult`` (what the consented
  MeterData mapping, P2P export/import per block and bills read).
- ``feeders_land`` / ``feeders_metered``: a feeder's meters landed and validated; the
  per-feeder billed (net) energy, export and meters (``aggregates.feeder_billed_energy``:
  the metered side of AT&C losses and of DER visibility).
- ``network_aggregates`` / ``billing_determinants``: the aggregates themselves over a
  landed lake, as row lists.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from adapters import vee
from adapters.columnar import aggregates as agg
from adapters.columnar import dataset as ds
from adapters.columnar import pipeline
from adapters.columnar.engine import Engine, MeterDataSettings, connect
from adapters.errors import MeterDataNotAvailable
from adapters.hes import HesArchive
from adapters.synthetic import IST, Network

TOPOLOGY = pa.schema([("meter", pa.string()), ("feeder", pa.string()), ("dt", pa.string())])


@dataclass(frozen=True, slots=True)
class FeederMetered:
    """What a feeder's meters recorded over a period (the meters' side of losses)."""

    feeder: str
    billed_kwh: float  # import - export
    import_kwh: float
    export_kwh: float
    meters: int


@dataclass
class _Lake:
    store: pipeline.MeterDataStore
    partitions: list[ds.Partition]
    topology: Path | None = None


class _State:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._root: Path | None = None  # made on first landing, not at import
        self.archives: dict[str, HesArchive] = {}
        self.lakes: dict[str, _Lake] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="ies-columnar-flows-"))
        return self._root

    def connect(self) -> Engine:
        if self.engine is None:
            self.engine = connect(MeterDataSettings())
        return self.engine


_STATE = _State()


def _lake(key: str) -> _Lake:
    found = _STATE.lakes.get(key)
    if found is None:
        raise MeterDataNotAvailable(f"nothing landed under {key!r}", lake=key)
    return found


def _store(key: str) -> pipeline.MeterDataStore:
    if not key.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"lake key {key!r} is not a safe name")
    root = _STATE.root / key
    shutil.rmtree(root, ignore_errors=True)  # landing again replaces the lake
    root.mkdir(parents=True)
    return pipeline.MeterDataStore(root)


def hes_land(key: str, archive: HesArchive, *, state: str, discom: str) -> int:
    """Land ``archive``'s block load, run the nightly VEE; its meters' days are then
    served from the validated partitions. Returns the number of partitions."""
    store = _store(key)
    archive.land(_STATE.connect(), store, state=state, discom=discom)
    _STATE.archives[key] = archive
    partitions = store.readings.partitions()
    _STATE.lakes[key] = _Lake(store, partitions)
    return len(partitions)


def hes_days(key: str, serial: str, start: datetime, end: datetime) -> list[vee.VeeResult]:
    """One meter's validated days that overlap ``start``..``end``, from the lake."""
    archive = _STATE.archives.get(key)
    if archive is None:
        raise MeterDataNotAvailable(f"no archive landed under {key!r}", lake=key)
    return list(archive._days(serial, start, end))  # the landed path


def feeders_land(
    key: str,
    networks: Sequence[Network],
    first: date,
    last: date,
    *,
    state: str,
    discom: str,
    dts: Sequence[dict[str, str]] = (),
) -> int:
    """Land every meter of ``networks`` (one synthetic network per feeder) for the days
    ``first``..``last`` and validate them; the topology maps meter -> feeder (-> DT, from
    ``dts`` rows ``{meter, dt}`` where known). Returns the raw rows landed."""
    store = _store(key)
    partitions = []
    rows = 0
    day = first
    while day <= last:
        start = datetime(day.year, day.month, day.day, tzinfo=IST)
        partition = ds.Partition(state, discom, day.isoformat())
        meters = []
        for network in networks:
            for meter_day in network.days(start):
                samples = [
                    vee.Sample(start + timedelta(minutes=15) * (s + 1), i, e)
                    for s, (i, e) in enumerate(
                        zip(meter_day.imports, meter_day.exports, strict=True)
                    )
                ]
                rows += len(samples)
                meters.append((meter_day.consumer.meter_serial, samples))
        pipeline.land(store, partition, meters)
        partitions.append(partition)
        day += timedelta(days=1)
    engine = _STATE.connect()
    pipeline.nightly_vee(engine, store, partitions, config=vee.VeeConfig(discom=discom))
    dt_of = {row["meter"]: row["dt"] for row in dts}
    topology = store.root / "topology.parquet"
    serials = [(c.meter_serial, n.feeder) for n in networks for c in n.consumers]
    pq.write_table(
        pa.table(
            {
                "meter": [s for s, _ in serials],
                "feeder": [f for _, f in serials],
                "dt": [dt_of.get(s, f) for s, f in serials],
            },
            schema=TOPOLOGY,
        ),
        topology,
    )
    _STATE.lakes[key] = _Lake(store, partitions, topology)
    return rows


def _readings_between(key: str, start: datetime, end: datetime) -> tuple[Engine, Any, _Lake]:
    lake = _lake(key)
    engine = _STATE.connect()
    days = {
        p.day
        for p in lake.partitions
        if start.astimezone(IST).date() <= date.fromisoformat(p.day) <= end.astimezone(IST).date()
    }
    partitions = [p for p in lake.partitions if p.day in days]
    readings = engine.read_checked(lake.store.readings, partitions)
    # Compared as epoch seconds: a zoned datetime literal loses its zone on the way to
    # some backends, which would shift the window by the UTC offset.
    at = readings.start.epoch_seconds()
    readings = readings.filter((at >= int(start.timestamp())) & (at < int(end.timestamp())))
    return engine, readings, lake


def feeders_metered(key: str, start: datetime, end: datetime) -> dict[str, FeederMetered]:
    """Per feeder: billed (net) energy, import, export and meters over ``start``..``end``."""
    engine, readings, lake = _readings_between(key, start, end)
    assert lake.topology is not None
    topology = engine.read_file(lake.topology, TOPOLOGY)
    rows = engine.to_pyarrow(agg.feeder_billed_energy(readings, topology)).to_pylist()
    return {
        r["feeder"]: FeederMetered(
            r["feeder"], r["billed_kwh"], r["import_kwh"], r["export_kwh"], r["meters"]
        )
        for r in rows
    }


def network_aggregates(
    key: str, start: datetime, end: datetime, *, level: str = "feeder", min_meters: int = 5
) -> list[dict[str, Any]]:
    """Per-feeder (or DT) import/export/net per block, small groups withheld."""
    engine, readings, lake = _readings_between(key, start, end)
    assert lake.topology is not None
    topology = engine.read_file(lake.topology, TOPOLOGY)
    expr = agg.network_aggregates(readings, topology, level=level, min_meters=min_meters)
    rows: list[dict[str, Any]] = engine.to_pyarrow(expr).to_pylist()
    return rows


def billing_determinants(
    key: str, start: datetime, end: datetime, tariff: agg.Tariff
) -> dict[str, list[dict[str, Any]]]:
    """Per meter: totals, slabs and time-of-day energy over ``start``..``end``."""
    engine, readings, _ = _readings_between(key, start, end)
    totals, slabs, tod = agg.billing_determinants(readings, tariff)
    return {
        "totals": engine.to_pyarrow(totals).to_pylist(),
        "slabs": engine.to_pyarrow(slabs).to_pylist(),
        "tod": engine.to_pyarrow(tod).to_pylist(),
    }


def engine_name() -> str:
    """Which engine the worker runs (and, by connecting, that it can)."""
    return _STATE.connect().name


def close() -> None:
    if _STATE.engine is not None:
        _STATE.engine.close()
        _STATE.engine = None
    if _STATE._root is not None:  # the module's own state
        shutil.rmtree(_STATE._root, ignore_errors=True)
        _STATE._root = None


FLOWS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        hes_land,
        hes_days,
        feeders_land,
        feeders_metered,
        network_aggregates,
        billing_determinants,
        engine_name,
    )
}
