"""A smart meter that answers with the exact A-XDR bytes an IS 15959 meter sends.

It keeps block energy in whole Wh (scaler 0, unit Wh) and registers in Wh, as the
companion specification's single-phase meters do, so decoded values are exact to the
watt-hour. Tests feed it faults (cut-short buffers, a clock that goes backwards,
duplicate rows) to prove the reading side reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.dlms import axdr
from adapters.dlms.profiles import (
    BILLING,
    BLOCK_LOAD,
    DAILY_LOAD,
    UNIT_NONE,
    UNIT_V,
    UNIT_VAH,
    UNIT_W,
    UNIT_WH,
    event_log,
)


def _scalers(pairs: Sequence[tuple[int, int]]) -> bytes:
    out = bytearray()
    axdr.encode(
        [tuple((axdr.Typed(axdr.INTEGER, s), axdr.Typed(axdr.ENUM, u)) for s, u in pairs)], out
    )
    return bytes(out)


BLOCK_LOAD_SCALERS = _scalers([(-1, UNIT_V), (0, UNIT_WH), (0, UNIT_WH)])
DAILY_LOAD_SCALERS = _scalers([(0, UNIT_WH), (0, UNIT_WH), (0, UNIT_VAH)])
BILLING_SCALERS = _scalers([*[(0, UNIT_WH)] * 6, (0, UNIT_W)])
EVENT_SCALERS = _scalers([(0, UNIT_NONE)])


def _stamp(moment: datetime) -> axdr.Typed:
    return axdr.Typed(axdr.OCTET_STRING, axdr.date_time_bytes(moment))


@dataclass(frozen=True, slots=True)
class Block:
    """One load-survey block as the meter records it: end time and its Wh increments."""

    at: datetime
    import_wh: int
    export_wh: int
    voltage_dv: int = 2300  # average voltage in decivolts (scaler -1)


def block_load_buffer(blocks: Sequence[Block]) -> bytes:
    """The buffer of the block load profile (1.0.99.1.0.255) holding ``blocks``."""
    out = bytearray()
    axdr.encode(
        [
            (
                _stamp(b.at),
                axdr.Typed(axdr.LONG_UNSIGNED, b.voltage_dv),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, b.import_wh),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, b.export_wh),
            )
            for b in blocks
        ],
        out,
    )
    return bytes(out)


def daily_load_buffer(rows: Sequence[tuple[datetime, int, int, int]]) -> bytes:
    """Daily load profile (1.0.99.2.0.255): midnight, kWh imp/exp and kVAh imp in Wh/VAh."""
    out = bytearray()
    axdr.encode(
        [
            (
                _stamp(at),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, imp),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, exp),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, kvah),
            )
            for at, imp, exp, kvah in rows
        ],
        out,
    )
    return bytes(out)


def billing_buffer(rows: Sequence[tuple[datetime, int, int, Sequence[int], int]]) -> bytes:
    """Billing profile (1.0.98.1.0.255): date, kWh imp/exp, four ToD zones, MD in W."""
    out = bytearray()
    axdr.encode(
        [
            (
                _stamp(at),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, imp),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, exp),
                *(axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, z) for z in zones),
                axdr.Typed(axdr.DOUBLE_LONG_UNSIGNED, md_w),
            )
            for at, imp, exp, zones, md_w in rows
        ],
        out,
    )
    return bytes(out)


def event_buffer(rows: Sequence[tuple[datetime, int]]) -> bytes:
    """An event log (0.0.99.98.n.255): clock and IS 15959 event code per row."""
    out = bytearray()
    axdr.encode([(_stamp(at), axdr.Typed(axdr.LONG_UNSIGNED, code)) for at, code in rows], out)
    return bytes(out)


def blocks_from_kwh(
    start: datetime, step: timedelta, imports: Sequence[float], exports: Sequence[float]
) -> list[Block]:
    """Blocks stamped at each interval's end (IS 15959 captures at the block's close)."""
    return [
        Block(start + step * (i + 1), round(imp * 1000), round(exp * 1000))
        for i, (imp, exp) in enumerate(zip(imports, exports, strict=True))
    ]


PROFILE_SCALERS = {
    BLOCK_LOAD.obis: BLOCK_LOAD_SCALERS,
    DAILY_LOAD.obis: DAILY_LOAD_SCALERS,
    BILLING.obis: BILLING_SCALERS,
    **{event_log(n).obis: EVENT_SCALERS for n in range(7)},
}
