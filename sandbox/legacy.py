"""The legacy systems of the sandbox's discoms: CIS extracts in each discom's own format.

A real discom hands the stack an export from its billing system; the sandbox writes
one from the synthetic network (``adapters.synthetic``) in exactly the layout the
discom's mapping file describes, so the CIS adapter reads it as it would a real one.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from adapters import vee
from adapters.cis import CisMapping
from adapters.dlms import simulator
from adapters.hes import HesArchive
from adapters.synthetic import IST, Consumer, Network

FIRST = ("Asha", "Ravi", "Meena", "Suresh", "Lakshmi", "Arjun", "Fatima", "Vikram", "Priya",
         "Imran", "Kavya", "Rahul", "Sunita", "Joseph", "Anita", "Harpreet")  # fmt: skip
LAST = ("Patil", "Kulkarni", "Rao", "Gowda", "Sharma", "Khan", "Iyer", "Singh", "Deshmukh",
        "Reddy", "Naik", "Fernandes", "Joshi", "Hegde")  # fmt: skip
_LOAD_UNITS = {"kW": 1.0, "W": 1000.0, "HP": 1 / 0.746, "kVA": 1 / 0.9}


@dataclass(frozen=True, slots=True)
class Place:
    """Where a discom's sample consumers live (one subdivision, for the sandbox)."""

    circle: str
    division: str
    subdivision: str
    pincode: int
    lat: float
    lon: float


def connection_number(mapping: CisMapping, consumer: Consumer) -> str:
    """The connection's number in the discom's own system (for relating it to a DT)."""
    if mapping.connection.legacy_id == mapping.consumer.legacy_id:
        return consumer.number
    return "4" + consumer.number[-9:]


def write_extract(network: Network, mapping: CisMapping, place: Place, path: Path) -> None:
    """Write the discom's CIS export of ``network``'s consumers to ``path``."""
    rng = random.Random(network.seed)  # noqa: S311 - synthetic, reproducible
    reverse_category: dict[str, str] = {}
    for raw, category in mapping.categories.items():
        reverse_category.setdefault(category, raw)
    reverse_kind = {kind: raw for raw, kind in mapping.meter.kinds.items()}
    columns = sorted(mapping.columns())
    with path.open("w", newline="", encoding=mapping.encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=mapping.delimiter)
        writer.writeheader()
        for n, consumer in enumerate(network.consumers):
            record: dict[str, str] = {}

            def put(column: str | None, value: str, record: dict[str, str] = record) -> None:
                if column:
                    record[column] = value

            put(mapping.consumer.legacy_id, consumer.number)
            put(mapping.connection.legacy_id, connection_number(mapping, consumer))
            put(mapping.consumer.name, f"{rng.choice(FIRST)} {rng.choice(LAST)}")
            put(mapping.consumer.phone, f"9{rng.randrange(10**9):09d}")
            put(mapping.consumer.email, f"consumer{n}@example.in")
            put(mapping.connection.category, reverse_category[consumer.category])
            load = consumer.sanctioned_kw * _LOAD_UNITS[mapping.connection.load_unit]
            put(mapping.connection.sanctioned_load, f"{load:g}")
            since = date(2015, 4, 1) + timedelta(days=rng.randrange(3000))
            put(mapping.connection.valid_from, since.strftime(mapping.connection.valid_from_format))
            put(mapping.connection.contract, "5" + consumer.number[-9:])
            put(mapping.meter.serial, consumer.meter_serial)
            put(mapping.meter.manufacturer, rng.choice(("Genus", "Secure", "HPL", "L&T")))
            put(mapping.meter.phase, "3" if consumer.sanctioned_kw > 7 else "1")
            kind = "bidirectional" if consumer.solar_kw else "smart"
            if kind in reverse_kind:
                put(mapping.meter.kind, reverse_kind[kind])
            put(mapping.address.circle, place.circle)
            put(mapping.address.division, place.division)
            put(mapping.address.subdivision, place.subdivision)
            put(mapping.address.pincode, str(place.pincode + rng.randrange(0, 30)))
            put(mapping.address.lat, f"{place.lat + rng.uniform(-0.02, 0.02):.5f}")
            put(mapping.address.lon, f"{place.lon + rng.uniform(-0.02, 0.02):.5f}")
            writer.writerow(record)


@dataclass
class _Registers:
    """A meter's energy registers over the window (kWh), and its maximum demand (kW)."""

    imported: float = 0.0
    exported: float = 0.0
    zones: list[float] = field(default_factory=lambda: [0.0] * 4)  # four 6-hour zones
    max_demand: float = 0.0

    def add(self, imports: Sequence[float], exports: Sequence[float]) -> None:
        self.imported += sum(imports)
        self.exported += sum(exports)
        for slot, kwh in enumerate(imports):
            self.zones[slot * 4 // len(imports)] += kwh
        self.max_demand = max(self.max_demand, max(imports) * 4)

    def billing_record(self, at: datetime) -> tuple[datetime, int, int, list[int], int]:
        """As the billing profile stores them: Wh and W."""
        return (at, round(self.imported * 1000), round(self.exported * 1000),
                [round(z * 1000) for z in self.zones], round(self.max_demand * 1000))  # fmt: skip


def hes_window(today: date) -> tuple[date, date]:
    """The first and last day (IST) the head-end export holds."""
    from sandbox.seed import HES_DAYS

    last = today - timedelta(days=2)
    return last - timedelta(days=HES_DAYS - 1), last


def hes_archive(network: Network, discom: str, meters: int, today: date) -> HesArchive:
    """The discom's head-end export: block load (15-minute import/export) of its first
    ``meters`` meters over the window, and one billing reset at the window's end, as
    the DLMS buffers a HES collects (decoded and VEE-checked by ``adapters.hes``)."""
    first, last = hes_window(today)
    archive = HesArchive(config=vee.VeeConfig(discom=discom))
    totals = {c.meter_serial: _Registers() for c in network.consumers[:meters]}
    day = first
    while day <= last:
        start = datetime(day.year, day.month, day.day, tzinfo=IST)
        for meter_day in network.days(start):
            registers = totals.get(meter_day.consumer.meter_serial)
            if registers is None:
                continue
            blocks = simulator.blocks_from_kwh(
                start, timedelta(minutes=15), meter_day.imports, meter_day.exports
            )
            archive.add_block_load(
                meter_day.consumer.meter_serial, day, simulator.block_load_buffer(blocks)
            )
            registers.add(meter_day.imports, meter_day.exports)
        day += timedelta(days=1)
    # Two billing resets: the window's start (registers read zero, for the sandbox) and
    # its end, so the last billing period is exactly the window.
    opened = datetime(first.year, first.month, first.day, tzinfo=IST)
    reset = datetime(last.year, last.month, last.day, tzinfo=IST) + timedelta(days=1)
    for serial, registers in totals.items():
        records = [(opened, 0, 0, [0, 0, 0, 0], 0), registers.billing_record(reset)]
        archive.add_billing(serial, simulator.billing_buffer(records))
    return archive
