"""Which information object address (IOA) of an RTU carries what, per feeder.

A substation RTU exposes, per 11 kV feeder: the breaker status (single point
M_SP_TB_1 or double point M_DP_TB_1, both with a CP56Time2a time tag), active
power (short float M_ME_TF_1, kW) and the import and export energy registers
(integrated totals M_IT_TB_1, counts of ``kwh_per_count``). The discom's SCADA
point list says which IOA is which; :func:`standard_map` lays feeders out at
a fixed stride for the simulator and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PointKind(StrEnum):
    BREAKER_SINGLE = "breaker-single"  # M_SP: 1 = closed
    BREAKER_DOUBLE = "breaker-double"  # M_DP: 10 = closed (ON), 01 = open (OFF)
    ACTIVE_POWER = "active-power"  # M_ME_NC/TF: kW, negative for reverse flow
    ENERGY_IMPORT = "energy-import"  # M_IT: substation -> feeder
    ENERGY_EXPORT = "energy-export"  # M_IT: feeder -> substation


@dataclass(frozen=True, slots=True)
class PointSpec:
    feeder: str
    kind: PointKind
    kwh_per_count: float = 0.1


@dataclass(frozen=True, slots=True)
class FeederPoints:
    feeder: str
    breaker: int
    power: int
    energy_import: int
    energy_export: int
    double_point: bool = False


PointMap = dict[int, PointSpec]

STRIDE = 10
BASE = 1000


def layout(feeders: list[str], *, double_point: frozenset[str] = frozenset()) -> list[FeederPoints]:
    return [
        FeederPoints(
            feeder=f,
            breaker=BASE + STRIDE * n,
            power=BASE + STRIDE * n + 1,
            energy_import=BASE + STRIDE * n + 2,
            energy_export=BASE + STRIDE * n + 3,
            double_point=f in double_point,
        )
        for n, f in enumerate(feeders)
    ]


def standard_map(
    feeders: list[str], *, double_point: frozenset[str] = frozenset(), kwh_per_count: float = 0.1
) -> PointMap:
    points: PointMap = {}
    for fp in layout(feeders, double_point=double_point):
        kind = PointKind.BREAKER_DOUBLE if fp.double_point else PointKind.BREAKER_SINGLE
        points[fp.breaker] = PointSpec(fp.feeder, kind)
        points[fp.power] = PointSpec(fp.feeder, PointKind.ACTIVE_POWER)
        points[fp.energy_import] = PointSpec(fp.feeder, PointKind.ENERGY_IMPORT, kwh_per_count)
        points[fp.energy_export] = PointSpec(fp.feeder, PointKind.ENERGY_EXPORT, kwh_per_count)
    return points
