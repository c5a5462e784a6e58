"""Outage Notification, reliability indices and feeder energy from grid telemetry.

Breaker events (IEC 60870-5-104 through ``adapters.iec104``, the feeder-status
ingest, a discom's CSV) become interruptions; sustained ones become
OutageNotification v0.1 notices naming what was downstream at that instant, and
all of them feed the IEEE 1366 indices. Integrated totals give feeder energy input
(:class:`~protocol.outages.feeder_energy.ScadaFeederEnergy`, the FeederEnergySource
AT&C figures use) and power samples give DER visibility.
"""

from protocol.outages.detection import Detector, Policy
from protocol.outages.models import (
    BreakerEvent,
    Downstream,
    EnergyTotal,
    Flagged,
    LinkChange,
    Observation,
    PlannedOutage,
    Position,
    PowerSample,
    Quality,
    Source,
)
from protocol.outages.ports import FeederEventSource, NoticeDelivery, Subscriber, TopologyLookup

__all__ = [
    "BreakerEvent",
    "Detector",
    "Downstream",
    "EnergyTotal",
    "FeederEventSource",
    "Flagged",
    "LinkChange",
    "NoticeDelivery",
    "Observation",
    "PlannedOutage",
    "Policy",
    "Position",
    "PowerSample",
    "Quality",
    "Source",
    "Subscriber",
    "TopologyLookup",
]
