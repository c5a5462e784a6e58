"""Ports the consent layer fetches consented meter data through; adapters implement them.

Each returns MeterData v0.6 profiles (``schemas.meterdata``) for one meter and period,
so what a consented fetch hands over is already in the exchange's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from schemas.meterdata import EnergyData


class IntervalDataSource(Protocol):
    """Block load survey (15/30-minute) data: a descriptor profile and INTERVAL profiles."""

    def interval_data(
        self, meter_serial: str, start: datetime, end: datetime
    ) -> Sequence[EnergyData]: ...


class BillingDataSource(Protocol):
    """Daily registers and billing-period (MONTHLY) profiles."""

    def billing_data(
        self, meter_serial: str, start: datetime, end: datetime
    ) -> Sequence[EnergyData]: ...


class EventSource(Protocol):
    """IS 15959 event logs (power, tamper, control ...) as EVENT profiles."""

    def events(self, meter_serial: str, start: datetime, end: datetime) -> Sequence[EnergyData]: ...
