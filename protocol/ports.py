"""Ports the protocol flows (loss figures, regulatory filings) read through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FeederEnergy:
    """Energy into a feeder and what its consumers' meters recorded over a period (kWh).

    AT&C-style losses follow: ``input_kwh - billed_kwh`` over ``input_kwh``.
    """

    feeder: str
    start: datetime
    end: datetime
    input_kwh: float
    billed_kwh: float
    export_kwh: float
    meters: int

    @property
    def loss_kwh(self) -> float:
        return self.input_kwh - self.billed_kwh

    @property
    def loss_ratio(self) -> float:
        return self.loss_kwh / self.input_kwh if self.input_kwh else 0.0


class FeederEnergySource(Protocol):
    """Feeder input (from the substation meter or SCADA) and billed energy below it."""

    def feeder_energy(self, feeder: str, start: datetime, end: datetime) -> FeederEnergy: ...
