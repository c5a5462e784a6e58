"""OutageNotification v0.1 documents and their lifecycle (pure).

A notice keeps its ``id`` for life; the first message is an ALERT, every later one
an UPDATE that ``references`` it (OASIS CAP 1.2 msgType/references), ending with
status RESTORED and ``timing.actualRestoration``, or CANCELLED. Affected assets are
the feeder, the DTs below it and every connection (SERVICE_POINT) below them as of
the outage's start, resolved from the registry's topology history; the customer
count (IEEE 1366 Nᵢ) is the number of those connections.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from protocol.outages.models import Outage, OutageKind

NAMESPACE = "ies:outages"
CONTEXT_URL = (
    "https://india-energy-stack.github.io/ies-accelerator/schemas/"
    "OutageNotification/v0.1/context.jsonld"
)


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


# ------------------------------------------------------------------ the shape a receiver checks


class _Open(BaseModel):
    # Open like the official schema (no additionalProperties: false): members we do not
    # model are kept, the ones we do are checked.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


Scheme = Literal[
    "METER_SERIAL", "MRID", "GIS_FEATURE_ID", "SERVICE_DELIVERY_POINT", "FEEDER",
    "SUBSTATION", "DT", "CONSUMER_NUMBER", "ORG", "DID", "OTHER",
]  # fmt: skip


class NoticeIdentifier(_Open):
    scheme: Scheme
    value: str
    namespace: str | None = None


class NoticeAsset(_Open):
    id: NoticeIdentifier
    asset_level: Literal["SUBSTATION", "FEEDER", "DT", "LINE_SEGMENT", "SERVICE_POINT"] = Field(
        alias="assetLevel"
    )
    parent_ref: NoticeIdentifier | None = Field(default=None, alias="parentRef")


_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)


def _iso_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not an ISO 8601 duration")
    return value


class NoticePeriod(_Open):
    start: AwareDatetime
    duration: Annotated[str, AfterValidator(_iso_duration)]


class NoticeTiming(_Open):
    period: NoticePeriod
    estimated_restoration: AwareDatetime | None = Field(default=None, alias="estimatedRestoration")
    actual_restoration: AwareDatetime | None = Field(default=None, alias="actualRestoration")


class NoticeParty(_Open):
    id: NoticeIdentifier | None = None
    name: str | None = None


class OutageNotice(_Open):
    """OutageNotification v0.1 as a subscriber checks it: the members the schema
    requires (objectType, id, outageClass, status, affectedAssets, timing) with their
    enums, and the ones a subscriber acts on (msgType, references, issuedBy, timing).
    Tests hold this model against the official schema both ways (the official
    examples pass it; what the stack emits passes the official schema)."""

    object_type: Literal["OUTAGE_NOTIFICATION"] = Field(alias="objectType")
    id: NoticeIdentifier
    outage_class: Literal["PLANNED", "BREAKDOWN", "SCHEDULED_ROSTERING", "EMERGENCY_ROSTERING"] = (
        Field(alias="outageClass")
    )
    status: Literal["SCHEDULED", "ACTIVE", "PARTIALLY_RESTORED", "RESTORED", "CANCELLED"]
    msg_type: Literal["ALERT", "UPDATE", "CANCEL"] = Field(default="ALERT", alias="msgType")
    references: list[NoticeIdentifier] | None = None
    issued_by: NoticeParty | None = Field(default=None, alias="issuedBy")
    issued_at: AwareDatetime | None = Field(default=None, alias="issuedAt")
    affected_assets: list[NoticeAsset] = Field(alias="affectedAssets", min_length=1)
    timing: NoticeTiming

    def service_points(self) -> set[str]:
        return {a.id.value for a in self.affected_assets if a.asset_level == "SERVICE_POINT"}
