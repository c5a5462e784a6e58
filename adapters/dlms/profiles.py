"""IS 15959 profile-generic objects and the decoding of their buffers into rows.

A profile-generic object (COSEM class 7) returns its ``buffer`` (attribute 2) as an
array of structures, one per captured row, whose columns follow its
``capture_objects`` (attribute 3). IS 15959 Part 2 ships each profile's scalers as a
separate "scaler profile" (1.0.94.91.4.255 for the block load profile ...): a
structure of ``scaler_unit`` pairs in the same column order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from adapters.dlms import axdr
from adapters.errors import DlmsDecodeError, ProfileShapeError
from schemas import obis


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """One column: the COSEM object (class id, logical name, attribute) it captures."""

    class_id: int
    obis: str
    attribute: int = 2


@dataclass(frozen=True, slots=True)
class ProfileObject:
    """A profile-generic object: its logical name, scaler profile and capture objects."""

    obis: str
    scaler_obis: str
    capture: tuple[CaptureObject, ...]


CLOCK = CaptureObject(8, obis.CLOCK)

# IS 15959 Part 2 (single-phase whole-current smart meter), block load profile: clock,
# average voltage, block energy import and export; captured every 15 or 30 minutes.
BLOCK_LOAD = ProfileObject(
    obis.BLOCK_LOAD_PROFILE,
    "1.0.94.91.4.255",
    (
        CLOCK,
        CaptureObject(3, "1.0.12.27.0.255"),
        CaptureObject(3, obis.KWH_IMPORT_BLOCK),
        CaptureObject(3, obis.KWH_EXPORT_BLOCK),
    ),
)
# Daily load profile: the cumulative registers at midnight.
DAILY_LOAD = ProfileObject(
    obis.DAILY_LOAD_PROFILE,
    "1.0.94.91.5.255",
    (
        CLOCK,
        CaptureObject(3, obis.KWH_IMPORT),
        CaptureObject(3, obis.KWH_EXPORT),
        CaptureObject(3, obis.KVAH_IMPORT),
    ),
)
# Billing profile: billing date, cumulative registers, the ToD zones and maximum demand.
BILLING = ProfileObject(
    obis.BILLING_PROFILE,
    "1.0.94.91.6.255",
    (
        CaptureObject(3, "0.0.0.1.2.255"),
        CaptureObject(3, obis.KWH_IMPORT),
        CaptureObject(3, obis.KWH_EXPORT),
        *(CaptureObject(3, f"1.0.1.8.{zone}.255") for zone in range(1, 5)),
        CaptureObject(4, obis.MD_KW),
    ),
)


def event_log(compartment: int) -> ProfileObject:
    """One of the seven IS 15959 event logs (0.0.99.98.n.255): clock and event code."""
    return ProfileObject(
        f"0.0.99.98.{compartment}.255",
        "1.0.94.91.7.255",
        (CLOCK, CaptureObject(1, f"0.0.96.11.{compartment}.255")),
    )


PROFILES: dict[str, ProfileObject] = {
    p.obis: p for p in (BLOCK_LOAD, DAILY_LOAD, BILLING, *(event_log(n) for n in range(7)))
}
PROFILES["0.0.98.1.0.255"] = BILLING  # the IES code list's spelling (schemas.obis.ALIASES)

# DLMS unit enumeration (Blue Book 4.3.2) for what these profiles capture.
UNIT_WH = 30
UNIT_VAH = 31
UNIT_W = 27
UNIT_V = 35
UNIT_NONE = 255


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    scaler: int
    unit: int

    def kilo(self, raw: int | float) -> float:
        """The value in the MeterData unit: kWh/kVAh/kW for energy and power, else as is."""
        value = raw * 10.0**self.scaler
        return value / 1000.0 if self.unit in (UNIT_WH, UNIT_VAH, UNIT_W) else value


@dataclass(frozen=True, slots=True)
class Row:
    """One decoded buffer row: its capture time and the scaled values of the other columns."""

    index: int
    captured_at: datetime
    values: tuple[float, ...]


def parse_scalers(buffer: bytes, profile: ProfileObject) -> tuple[ScalerUnit, ...]:
    """The scaler profile's ``scaler_unit`` pairs, one per non-clock column."""
    decoded = axdr.decode(buffer)
    rows = decoded if isinstance(decoded, list) else [decoded]
    if len(rows) != 1 or not isinstance(rows[0], tuple):
        raise ProfileShapeError("a scaler profile holds one structure", profile=profile.obis)
    units: list[ScalerUnit] = []
    for column, pair in enumerate(rows[0]):
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in pair)
        ):
            raise ProfileShapeError(
                f"scaler column {column} is not a scaler_unit structure", profile=profile.obis
            )
        scaler, unit = pair
        assert isinstance(scaler, int)
        assert isinstance(unit, int)
        units.append(ScalerUnit(scaler, unit))
    if len(units) != len(profile.capture) - 1:
        raise ProfileShapeError(
            f"{len(units)} scalers for {len(profile.capture) - 1} value columns",
            profile=profile.obis,
        )
    return tuple(units)


def iter_rows(
    buffer: bytes,
    profile: ProfileObject,
    scalers: Sequence[ScalerUnit],
    zone: timezone,
) -> Iterator[Row]:
    """Decode a profile buffer row by row (a day of 96 rows is never held twice)."""
    if not buffer or buffer[0] != axdr.ARRAY:
        raise DlmsDecodeError("a profile buffer is an array", offset=0)
    count, position = axdr._length(buffer, 1)
    width = len(profile.capture)
    for index in range(count):
        start = position
        row, position = axdr.decode_at(buffer, position, 1)
        if not isinstance(row, tuple) or len(row) != width:
            raise ProfileShapeError(
                f"row {index} at byte {start} has "
                f"{len(row) if isinstance(row, tuple) else 'no'} columns, {width} expected",
                profile=profile.obis,
                row=index,
                offset=start,
            )
        stamp = row[0]
        if not isinstance(stamp, bytes):
            raise ProfileShapeError(
                f"row {index} at byte {start}: column 0 is not a date-time",
                profile=profile.obis,
                row=index,
                offset=start,
            )
        values: list[float] = []
        for column in range(1, width):
            raw = row[column]
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                raise ProfileShapeError(
                    f"row {index} at byte {start}: column {column} is not a number",
                    profile=profile.obis,
                    row=index,
                    offset=start,
                )
            values.append(scalers[column - 1].kilo(raw))
        yield Row(index, axdr.parse_date_time(stamp, zone, offset=start), tuple(values))
    if position != len(buffer):
        raise DlmsDecodeError(f"{len(buffer) - position} byte(s) after the buffer", offset=position)
