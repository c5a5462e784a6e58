"""The shapes telemetry takes once it is out of the wire protocol, and outage records.

Pure: dataclasses and enums over the standard library, nothing of HTTP, SQL or any
telemetry library. IEC 60870-5-104, the feeder-status ingest and a discom's CSV all
become these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# IEEE 1366-2012 §2: an interruption of five minutes or less is momentary.
MOMENTARY_THRESHOLD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Quality:
    """The quality descriptor of IEC 60870-5-101 §7.2.6.3 (QDS/SIQ/DIQ), by bit."""

    invalid: bool = False  # IV 0x80
    not_topical: bool = False  # NT 0x40
    substituted: bool = False  # SB 0x20
    blocked: bool = False  # BL 0x10
    overflow: bool = False  # OV 0x01 (measured values only)

    @classmethod
    def from_bits(cls, bits: int) -> Quality:
        return cls(
            invalid=bool(bits & 0x80),
            not_topical=bool(bits & 0x40),
            substituted=bool(bits & 0x20),
            blocked=bool(bits & 0x10),
            overflow=bool(bits & 0x01),
        )

    @property
    def bits(self) -> int:
        return (
            (0x80 if self.invalid else 0)
            | (0x40 if self.not_topical else 0)
            | (0x20 if self.substituted else 0)
            | (0x10 if self.blocked else 0)
            | (0x01 if self.overflow else 0)
        )

    @property
    def flags(self) -> tuple[str, ...]:
        names = (
            ("IV", self.invalid),
            ("NT", self.not_topical),
            ("SB", self.substituted),
            ("BL", self.blocked),
            ("OV", self.overflow),
        )
        return tuple(name for name, on in names if on)


GOOD = Quality()


class Position(StrEnum):
    """A breaker's position (double-point DPI; a single point maps to OPEN/CLOSED)."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    INTERMEDIATE = "INTERMEDIATE"
    INDETERMINATE = "INDETERMINATE"


class Source(StrEnum):
    """Where an observation came from (the notice's provenance.source)."""

    SCADA = "SCADA"
    AMI = "AMI"  # the feeder-status ingest: an AMISP's substation-meter DI port
    OMS = "OMS"  # a discom's outage CSV
    MANUAL = "MANUAL"


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """A feeder breaker's position at an instant (the RTU's time tag, timezone-aware)."""

    feeder: str
    position: Position
    at: datetime
    ref: str
    quality: Quality = GOOD
    source: Source = Source.SCADA
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class PowerSample:
    """Feeder active power (kW; negative when power flows back to the substation)."""

    feeder: str
    kw: float
    at: datetime
    ref: str
    quality: Quality = GOOD


@dataclass(frozen=True, slots=True)
class EnergyTotal:
    """An integrated total (a counter reading) of a feeder's energy register."""

    feeder: str
    counter: int
    at: datetime
    ref: str
    kwh_per_count: float = 1.0
    direction: str = "import"  # import: substation -> feeder; export: the reverse
    invalid: bool = False


Telemetry = BreakerEvent | PowerSample | EnergyTotal


@dataclass(frozen=True, slots=True)
class Flagged:
    """Something a source received and could not turn into telemetry, and why."""

    slug: str
    detail: str
    ref: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LinkChange:
    """A source's connection to its RTU went down or came back."""

    up: bool
    at: datetime
    detail: str


Observation = BreakerEvent | PowerSample | EnergyTotal | Flagged | LinkChange


@dataclass(frozen=True, slots=True)
class Downstream:
    """What sat below a feeder at one instant: its DTs, connections and meters."""

    feeder: str
    at: datetime
    transformers: tuple[str, ...]
    connections: tuple[str, ...]
    meters: tuple[str, ...]
    substation: str | None = None


class OutageKind(StrEnum):
    UNPLANNED = "UNPLANNED"
    PLANNED = "PLANNED"
    MOMENTARY = "MOMENTARY"


@dataclass(slots=True)
class Outage:
    """One interruption of a feeder, from trip (or planned start) to restoration."""

    id: str
    feeder: str
    kind: OutageKind
    started_at: datetime
    downstream: Downstream
    status: str = "ACTIVE"  # the notice's status: SCHEDULED ACTIVE RESTORED CANCELLED
    ended_at: datetime | None = None
    estimated_restoration: datetime | None = None
    planned_end: datetime | None = None
    detected_ref: str = ""
    source: Source = Source.SCADA
    reason: str = ""
    version: int = 0
    history: list[str] = field(default_factory=list)

    @property
    def customers(self) -> int:
        return len(self.downstream.connections)

    @property
    def duration(self) -> timedelta | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True, slots=True)
class PlannedOutage:
    """A shutdown from the discom's schedule (a row of its planned-outage CSV)."""

    feeder: str
    start: datetime
    end: datetime
    reason: str
    ref: str
    area: str = ""
