"""MDM/HES interval data: decode a meter's profile buffers, run VEE, emit MeterData.

:func:`read_day` is the whole pipeline for one meter-day (the benchmark's unit of
work). :class:`HesArchive` holds what a head-end system exports (the raw A-XDR
buffers per meter and day) and serves it through the consumers' ports:
``consent.ports`` (interval, billing, event data) and ``registry.ports``
(export/import for P2P settlement).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from adapters import meterdata as mapping
from adapters import vee
from adapters.dlms import profiles
from adapters.dlms.simulator import PROFILE_SCALERS
from adapters.errors import MeterDataNotAvailable
from adapters.synthetic import IST, Network
from protocol.ports import FeederEnergy
from registry.ports import ExportImportBlock
from schemas.meterdata import EnergyData, IntervalProfile

if TYPE_CHECKING:
    from adapters.columnar.engine import Engine
    from adapters.columnar.pipeline import MeterDataStore


def samples(rows: Iterator[profiles.Row]) -> Iterator[vee.Sample]:
    """Block load rows as VEE samples (block import and export energy, kWh)."""
    for row in rows:
        yield vee.Sample(row.captured_at, row.values[1], row.values[2], row.index)


def read_day(
    serial: str,
    block_buffer: bytes,
    scalers: Sequence[profiles.ScalerUnit],
    *,
    start: datetime,
    step: timedelta,
    config: vee.VeeConfig,
    zone: timezone = IST,
    history: vee.History | None = None,
    register_delta: tuple[float, float] | None = None,
) -> tuple[IntervalProfile, vee.VeeResult]:
    """Decode one day of block load profile, validate and estimate it, map it."""
    rows = profiles.iter_rows(block_buffer, profiles.BLOCK_LOAD, scalers, zone)
    result = vee.run(
        samples(rows),
        start=start,
        step=step,
        slots=int(timedelta(days=1) / step),
        config=config,
        history=history,
        register_delta=register_delta,
    )
    return mapping.interval_profile(serial, result), result


@dataclass(slots=True)
class _MeterArchive:
    block_load: dict[date, bytes] = field(default_factory=dict)
    daily_load: bytes | None = None
    billing: bytes | None = None
    events: dict[int, bytes] = field(default_factory=dict)


class HesArchive:
    """A head-end system's export: raw profile buffers per meter, read on demand."""

    def __init__(
        self,
        *,
        config: vee.VeeConfig,
        step: timedelta = timedelta(minutes=15),
        zone: timezone = IST,
    ) -> None:
        self.config = config
        self.step = step
        self.zone = zone
        self._meters: dict[str, _MeterArchive] = {}
        self._landed: tuple[Engine, MeterDataStore, str, str] | None = None
        self._scalers = {
            obis_: profiles.parse_scalers(raw, profiles.PROFILES[obis_])
            for obis_, raw in PROFILE_SCALERS.items()
        }

    def _meter(self, serial: str) -> _MeterArchive:
        return self._meters.setdefault(serial, _MeterArchive())

    def add_block_load(self, serial: str, day: date, buffer: bytes) -> None:
        self._meter(serial).block_load[day] = buffer

    def add_daily_load(self, serial: str, buffer: bytes) -> None:
        self._meter(serial).daily_load = buffer

    def add_billing(self, serial: str, buffer: bytes) -> None:
        self._meter(serial).billing = buffer

    def add_events(self, serial: str, compartment: int, buffer: bytes) -> None:
        self._meter(serial).events[compartment] = buffer

    def _archive(self, serial: str) -> _MeterArchive:
        archive = self._meters.get(serial)
        if archive is None:
            raise MeterDataNotAvailable(f"no data for meter {serial}", meter=serial)
        return archive

    def land(self, engine: Engine, store: MeterDataStore, *, state: str, discom: str) -> None:
        """Decode every block load buffer into the columnar store (one raw partition per
        day), run the nightly VEE there on ``engine``, and serve interval data and
        export/import from the validated partitions from now on (the scale path: the
        same verdicts as :func:`read_day`, computed for all meters at once)."""
        from adapters.columnar import dataset as ds
        from adapters.columnar import pipeline

        scalers = self._scalers[profiles.BLOCK_LOAD.obis]
        days = sorted({d for a in self._meters.values() for d in a.block_load})
        partitions = [ds.Partition(state, discom, d.isoformat()) for d in days]
        for day, partition in zip(days, partitions, strict=True):
            pipeline.land(
                store,
                partition,
                (
                    (
                        serial,
                        samples(
                            profiles.iter_rows(
                                archive.block_load[day], profiles.BLOCK_LOAD, scalers, self.zone
                            )
                        ),
                    )
                    for serial, archive in sorted(self._meters.items())
                    if day in archive.block_load
                ),
            )
        pipeline.nightly_vee(
            engine, store, partitions, config=self.config, step=self.step, zone=self.zone
        )
        self._landed = (engine, store, state, discom)

    def _days(self, serial: str, start: datetime, end: datetime) -> Iterator[vee.VeeResult]:
        archive = self._archive(serial)
        if self._landed is not None:
            yield from self._landed_days(serial, archive, start, end)
            return
        scalers = self._scalers[profiles.BLOCK_LOAD.obis]
        for day in sorted(archive.block_load):
            day_start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
            if day_start + timedelta(days=1) <= start or day_start >= end:
                continue
            _, result = read_day(
                serial,
                archive.block_load[day],
                scalers,
                start=day_start,
                step=self.step,
                config=self.config,
                zone=self.zone,
            )
            yield result

    def _landed_days(
        self, serial: str, archive: _MeterArchive, start: datetime, end: datetime
    ) -> Iterator[vee.VeeResult]:
        from adapters.columnar import dataset as ds
        from adapters.columnar import pipeline

        assert self._landed is not None
        engine, store, state, discom = self._landed
        wanted = []
        for day in sorted(archive.block_load):
            day_start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
            if day_start + timedelta(days=1) <= start or day_start >= end:
                continue
            wanted.append(ds.Partition(state, discom, day.isoformat()))
        yield from pipeline.vee_results(
            engine, store, serial, wanted, step=self.step, zone=self.zone
        )

    def interval_data(self, serial: str, start: datetime, end: datetime) -> list[EnergyData]:
        out: list[EnergyData] = [mapping.descriptor_profile()]
        out.extend(
            mapping.interval_profile(serial, result) for result in self._days(serial, start, end)
        )
        if len(out) == 1:
            raise MeterDataNotAvailable(f"no block load data for {serial} in {start}..{end}")
        return out

    def billing_data(self, serial: str, start: datetime, end: datetime) -> list[EnergyData]:
        archive = self._archive(serial)
        out: list[EnergyData] = []
        if archive.daily_load is not None:
            rows = [
                r
                for r in profiles.iter_rows(
                    archive.daily_load,
                    profiles.DAILY_LOAD,
                    self._scalers[profiles.DAILY_LOAD.obis],
                    self.zone,
                )
                if start <= r.captured_at < end
            ]
            if rows:
                out += [mapping.descriptor_profile(), mapping.daily_profile(serial, rows)]
        if archive.billing is not None:
            rows = [
                r
                for r in profiles.iter_rows(
                    archive.billing,
                    profiles.BILLING,
                    self._scalers[profiles.BILLING.obis],
                    self.zone,
                )
                if start <= r.captured_at < end
            ]
            out += mapping.monthly_profiles(serial, rows)
        if not out:
            raise MeterDataNotAvailable(f"no billing data for {serial} in {start}..{end}")
        return out

    def events(self, serial: str, start: datetime, end: datetime) -> list[EnergyData]:
        archive = self._archive(serial)
        rows: list[profiles.Row] = []
        for compartment, buffer in sorted(archive.events.items()):
            profile = profiles.event_log(compartment)
            rows += [
                r
                for r in profiles.iter_rows(buffer, profile, self._scalers[profile.obis], self.zone)
                if start <= r.captured_at < end
            ]
        return [mapping.event_profile(serial, rows, start=start, period=end - start)]

    def export_import(
        self, serial: str, start: datetime, end: datetime
    ) -> Iterator[ExportImportBlock]:
        for result in self._days(serial, start, end):
            for reading in result.readings:
                if start <= reading.start < end:
                    yield ExportImportBlock(
                        serial,
                        reading.start,
                        reading.start + self.step,
                        reading.import_kwh,
                        reading.export_kwh,
                        reading.quality.value,
                    )


class SyntheticFeeders:
    """Feeder energy from the synthetic network (the sandbox's SCADA stand-in)."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def feeder_energy(self, feeder: str, start: datetime, end: datetime) -> FeederEnergy:
        if feeder != self.network.feeder:
            raise MeterDataNotAvailable(f"no feeder {feeder}", feeder=feeder)
        day = datetime(start.year, start.month, start.day, tzinfo=start.tzinfo)
        input_kwh = billed = export = 0.0
        while day < end:
            feeder_day = self.network.feeder_day(day)
            input_kwh += sum(feeder_day.input_kwh)
            billed += sum(feeder_day.metered_kwh)
            export += sum(sum(m.exports) for m in self.network.days(day))
            day += timedelta(days=1)
        return FeederEnergy(
            feeder, start, end, input_kwh, billed, export, len(self.network.consumers)
        )
