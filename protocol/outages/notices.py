"""OutageNotification v0.1 documents and their lifecycle (pure).

A notice keeps its ``id`` for life; the first message is an ALERT, every later one
an UPDATE that ``references`` it (OASIS CAP 1.2 msgType/references), ending with
status RESTORED and ``timing.actualRestoration``, or CANCELLED. Affected assets are
the feeder, the DTs below it and every connection (SERVICE_POINT) below them as of
the outage's start, resolved from the registry's topology history; the customer
count (IEEE 1366 Nᵢ) is the number of those connections.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from protocol.outages.models import Outage, OutageKind

NAMESPACE = "ies:outages"


def iso_duration(delta: timedelta) -> str:
    """ISO 8601 duration (PT…H…M…S) of a non-negative timedelta."""
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def _ident(scheme: str, value: str) -> dict[str, str]:
    return {"scheme": scheme, "value": value, "namespace": "ies"}


def notification(
    outage: Outage,
    *,
    issuer: str,
    issuer_name: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """The current state of ``outage`` as an OutageNotification document."""
    planned = outage.kind is OutageKind.PLANNED
    end = outage.ended_at or outage.planned_end or outage.estimated_restoration
    duration = (end - outage.started_at) if end is not None else timedelta(0)
    down = outage.downstream
    assets: list[dict[str, Any]] = [
        {
            "id": _ident("FEEDER", outage.feeder),
            "assetLevel": "FEEDER",
            "voltageLevel": "11kV",
            **({"parentRef": _ident("SUBSTATION", down.substation)} if down.substation else {}),
        }
    ]
    assets += [
        {"id": _ident("DT", dt), "assetLevel": "DT", "parentRef": _ident("FEEDER", outage.feeder)}
        for dt in down.transformers
    ]
    assets += [
        {"id": _ident("SERVICE_DELIVERY_POINT", c), "assetLevel": "SERVICE_POINT"}
        for c in down.connections
    ]
    timing: dict[str, Any] = {
        "period": {"start": outage.started_at.isoformat(), "duration": iso_duration(duration)}
    }
    if outage.estimated_restoration is not None:
        timing["estimatedRestoration"] = outage.estimated_restoration.isoformat()
    if outage.ended_at is not None and outage.status == "RESTORED":
        timing["actualRestoration"] = outage.ended_at.isoformat()
    document: dict[str, Any] = {
        "objectType": "OUTAGE_NOTIFICATION",
        "id": {"scheme": "OTHER", "value": outage.id, "namespace": NAMESPACE},
        "outageClass": "PLANNED" if planned else "BREAKDOWN",
        "status": outage.status,
        "msgType": "ALERT" if outage.version == 0 else "UPDATE",
        "category": "MAINTENANCE" if planned else "FAULT",
        "cause": (
            {"category": "PLANNED", "subcategory": "MAINTENANCE", "text": outage.reason}
            if planned
            else {"category": "UNKNOWN", "subcategory": "NO_SPECIFIC_CAUSE_FOUND"}
        ),
        "issuedBy": {"id": {"scheme": "DID", "value": issuer}, "name": issuer_name},
        "issuedAt": issued_at.isoformat(),
        "lastUpdatedAt": issued_at.isoformat(),
        "affectedAssets": assets,
        "impact": {
            "customersAffected": outage.customers,
            "deEnergized": [_ident("SERVICE_DELIVERY_POINT", c) for c in down.connections],
        },
        "timing": timing,
        "provenance": {"source": outage.source.value},
    }
    if outage.version:
        document["references"] = [document["id"]]
    if not planned:
        document["detectedAt"] = outage.started_at.isoformat()
        document["severity"] = "SEVERE" if outage.status == "ACTIVE" else "MINOR"
        if outage.detected_ref:
            document["provenance"]["detectionRef"] = {
                "scheme": "OTHER",
                "value": outage.detected_ref,
            }
    if outage.reason and not planned:
        document["cause"]["text"] = outage.reason
    return document
