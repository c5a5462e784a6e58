"""A discom's CIS billing register: what each consumer was billed and paid for a period,
summed per feeder for the energy account behind an ARR filing (pure).

The register is the CIS's feeder-wise billing and collection extract (the report an
energy audit starts from): one row per consumer bill, with the feeder the consumer is
fed from, the units billed and the unit of measure the CIS wrote, the amount billed
and the amount collected against it. Units are normalised to kWh here; a value in the
wrong unit under a right-looking label is not detectable from one row, which is why
the regulator balances each feeder's billing against its input energy.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from adapters.errors import CisColumnsMissing, CisRowInvalid

COLUMNS = (
    "CONSUMER_NO",
    "FEEDER_CODE",
    "BILL_FROM",
    "BILL_TO",
    "UNITS_BILLED",
    "UOM",
    "AMOUNT_BILLED",
    "AMOUNT_COLLECTED",
)
TO_KWH = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}


@dataclass(frozen=True, slots=True)
class FeederBilling:
    """A feeder's billing for the period: kWh and rupees, over ``bills`` bills."""

    feeder: str
    billed_kwh: float
    billed_inr: float
    collected_inr: float
    bills: int


def _number(text: str, line: int, column: str, file: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CisRowInvalid(
            f"{file}:{line}: {column} is not a number", file=file, line=line, column=column
        ) from None
    if not value >= 0 or value == float("inf"):
        raise CisRowInvalid(
            f"{file}:{line}: {column} must be a finite number >= 0",
            file=file,
            line=line,
            column=column,
        )
    return value


def read_register(text: str, file: str = "billing-register.csv") -> list[FeederBilling]:
    """Per-feeder totals of the register, feeders in the order they first appear;
    every bad row is reported with its line, the first one raised."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CisColumnsMissing(f"{file}: the header lacks {missing}", file=file, missing=missing)
    totals: dict[str, list[float]] = {}
    for line, row in enumerate(reader, start=2):
        feeder = (row["FEEDER_CODE"] or "").strip()
        if not feeder:
            raise CisRowInvalid(
                f"{file}:{line}: no FEEDER_CODE", file=file, line=line, column="FEEDER_CODE"
            )
        unit = (row["UOM"] or "").strip()
        if unit not in TO_KWH:
            raise CisRowInvalid(
                f"{file}:{line}: UOM {unit!r} is not one of {sorted(TO_KWH)}",
                file=file,
                line=line,
                column="UOM",
            )
        kwh = _number(row["UNITS_BILLED"], line, "UNITS_BILLED", file) * TO_KWH[unit]
        billed = _number(row["AMOUNT_BILLED"], line, "AMOUNT_BILLED", file)
        collected = _number(row["AMOUNT_COLLECTED"], line, "AMOUNT_COLLECTED", file)
        entry = totals.setdefault(feeder, [0.0, 0.0, 0.0, 0.0])
        entry[0] += kwh
        entry[1] += billed
        entry[2] += collected
        entry[3] += 1
    return [
        FeederBilling(feeder, round(k, 3), round(b, 2), round(c, 2), int(n))
        for feeder, (k, b, c, n) in totals.items()
    ]
