"""The outage flow's use cases: take observations in, announce outages, answer queries.

:class:`OutageMonitor` runs every observation through one ordered list of steps —
quality, clock, order (in :mod:`protocol.outages.detection`), then detection, then
topology, notice, store and delivery — so a refusal names the step that refused
and changes nothing. It is thread-safe: the IEC 104 poller and the feeder-status
ingest may call it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from kernel.database import from_db, to_db
from kernel.problems import problem_types
from protocol.outages import reliability
from protocol.outages.detection import (
    Detector,
    Momentary,
    Policy,
    Restored,
    Sustained,
    Transition,
    Tripped,
)
from protocol.outages.errors import OutageNotFound, OutageProblem
from protocol.outages.models import (
    BreakerEvent,
    Downstream,
    EnergyTotal,
    Flagged,
    LinkChange,
    Observation,
    Outage,
    OutageKind,
    PlannedOutage,
    PowerSample,
    Source,
)
from protocol.outages.notices import notification
from protocol.outages.ports import FeederEventSource, NoticeDelivery, Subscriber, TopologyLookup
from protocol.outages.store import (
    DeliveryRow,
    NoticeRow,
    OutageStore,
    PendingTripRow,
    PowerRow,
    RefusalRow,
    SubscriberRow,
    TotalRow,
)

log = structlog.get_logger("protocol.outages")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Issuer:
    did: str
    name: str


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    refused: list[OutageProblem] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)


def outage_id(feeder: str, start: datetime, kind: OutageKind) -> str:
    prefix = {OutageKind.PLANNED: "PLN", OutageKind.MOMENTARY: "MOM"}.get(kind, "OUT")
    return f"{prefix}-{feeder}-{start.astimezone(UTC):%Y%m%dT%H%M%S}"


def _downstream_of(row: NoticeRow) -> Downstream:
    d = row.downstream
    return Downstream(
        feeder=row.feeder,
        at=datetime.fromisoformat(d["at"]),
        transformers=tuple(d["transformers"]),
        connections=tuple(d["connections"]),
        meters=tuple(d["meters"]),
        substation=d.get("substation"),
    )


def _downstream_json(down: Downstream) -> dict[str, Any]:
    return {
        "at": down.at.isoformat(),
        "transformers": list(down.transformers),
        "connections": list(down.connections),
        "meters": list(down.meters),
        "substation": down.substation,
    }


def pending_row(outage: Outage) -> PendingTripRow:
    return PendingTripRow(
        feeder=outage.feeder,
        notice_id=outage.id,
        started_at=to_db(outage.started_at),
        downstream=_downstream_json(outage.downstream),
        detected_ref=outage.detected_ref[:200],
        source=outage.source.value,
        estimated_restoration=(
            to_db(outage.estimated_restoration) if outage.estimated_restoration else None
        ),
    )


def pending_of(row: PendingTripRow) -> Outage:
    d = row.downstream
    return Outage(
        id=row.notice_id,
        feeder=row.feeder,
        kind=OutageKind.UNPLANNED,
        started_at=from_db(row.started_at),
        downstream=Downstream(
            feeder=row.feeder,
            at=datetime.fromisoformat(d["at"]),
            transformers=tuple(d["transformers"]),
            connections=tuple(d["connections"]),
            meters=tuple(d["meters"]),
            substation=d.get("substation"),
        ),
        estimated_restoration=(
            from_db(row.estimated_restoration) if row.estimated_restoration else None
        ),
        detected_ref=row.detected_ref,
        source=Source(row.source),
    )


def outage_of(row: NoticeRow) -> Outage:
    return Outage(
        id=row.id,
        feeder=row.feeder,
        kind=OutageKind(row.kind),
        started_at=from_db(row.started_at),
        downstream=_downstream_of(row),
        status=row.status,
        ended_at=from_db(row.ended_at) if row.ended_at else None,
        estimated_restoration=(
            from_db(row.estimated_restoration) if row.estimated_restoration else None
        ),
        planned_end=from_db(row.planned_end) if row.planned_end else None,
        detected_ref=row.detected_ref,
        source=Source(row.source),
        reason=row.reason,
        version=row.version,
    )


class OutageMonitor:
    """Detection, notices and their delivery, over a store, a topology and a delivery."""

    def __init__(
        self,
        store: OutageStore,
        topology: TopologyLookup,
        delivery: NoticeDelivery,
        issuer: Issuer,
        *,
        policy: Policy | None = None,
        clock: Callable[[], datetime] = utc_now,
        restoration_estimate: timedelta = timedelta(hours=2),
    ) -> None:
        self.store = store
        self.topology = topology
        self.delivery = delivery
        self.issuer = issuer
        self.clock = clock
        self.detector = Detector(policy or Policy())
        self.restoration_estimate = restoration_estimate
        self._pending: dict[str, Outage] = {}
        self._lock = threading.RLock()
        self._resume()

    def _resume(self) -> None:
        """Open interruptions survive a restart: the detector takes them up again, the
        announced ones as sustained, the openings still inside the momentary window
        as openings (reclosed in time they stay momentary; a tick confirms the rest)."""
        for row in self.store.notices(status="ACTIVE"):
            if row.kind == OutageKind.UNPLANNED.value:
                outage = outage_of(row)
                self._pending[row.feeder] = outage
                self.detector.resume(
                    row.feeder, outage.started_at, outage.detected_ref, sustained=True
                )
        for pending in self.store.pending():
            if pending.feeder in self._pending:
                continue  # announced before the restart; the row outlived its use
            outage = pending_of(pending)
            self._pending[pending.feeder] = outage
            self.detector.resume(
                pending.feeder, outage.started_at, outage.detected_ref, sustained=False
            )

    # ------------------------------------------------------------- subscribers

    def subscribe(self, subscriber: Subscriber) -> None:
        self.store.add_subscriber(
            SubscriberRow(
                id=subscriber.id,
                role=subscriber.role,
                url=subscriber.url,
                feeders=list(subscriber.feeders),
                created_at=to_db(self.clock()),
            )
        )

    def subscribers(self) -> list[Subscriber]:
        return [
            Subscriber(id=r.id, role=r.role, url=r.url, feeders=tuple(r.feeders))
            for r in self.store.subscribers()
        ]

    # ------------------------------------------------------------- ingest

    def ingest(self, observations: Iterable[Observation]) -> IngestReport:
        report = IngestReport()
        with self._lock:
            totals: list[TotalRow] = []
            powers: list[PowerRow] = []
            for item in observations:
                try:
                    if isinstance(item, BreakerEvent):
                        now = self.clock()
                        for transition in self.detector.observe(item, now):
                            report.notices += self._apply(transition, item)
                    elif isinstance(item, PowerSample | EnergyTotal):
                        self.detector.check(item, self.clock())
                        if isinstance(item, PowerSample):
                            powers.append(
                                PowerRow(feeder=item.feeder, at=to_db(item.at), kw=item.kw)
                            )
                        else:
                            totals.append(
                                TotalRow(
                                    feeder=item.feeder,
                                    direction=item.direction,
                                    at=to_db(item.at),
                                    counter=item.counter,
                                    kwh_per_count=item.kwh_per_count,
                                )
                            )
                    elif isinstance(item, Flagged):
                        self._refuse(item.slug, item.detail, item.ref, item.at)
                        report.refused.append(_as_problem(item))
                        continue
                    elif isinstance(item, LinkChange):
                        slug = "telemetry-link-restored" if item.up else "telemetry-link-lost"
                        self._refuse(slug, item.detail, "link", item.at)
                        continue
                    report.accepted += 1
                except OutageProblem as problem:
                    self._refuse(problem.slug, problem.detail, problem.ref, self.clock())
                    report.refused.append(problem)
            self.store.add_values(totals, powers)
            report.notices += self._tick_locked(self.clock())
        return report

    def tick(self, now: datetime | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return self._tick_locked(now or self.clock())

    def _tick_locked(self, now: datetime) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        for transition in self.detector.tick(now):
            sent += self._apply(transition, None)
        sent += self._advance_planned(now)
        return sent

    def _refuse(self, slug: str, detail: str, ref: str, at: datetime) -> None:
        log.warning("telemetry refused", slug=slug, detail=detail, ref=ref)
        self.store.add_refusal(
            RefusalRow(slug=slug, detail=detail[:1000], ref=ref[:200], at=to_db(at))
        )

    # ------------------------------------------------------------- transitions

    def _apply(self, transition: Transition, event: BreakerEvent | None) -> list[dict[str, Any]]:
        if isinstance(transition, Tripped):
            planned = self._planned_covering(transition.feeder, transition.at)
            if planned is not None:
                return []  # the breaker opened for the announced shutdown
            opened = Outage(
                id=outage_id(transition.feeder, transition.at, OutageKind.UNPLANNED),
                feeder=transition.feeder,
                kind=OutageKind.UNPLANNED,
                started_at=transition.at,
                downstream=self.topology.downstream(transition.feeder, transition.at),
                detected_ref=transition.ref,
                source=event.source if event is not None else Source.SCADA,
                estimated_restoration=transition.at + self.restoration_estimate,
            )
            self._pending[transition.feeder] = opened
            self.store.put_pending(pending_row(opened))
            return []
        outage = self._pending.get(transition.feeder)
        if outage is None:
            return []  # an opening inside a planned shutdown: the schedule drives it
        if isinstance(transition, Momentary):
            del self._pending[transition.feeder]
            outage.id = outage_id(outage.feeder, outage.started_at, OutageKind.MOMENTARY)
            outage.kind = OutageKind.MOMENTARY
            outage.status = "RESTORED"
            outage.ended_at = transition.ended_at
            self._save(outage, None)
            self.store.drop_pending(outage.feeder)
            return []  # IEEE 1366: a momentary interruption is counted (MAIFI), not announced
        if isinstance(transition, Sustained):
            document = self._publish(outage)
            self.store.drop_pending(outage.feeder)  # the ACTIVE notice now carries it
            return [document]
        if isinstance(transition, Restored):
            del self._pending[transition.feeder]
            outage.status = "RESTORED"
            outage.ended_at = transition.ended_at
            outage.version += 1
            return [self._publish(outage)]
        return []  # pragma: no cover - every transition is handled above

    def _publish(self, outage: Outage) -> dict[str, Any]:
        document = notification(
            outage, issuer=self.issuer.did, issuer_name=self.issuer.name, issued_at=self.clock()
        )
        self._save(outage, document)
        for subscriber in self.subscribers():
            if subscriber.feeders and outage.feeder not in subscriber.feeders:
                continue
            receipt = self.delivery.deliver(subscriber, document)
            self.store.add_delivery(
                DeliveryRow(
                    notice_id=outage.id,
                    version=outage.version,
                    subscriber_id=subscriber.id,
                    http_status=receipt.status,
                    delivered=receipt.delivered,
                    detail=receipt.detail[:500],
                    at=to_db(self.clock()),
                )
            )
        return document

    def _save(self, outage: Outage, document: dict[str, Any] | None) -> None:
        down = outage.downstream
        self.store.put_notice(
            {
                "id": outage.id,
                "feeder": outage.feeder,
                "kind": outage.kind.value,
                "status": outage.status,
                "started_at": to_db(outage.started_at),
                "ended_at": to_db(outage.ended_at) if outage.ended_at else None,
                "estimated_restoration": (
                    to_db(outage.estimated_restoration) if outage.estimated_restoration else None
                ),
                "planned_end": to_db(outage.planned_end) if outage.planned_end else None,
                "customers": outage.customers,
                "downstream": _downstream_json(down),
                "detected_ref": outage.detected_ref[:200],
                "source": outage.source.value,
                "reason": outage.reason[:500],
                "version": outage.version,
                "document": document,
                "updated_at": to_db(self.clock()),
            }
        )

    # ------------------------------------------------------------- planned

    def schedule(self, planned: Sequence[PlannedOutage]) -> list[dict[str, Any]]:
        """Announce shutdowns from the discom's schedule (idempotent per feeder and start)."""
        sent: list[dict[str, Any]] = []
        with self._lock:
            for item in planned:
                notice_id = outage_id(item.feeder, item.start, OutageKind.PLANNED)
                if self.store.notice(notice_id) is not None:
                    continue
                outage = Outage(
                    id=notice_id,
                    feeder=item.feeder,
                    kind=OutageKind.PLANNED,
                    started_at=item.start,
                    downstream=self.topology.downstream(item.feeder, item.start),
                    status="SCHEDULED",
                    planned_end=item.end,
                    estimated_restoration=item.end,
                    detected_ref=item.ref,
                    source=Source.OMS,
                    reason=item.reason,
                )
                sent.append(self._publish(outage))
            sent += self._advance_planned(self.clock())
        return sent

    def _planned_covering(self, feeder: str, at: datetime) -> NoticeRow | None:
        for row in self.store.notices(feeder=feeder):
            if row.kind != OutageKind.PLANNED.value or row.status not in ("SCHEDULED", "ACTIVE"):
                continue
            if row.planned_end and from_db(row.started_at) <= at <= from_db(row.planned_end):
                return row
        return None

    def _advance_planned(self, now: datetime) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        for status in ("SCHEDULED", "ACTIVE"):
            for row in self.store.notices(status=status, until=now + timedelta(microseconds=1)):
                if row.kind != OutageKind.PLANNED.value:
                    continue
                outage = outage_of(row)
                if status == "SCHEDULED":
                    outage.status = "ACTIVE"
                elif outage.planned_end is not None and outage.planned_end <= now:
                    if outage.feeder in self.detector.open_feeders():
                        continue  # the breaker is still open: restored when it closes
                    outage.status = "RESTORED"
                    outage.ended_at = outage.planned_end
                else:
                    continue
                outage.version += 1
                sent.append(self._publish(outage))
        return sent

    # ------------------------------------------------------------- queries

    def notice(self, notice_id: str) -> dict[str, Any]:
        row = self.store.notice(notice_id)
        if row is None or row.document is None:
            raise OutageNotFound(f"no outage notice {notice_id!r}")
        return row.document

    def interruptions(
        self, feeders: Sequence[str], start: datetime, end: datetime
    ) -> list[reliability.Interruption]:
        rows = self.store.notices(feeders=feeders, since=start, until=end)
        return [
            reliability.Interruption(
                feeder=r.feeder,
                start=from_db(r.started_at),
                end=from_db(r.ended_at),
                customers=r.customers,
                planned=r.kind == OutageKind.PLANNED.value,
            )
            for r in rows
            if r.ended_at is not None and r.status == "RESTORED"
        ]

    def reliability(
        self,
        feeders: Sequence[str],
        start: datetime,
        end: datetime,
        history: dict[date, float] | None = None,
    ) -> reliability.Report:
        """IEEE 1366 indices over ``feeders``; N_T = connections below them at ``end``."""
        served = sum(len(self.topology.downstream(f, end).connections) for f in feeders)
        items = self.interruptions(feeders, start, end)
        return reliability.report(items, served, history or {})


def _as_problem(flagged: Flagged) -> OutageProblem:
    """The problem a source flagged, as its own class (UnknownPoint, LinkLost …)."""
    cls = problem_types().get(flagged.slug)
    if cls is None or not issubclass(cls, OutageProblem):
        cls = OutageProblem
    return cls(flagged.detail, ref=flagged.ref)


def watch(
    source: FeederEventSource,
    monitor: OutageMonitor,
    stop: threading.Event,
    *,
    interval: float = 0.05,
) -> None:
    """Feed a source's observations to the monitor until ``stop`` is set; tick between
    batches so openings are confirmed even when the field is quiet."""
    while not stop.is_set():
        batch = source.poll(interval)
        if batch:
            monitor.ingest(batch)
        else:
            monitor.tick()
