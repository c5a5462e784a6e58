"""The feeder-status ingest of the IES outage pipeline (``POST /feeder-status``).

The wire shape is the IES FeederStatusIngest contract v0.1: an AMISP pushes a batch
of events derived from a substation meter's digital-input port; each has a client
``eventId`` for de-duplication and a named status. Each event becomes a
:class:`BreakerEvent` (DE_ENERGIZED = the feeder breaker open), and the per-item
result says OK, DUPLICATE or REJECTED with an error code.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from protocol.outages.models import BreakerEvent, Position, Source


class FeederStatusEvent(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    eventId: str = Field(min_length=1, max_length=200)  # noqa: N815 - the wire's own names
    discomCode: str = Field(min_length=1, max_length=32)  # noqa: N815
    substationCode: str | None = Field(default=None, max_length=64)  # noqa: N815
    amispCode: str = Field(min_length=1, max_length=64)  # noqa: N815
    feederCode: str = Field(min_length=1, max_length=64)  # noqa: N815
    feederStatus: Literal["ENERGIZED", "DE_ENERGIZED", "UNKNOWN"]  # noqa: N815
    rawStatus: dict[str, Any] | None = None  # noqa: N815
    eventTimestamp: AwareDatetime = Field(strict=False)  # RFC 3339 text on the wire  # noqa: N815
    diPort: str | None = Field(default=None, max_length=16)  # noqa: N815
    outageRef: str | None = Field(default=None, max_length=200)  # noqa: N815


class ItemResult(BaseModel):
    eventId: str  # noqa: N815
    status: Literal["OK", "DUPLICATE", "REJECTED"]
    errorCode: str | None = None  # noqa: N815
    detail: str | None = None


class IngestResult(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemResult]


class NormalisedStatus:
    """The default mapping: the event's own named status."""

    def status(self, feeder_status: str, raw: dict[str, Any]) -> str:
        return feeder_status


def breaker_event(event: FeederStatusEvent, feeder: str, status: str) -> BreakerEvent:
    position = {
        "DE_ENERGIZED": Position.OPEN,
        "ENERGIZED": Position.CLOSED,
    }.get(status, Position.INDETERMINATE)
    raw = event.rawStatus or {}
    return BreakerEvent(
        feeder=feeder,
        position=position,
        at=event.eventTimestamp,
        ref=f"feeder-status:{event.amispCode}:{event.eventId}",
        source=Source.AMI,
        raw=",".join(f"{k}={v}" for k, v in sorted(raw.items())) or None,
    )


class SeenEvents:
    """Event ids already taken in (bounded, most recent kept): replays are DUPLICATE."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[str, datetime] = OrderedDict()

    def seen(self, key: str) -> bool:
        return key in self._seen

    def add(self, key: str, at: datetime) -> None:
        self._seen[key] = at
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
