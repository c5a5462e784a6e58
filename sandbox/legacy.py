"""The legacy systems of the sandbox's discoms: CIS extracts in each discom's own format.

A real discom hands the stack an export from its billing system; the sandbox writes
one from the synthetic network (``adapters.synthetic``) in exactly the layout the
discom's mapping file describes, so the CIS adapter reads it as it would a real one.
"""

from __future__ import annotations

import csv
import io
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


# ------------------------------------------- the energy audit: CIS billing and SCADA totals

# Energy charges the sandbox's CIS bills at (INR/kWh; sandbox parameters, not a tariff).
TARIFF_INR_PER_KWH = {"domestic": 6.5, "commercial": 10.5, "industrial": 8.9,
                      "agricultural": 3.2}  # fmt: skip
# Commercial loss (unmetered draw, theft) of each feeder in turn: the second is worse.
FEEDER_COMMERCIAL_LOSS = (0.05, 0.10)
SCADA_KWH_PER_COUNT = 0.1
SCADA_MODULUS = 10**6  # a six-digit register of 0.1 kWh counts: it wraps every 100 MWh


def feeder_networks(
    network: Network, feeders: Sequence[str], dts_per_feeder: int
) -> dict[str, Network]:
    """Each feeder's share of the discom's consumers (connection n sits under DT
    n mod DTs, DTs taken feeder by feeder, as the GIS links them in ``sandbox.seed``),
    with that feeder's own commercial loss."""
    per_feeder: dict[str, Network] = {}
    for k, feeder in enumerate(feeders):
        commercial = FEEDER_COMMERCIAL_LOSS[k % len(FEEDER_COMMERCIAL_LOSS)]
        sub = Network(
            seed=network.seed,
            consumers=0,
            feeder=feeder,
            step=network.step,
            technical_loss=network.technical_loss,
            commercial_loss=commercial,
        )
        sub.consumers = [c for n, c in enumerate(network.consumers)
                         if n % (len(feeders) * dts_per_feeder) // dts_per_feeder == k]  # fmt: skip
        per_feeder[feeder] = sub
    return per_feeder


def _days(first: date, last: date) -> list[datetime]:
    count = (last - first).days + 1
    return [datetime(first.year, first.month, first.day, tzinfo=IST) + timedelta(days=d)
            for d in range(count)]  # fmt: skip


def net_metered_kwh(networks: dict[str, Network], first: date, last: date) -> dict[str, float]:
    """Each consumer's net metered energy over [first, last] (kWh, never below zero): what
    the CIS bills under net metering."""
    days = _days(first, last)
    metered: dict[str, float] = {}
    for network in networks.values():
        for consumer in network.consumers:
            kwh = 0.0
            for day in days:
                meter_day = network.meter_day(consumer, day)
                kwh += sum(meter_day.imports) - sum(meter_day.exports)
            metered[consumer.number] = round(max(kwh, 0.0), 2)
    return metered


def billing_register(
    networks: dict[str, Network],
    metered: dict[str, float],
    first: date,
    last: date,
    *,
    wrong_unit: str | None = None,
) -> str:
    """The CIS's feeder-wise billing and collection register for [first, last] (CSV).

    Each consumer is billed their net metered energy (``metered``) at the category's energy charge;
    collections are drawn per consumer from the seed (most pay in full, some in part,
    a few not at all). ``wrong_unit`` names a feeder whose sub-division exported its
    units in Wh while the UOM column still says kWh: the slip a real export makes.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["CONSUMER_NO", "FEEDER_CODE", "BILL_FROM", "BILL_TO", "UNITS_BILLED",
                     "UOM", "AMOUNT_BILLED", "AMOUNT_COLLECTED"])  # fmt: skip
    for feeder, network in networks.items():
        for consumer in network.consumers:
            kwh = metered[consumer.number]
            amount = round(kwh * TARIFF_INR_PER_KWH.get(consumer.category, 7.0), 2)
            draw = random.Random(f"{network.seed}:{consumer.number}:collection").random()  # noqa: S311
            paid = 0.0 if draw < 0.04 else 0.5 if draw < 0.12 else 1.0
            units = kwh * 1000 if feeder == wrong_unit else kwh
            writer.writerow([consumer.number, feeder, first.isoformat(), last.isoformat(),
                             f"{units:.2f}", "kWh", f"{amount:.2f}",
                             f"{round(amount * paid, 2):.2f}"])  # fmt: skip
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class TotalReading:
    """One integrated-total reading as the SCADA historian exports it (counts)."""

    feeder: str
    direction: str  # import: substation -> feeder; export: the reverse
    at: datetime
    counter: int


def scada_totals(
    networks: dict[str, Network], first: date, last: date, *, gap_feeder: str | None = None
) -> list[TotalReading]:
    """The feeders' import and export registers at every 15-minute edge of [first, last],
    following each feeder's input (its meters plus technical and commercial losses).

    The first feeder's import register starts 500 kWh below its top, so it wraps inside
    the period; ``gap_feeder``'s RTU link was down for 45 minutes on the third day (three
    readings missing), which the feeder-energy port estimates across."""
    readings: list[TotalReading] = []
    for k, (feeder, network) in enumerate(networks.items()):
        counts = {"import": SCADA_MODULUS - 5000.0 if k == 0 else 123456.0, "export": 0.0}
        blocks: list[tuple[datetime, float]] = []
        for day in _days(first, last):
            feeder_day = network.feeder_day(day)
            blocks += [(day + i * network.step, kwh) for i, kwh in enumerate(feeder_day.input_kwh)]
        missing: set[datetime] = set()
        if feeder == gap_feeder and len(blocks) > 2 * 96 + 40:
            missing = {blocks[2 * 96 + 36 + j][0] for j in range(3)}

        for at, kwh in [*blocks, (blocks[-1][0] + network.step, 0.0)]:
            if at not in missing:
                readings += [TotalReading(feeder, direction, at, round(value) % SCADA_MODULUS)
                             for direction, value in counts.items()]  # fmt: skip
            counts["import" if kwh >= 0 else "export"] += abs(kwh) / SCADA_KWH_PER_COUNT
    return readings
