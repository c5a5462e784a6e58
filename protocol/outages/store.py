"""The outage flow's tables and the queries on them (SQLite and PostgreSQL alike).

* ``outage_notice``: one row per interruption (sustained, momentary or planned),
  with the downstream it affected and the latest notice document.
* ``outage_subscriber``: who is told, for which feeders.
* ``outage_delivery``: every attempt to deliver a notice version to a subscriber.
* ``outage_refusal``: every observation refused, with its reason.
* ``outage_feeder_total`` / ``outage_feeder_power``: integrated totals and active
  power per feeder, for feeder energy input and DER visibility.
* ``outage_pending_trip``: a breaker opening not yet confirmed sustained (inside the
  momentary window), so a restart in the window still classifies it.
* ``outage_seen_event``: feeder-status event ids taken in, so a replay after a
  restart is still answered DUPLICATE.

Timestamps are stored as naive UTC and handed out as aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Engine, Index, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, SQLModel, col, select

from kernel.database import session_scope, to_db
from kernel.database import timestamp_field as _ts


class OutageTable(SQLModel, registry=sa_registry()):
    """Base of the outage flow's tables: their own metadata, their own migrations."""


metadata = OutageTable.metadata


class NoticeRow(OutageTable, table=True):
    __tablename__ = "outage_notice"
    __table_args__ = (Index("ix_outage_notice_feeder_start", "feeder", "started_at"),)

    id: str = Field(primary_key=True, max_length=64)
    feeder: str = Field(max_length=64)
    kind: str = Field(max_length=12)  # UNPLANNED | PLANNED | MOMENTARY
    status: str = Field(max_length=20)
    started_at: datetime = _ts()
    ended_at: datetime | None = _ts(nullable=True)
    estimated_restoration: datetime | None = _ts(nullable=True)
    planned_end: datetime | None = _ts(nullable=True)
    customers: int = 0
    downstream: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    detected_ref: str = Field(default="", max_length=200)
    source: str = Field(max_length=12)
    reason: str = Field(default="", max_length=500)
    version: int = 0
    document: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = _ts()


class SubscriberRow(OutageTable, table=True):
    __tablename__ = "outage_subscriber"

    id: str = Field(primary_key=True, max_length=255)
    role: str = Field(max_length=20)
    url: str = Field(max_length=2000)
    feeders: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


class DeliveryRow(OutageTable, table=True):
    __tablename__ = "outage_delivery"
    __table_args__ = (Index("ix_outage_delivery_notice", "notice_id", "version"),)

    pk: int | None = Field(default=None, primary_key=True)
    notice_id: str = Field(max_length=64)
    version: int
    subscriber_id: str = Field(max_length=255)
    http_status: int
    delivered: bool
    detail: str = Field(default="", max_length=500)
    at: datetime = _ts()


class RefusalRow(OutageTable, table=True):
    __tablename__ = "outage_refusal"

    pk: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64)
    detail: str = Field(max_length=1000)
    ref: str = Field(max_length=200)
    at: datetime = _ts(index=True)


class TotalRow(OutageTable, table=True):
    __tablename__ = "outage_feeder_total"
    __table_args__ = (Index("ix_outage_feeder_total_feeder_at", "feeder", "direction", "at"),)

    pk: int | None = Field(default=None, primary_key=True)
    feeder: str = Field(max_length=64)
    direction: str = Field(max_length=8)
    at: datetime = _ts()
    counter: int = Field(sa_column=Column(BigInteger, nullable=False))
    kwh_per_count: float
    invalid: bool = False


class PowerRow(OutageTable, table=True):
    __tablename__ = "outage_feeder_power"
    __table_args__ = (Index("ix_outage_feeder_power_feeder_at", "feeder", "at"),)

    pk: int | None = Field(default=None, primary_key=True)
    feeder: str = Field(max_length=64)
    at: datetime = _ts()
    kw: float


class PendingTripRow(OutageTable, table=True):
    """An opening inside the momentary window: the outage it becomes if it lasts."""

    __tablename__ = "outage_pending_trip"

    feeder: str = Field(primary_key=True, max_length=64)
    notice_id: str = Field(max_length=64)
    started_at: datetime = _ts()
    downstream: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    detected_ref: str = Field(default="", max_length=200)
    source: str = Field(max_length=12)
    estimated_restoration: datetime | None = _ts(nullable=True)


class SeenEventRow(OutageTable, table=True):
    __tablename__ = "outage_seen_event"

    key: str = Field(primary_key=True, max_length=300)  # amispCode:eventId
    at: datetime = _ts(index=True)  # the event's own timestamp


class OutageStore:
    """Queries over one engine; each method is one short unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_notice(self, values: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            row = session.get(NoticeRow, values["id"])
            if row is None:
                session.add(NoticeRow(**values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                session.add(row)

    def notice(self, notice_id: str) -> NoticeRow | None:
        with session_scope(self.engine) as session:
            return session.get(NoticeRow, notice_id)

    def notices(
        self,
        *,
        feeder: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        feeders: Sequence[str] | None = None,
    ) -> list[NoticeRow]:
        query = select(NoticeRow)
        if feeder is not None:
            query = query.where(col(NoticeRow.feeder) == feeder)
        if feeders is not None:
            query = query.where(col(NoticeRow.feeder).in_(list(feeders)))
        if status is not None:
            query = query.where(col(NoticeRow.status) == status)
        if since is not None:
            query = query.where(col(NoticeRow.started_at) >= to_db(since))
        if until is not None:
            query = query.where(col(NoticeRow.started_at) < to_db(until))
        query = query.order_by(col(NoticeRow.started_at), col(NoticeRow.id))
        with session_scope(self.engine) as session:
            return list(session.exec(query))

    def add_subscriber(self, row: SubscriberRow) -> None:
        with session_scope(self.engine) as session:
            existing = session.get(SubscriberRow, row.id)
            if existing is not None:
                session.delete(existing)
                session.flush()
            session.add(row)

    def subscribers(self) -> list[SubscriberRow]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(SubscriberRow).order_by(col(SubscriberRow.id))))

    def add_delivery(self, row: DeliveryRow) -> None:
        with session_scope(self.engine) as session:
            session.add(row)

    def deliveries(self, notice_id: str) -> list[DeliveryRow]:
        with session_scope(self.engine) as session:
            query = (
                select(DeliveryRow)
                .where(col(DeliveryRow.notice_id) == notice_id)
                .order_by(col(DeliveryRow.pk))
            )
            return list(session.exec(query))

    def add_refusal(self, row: RefusalRow) -> None:
        with session_scope(self.engine) as session:
            session.add(row)

    def refusals(self, limit: int = 1000) -> list[RefusalRow]:
        with session_scope(self.engine) as session:
            query = select(RefusalRow).order_by(col(RefusalRow.pk)).limit(limit)
            return list(session.exec(query))

    def add_values(self, totals: list[TotalRow], powers: list[PowerRow]) -> None:
        if not totals and not powers:
            return
        with session_scope(self.engine) as session:
            session.add_all([*totals, *powers])

    def totals(self, feeder: str, direction: str, start: datetime, end: datetime) -> list[TotalRow]:
        query = (
            select(TotalRow)
            .where(col(TotalRow.feeder) == feeder, col(TotalRow.direction) == direction)
            .where(col(TotalRow.at) >= to_db(start), col(TotalRow.at) <= to_db(end))
            .order_by(col(TotalRow.at))
        )
        with session_scope(self.engine) as session:
            return list(session.exec(query))

    def powers(self, feeder: str, start: datetime, end: datetime) -> list[PowerRow]:
        query = (
            select(PowerRow)
            .where(col(PowerRow.feeder) == feeder)
            .where(col(PowerRow.at) >= to_db(start), col(PowerRow.at) <= to_db(end))
            .order_by(col(PowerRow.at))
        )
        with session_scope(self.engine) as session:
            return list(session.exec(query))

    def put_pending(self, row: PendingTripRow) -> None:
        with session_scope(self.engine) as session:
            session.merge(row)

    def drop_pending(self, feeder: str) -> None:
        with session_scope(self.engine) as session:
            session.execute(delete(PendingTripRow).where(col(PendingTripRow.feeder) == feeder))

    def pending(self) -> list[PendingTripRow]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(PendingTripRow).order_by(col(PendingTripRow.feeder))))

    def seen_event(self, key: str) -> bool:
        with session_scope(self.engine) as session:
            return session.get(SeenEventRow, key) is not None

    def add_seen_event(self, key: str, at: datetime) -> None:
        """Record ``key``; a concurrent push of the same event already did it."""
        try:
            with session_scope(self.engine) as session:
                session.add(SeenEventRow(key=key, at=to_db(at)))
        except IntegrityError:
            pass


class StoredSeenEvents:
    """The event ids taken in, in the database: DUPLICATE answers survive a restart."""

    def __init__(self, store: OutageStore) -> None:
        self.store = store

    def seen(self, key: str) -> bool:
        return self.store.seen_event(key)

    def add(self, key: str, at: datetime) -> None:
        self.store.add_seen_event(key, at)
