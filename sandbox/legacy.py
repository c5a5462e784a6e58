"""The legacy systems of the sandbox's discoms: CIS extracts in each discom's own format.

A real discom hands the stack an export from its billing system; the sandbox writes
one from the synthetic network (``adapters.synthetic``) in exactly the layout the
discom's mapping file describes, so the CIS adapter reads it as it would a real one.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from adapters.cis import CisMapping
from adapters.synthetic import Consumer, Network

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
