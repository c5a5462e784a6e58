"""The ports the outage flow reads and writes through; adapters implement them.

``FeederEventSource`` is what an IEC 60870-5-104 client (adapters.iec104) or any
other SCADA feed offers; ``TopologyLookup`` answers "what was downstream of feeder F
at instant T" (the registry); ``NoticeDelivery`` carries a signed notice to one
subscriber; ``MeteredEnergySource`` gives what the consumers' meters recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from protocol.outages.models import Downstream, Observation


class FeederEventSource(Protocol):
    """Observations from the field, in arrival order."""

    def poll(self, timeout: float) -> Sequence[Observation]:
        """What arrived since the last call, waiting up to ``timeout`` s for the first."""
        ...

    def close(self) -> None: ...


class TopologyLookup(Protocol):
    def downstream(self, feeder: str, at: datetime) -> Downstream:
        """DTs, connections and meters below ``feeder`` at ``at`` (UnknownFeeder if none)."""
        ...

    def feeders_of(self, discom: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Who hears about outages: a consent manager's consumer channel, an app, a regulator."""

    id: str
    role: str  # consumer_channel | app | regulator
    url: str
    feeders: tuple[str, ...] = ()  # empty: every feeder


@dataclass(frozen=True, slots=True)
class Receipt:
    subscriber: str
    status: int
    delivered: bool
    detail: str = ""


class NoticeDelivery(Protocol):
    def deliver(self, subscriber: Subscriber, notice: dict[str, Any]) -> Receipt: ...


@dataclass(frozen=True, slots=True)
class Metered:
    billed_kwh: float
    export_kwh: float
    meters: int


class MeteredEnergySource(Protocol):
    """What the meters below a feeder recorded over a period (from the MDM/HES)."""

    def metered(self, feeder: str, start: datetime, end: datetime) -> Metered: ...


class FeederCodes(Protocol):
    """A discom's feeder code (its SCADA tag) -> the feeder's IES identity."""

    def resolve_feeder(self, code: str, scope: str, at: datetime) -> str: ...


class FeederStatusMapping(Protocol):
    """A feeder-status event's vendor codes -> ENERGIZED / DE_ENERGIZED / UNKNOWN."""

    def status(self, feeder_status: str, raw: dict[str, Any]) -> str: ...
