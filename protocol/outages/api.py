"""HTTP edge of the outage flow: feeder-status ingest, notices, subscriptions, indices."""

from __future__ import annotations

import hmac
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kernel.problems import Problem, problem_responses
from protocol.outages.errors import FeederEnergyNotFound, OutageProblem
from protocol.outages.feeder_energy import ScadaFeederEnergy
from protocol.outages.ingest import (
    FeederStatusEvent,
    IngestResult,
    ItemResult,
    breaker_event,
)
from protocol.outages.models import PlannedOutage
from protocol.outages.ports import Subscriber
from protocol.outages.service import OutageMonitor

router = APIRouter(tags=["outages"], responses=problem_responses(401, 404, 422))


class Unauthorised(Problem):
    slug = "feeder-status-unauthorised"
    title = "The feeder-status push lacks a valid bearer token"
    status = 401
    beckn_code = "40100"
    description = "FeederStatusIngest v0.1: AMISPs authenticate with a bearer token."


def _monitor(request: Request) -> OutageMonitor:
    monitor: OutageMonitor = request.app.state.monitor
    return monitor


@router.post("/feeder-status", response_model=IngestResult, summary="Push feeder-status events")
def push_feeder_status(
    events: Annotated[list[FeederStatusEvent], Field(min_length=1, max_length=5000)],
    request: Request,
    discom_code: Annotated[str, Header(alias="discomCode", min_length=1, max_length=32)],
    authorization: Annotated[str | None, Header(max_length=500)] = None,
) -> IngestResult:
    token: str | None = request.app.state.ingest_token
    if token and not hmac.compare_digest(authorization or "", f"Bearer {token}"):
        raise Unauthorised("send Authorization: Bearer <token>")
    monitor = _monitor(request)
    state = request.app.state
    results: list[ItemResult] = []
    accepted = rejected = 0
    for event in events:
        key = f"{event.amispCode}:{event.eventId}"
        if state.seen.seen(key):
            results.append(ItemResult(eventId=event.eventId, status="DUPLICATE"))
            continue
        try:
            if event.discomCode != discom_code:
                raise OutageProblem(
                    f"the event is for discom {event.discomCode}, the push for {discom_code}"
                )
            feeder = state.codes.resolve_feeder(
                event.feederCode, event.discomCode, event.eventTimestamp
            )
            status = state.mapping.status(event.feederStatus, event.rawStatus or {})
            report = monitor.ingest([breaker_event(event, feeder, status)])
            if report.refused:
                raise report.refused[0]
        except OutageProblem as problem:
            rejected += 1
            code = problem.slug.upper().replace("-", "_")
            if problem.slug == "outage-unknown-feeder":
                code = "UNKNOWN_FEEDER"
            results.append(
                ItemResult(
                    eventId=event.eventId, status="REJECTED", errorCode=code, detail=problem.detail
                )
            )
            continue
        state.seen.add(key, event.eventTimestamp)
        accepted += 1
        results.append(ItemResult(eventId=event.eventId, status="OK"))
    return IngestResult(accepted=accepted, rejected=rejected, results=results)


class PlannedBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    feeder: str = Field(min_length=1, max_length=64)
    start: AwareDatetime = Field(strict=False)
    end: AwareDatetime = Field(strict=False)
    reason: str = Field(default="", max_length=500)
    ref: str = Field(min_length=1, max_length=200)


@router.post("/outages/planned", summary="Announce shutdowns from the discom's schedule")
def plan(items: list[PlannedBody], request: Request) -> list[dict[str, Any]]:
    planned = [PlannedOutage(i.feeder, i.start, i.end, i.reason, i.ref) for i in items]
    return _monitor(request).schedule(planned)


@router.get("/outages", summary="Outage notices, newest state of each")
def list_outages(
    request: Request,
    feeder: str | None = Query(default=None, max_length=64),
    status: Literal["SCHEDULED", "ACTIVE", "RESTORED", "CANCELLED"] | None = None,
) -> list[dict[str, Any]]:
    rows = _monitor(request).store.notices(feeder=feeder, status=status)
    return [r.document for r in rows if r.document is not None]


@router.get("/outages/{notice_id}", summary="One outage notice")
def get_outage(notice_id: str, request: Request) -> dict[str, Any]:
    return _monitor(request).notice(notice_id)


class SubscriptionBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    id: str = Field(min_length=1, max_length=255)
    role: Literal["consumer_channel", "app", "regulator"]
    url: str = Field(pattern=r"^https?://", max_length=2000)
    feeders: list[str] = Field(default_factory=list, max_length=10_000)


@router.post("/outage-subscriptions", status_code=201, summary="Subscribe to outage notices")
def subscribe(body: SubscriptionBody, request: Request) -> SubscriptionBody:
    _monitor(request).subscribe(Subscriber(body.id, body.role, body.url, tuple(body.feeders)))
    return body


class IndicesBody(BaseModel):
    customers_served: int
    customers_interrupted: int
    customer_minutes: float
    saifi: float
    saidi: float
    caidi: float
    maifi: float


class ReliabilityBody(BaseModel):
    feeders: list[str]
    start: datetime
    end: datetime
    all_days: IndicesBody
    excluding_major_events: IndicesBody
    major_event_days: list[str]
    t_med: float | None


@router.get("/reliability", response_model=ReliabilityBody, summary="IEEE 1366 indices")
def reliability(
    request: Request,
    start: AwareDatetime,
    end: AwareDatetime,
    feeder: Annotated[list[str] | None, Query(max_length=10_000)] = None,
    discom: str | None = Query(default=None, max_length=32),
) -> ReliabilityBody:
    monitor = _monitor(request)
    feeders = list(feeder or [])
    if discom:
        feeders += monitor.topology.feeders_of(discom)
    if not feeders:
        raise OutageProblem("name at least one feeder or a discom")
    report = monitor.reliability(feeders, start, end)

    def body(i: Any) -> IndicesBody:
        return IndicesBody(
            customers_served=i.customers_served,
            customers_interrupted=i.customers_interrupted,
            customer_minutes=i.customer_minutes,
            saifi=i.saifi,
            saidi=i.saidi,
            caidi=i.caidi,
            maifi=i.maifi,
        )

    return ReliabilityBody(
        feeders=feeders,
        start=start,
        end=end,
        all_days=body(report.all_days),
        excluding_major_events=body(report.excluding_major_events),
        major_event_days=[d.isoformat() for d in report.major_event_days],
        t_med=report.t_med,
    )


# ------------------------------------------------------------------ feeder energy

IST = timezone(timedelta(hours=5, minutes=30), "IST")
FeederId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class IntervalBody(BaseModel):
    start: datetime
    end: datetime
    kwh: float
    quality: Literal["measured", "rolled-over", "estimated"]
    note: str


class FeederEnergyBody(BaseModel):
    """A feeder's energy over one IST day: what AT&C loss figures take as input."""

    feeder: str
    day: date
    forward_kwh: float
    reverse_kwh: float
    input_kwh: float
    estimated_intervals: int
    billed_kwh: float | None
    loss_ratio: float | None
    meters: int | None
    intervals: list[IntervalBody]


class DerBody(BaseModel):
    """DER Visibility for one feeder and day: aggregates only, no consumer or meter."""

    feeder: str
    day: date
    forward_kwh: float
    reverse_kwh: float
    reverse_intervals: int
    peak_reverse_kw: float
    der_export_kwh: float | None
    der_share: float | None


def _energy(request: Request) -> ScadaFeederEnergy:
    energy: ScadaFeederEnergy = request.app.state.feeder_energy
    return energy


def _day(feeder: str, day: date, energy: ScadaFeederEnergy) -> tuple[datetime, datetime]:
    if not date(1900, 1, 1) <= day <= date(9998, 12, 31):
        # IST midnight of 0001-01-01 is a day before the calendar in UTC (schemathesis
        # found the OverflowError); no SCADA register reads that far anyway.
        raise FeederEnergyNotFound(f"no energy register reading for {feeder} on {day}")
    start = datetime.combine(day, time(0), IST)
    end = start + timedelta(days=1)
    if not energy.has_totals(feeder, start, end):
        raise FeederEnergyNotFound(f"no energy register reading for {feeder} on {day}")
    return start, end


@router.get(
    "/feeders/{feeder}/energy",
    response_model=FeederEnergyBody,
    summary="Feeder energy input over one IST day (integrated totals)",
)
def feeder_energy(feeder: FeederId, day: date, request: Request) -> FeederEnergyBody:
    energy = _energy(request)
    start, end = _day(feeder, day, energy)
    intervals = energy.intervals(feeder, start, end, "import")
    forward, reverse = energy.flows(feeder, start, end)
    billed = loss = meters = None
    if energy.metered is not None:
        figures = energy.feeder_energy(feeder, start, end)
        billed, loss, meters = figures.billed_kwh, figures.loss_ratio, figures.meters
    return FeederEnergyBody(
        feeder=feeder,
        day=day,
        forward_kwh=forward,
        reverse_kwh=reverse,
        input_kwh=forward - reverse,
        estimated_intervals=sum(1 for i in intervals if i.quality == "estimated"),
        billed_kwh=billed,
        loss_ratio=loss,
        meters=meters,
        intervals=[
            IntervalBody(start=i.start, end=i.end, kwh=i.kwh, quality=i.quality, note=i.note)
            for i in intervals
        ],
    )


@router.get(
    "/feeders/{feeder}/der",
    response_model=DerBody,
    summary="DER visibility of a feeder over one IST day: reverse flow and DER share",
)
def feeder_der(feeder: FeederId, day: date, request: Request) -> DerBody:
    energy = _energy(request)
    start, end = _day(feeder, day, energy)
    view = energy.der(feeder, start, end)
    known = energy.metered is not None
    return DerBody(
        feeder=feeder,
        day=day,
        forward_kwh=view.forward_kwh,
        reverse_kwh=view.reverse_kwh,
        reverse_intervals=view.reverse_intervals,
        peak_reverse_kw=view.peak_reverse_kw,
        der_export_kwh=view.der_export_kwh if known else None,
        der_share=view.der_share if known else None,
    )
