"""The consent layer's tables and queries (own metadata, own migrations, ``consent_``).

Timestamps are naive UTC in the database and aware UTC everywhere else. At national
scale every table is partitioned by the provider's state (``jurisdiction``) and the
audit chain becomes one chain per partition, each with its own head row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, Text, UniqueConstraint
from sqlalchemy import update as sa_update
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col, func, select

from consent import audit


class ConsentTable(SQLModel, registry=sa_registry()):
    """Base of the consent layer's tables: their own metadata, their own migrations."""


metadata = ConsentTable.metadata

_SEQ = BigInteger().with_variant(Integer(), "sqlite")


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class ConsentRow(ConsentTable, table=True):
    __tablename__ = "consent_artefact"
    __table_args__ = (
        UniqueConstraint("app_id", "app_request_id", name="uq_consent_artefact_app_request"),
        Index("ix_consent_artefact_consumer", "consumer_id", "status", "created_at"),
        Index("ix_consent_artefact_status_expiry", "status", "expires_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    app_id: str = Field(max_length=256)
    app_request_id: str = Field(max_length=64)
    request_digest: str = Field(max_length=80)
    app_url: str = Field(max_length=512)
    provider_id: str = Field(max_length=256)
    consumer_id: str = Field(max_length=256)
    jurisdiction: str = Field(max_length=8)
    purpose: str = Field(max_length=64)
    requested_scope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    scope: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(max_length=16)
    notices: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    notice_digest: str = Field(max_length=80)
    policy: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    artefact: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    artefact_digest: str | None = Field(default=None, max_length=80)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=False), nullable=True)
    )


class FetchRow(ConsentTable, table=True):
    __tablename__ = "consent_fetch"
    __table_args__ = (Index("ix_consent_fetch_consent_at", "consent_id", "at"),)

    seq: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    id: str = Field(max_length=64, unique=True)
    consent_id: str = Field(max_length=64)
    provider_id: str = Field(max_length=256)
    at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    window_from: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    window_to: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    granularity: str = Field(max_length=16)
    data_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    request_digest: str = Field(max_length=80)


class AuditRow(ConsentTable, table=True):
    """Append-only: the migration adds triggers refusing UPDATE and DELETE."""

    __tablename__ = "consent_audit"
    __table_args__ = (Index("ix_consent_audit_consent", "consent_id", "seq"),)

    seq: int = Field(sa_column=Column(_SEQ, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=256)
    consent_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHeadRow(ConsentTable, table=True):
    """The chain's head: appends lock this row first, so entries get gapless numbers."""

    __tablename__ = "consent_audit_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(_SEQ, nullable=False))
    hash: str = Field(max_length=64)


class OutboxRow(ConsentTable, table=True):
    __tablename__ = "consent_outbox"
    __table_args__ = (Index("ix_consent_outbox_due", "status", "next_attempt_at"),)

    seq: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    id: str = Field(max_length=64, unique=True)
    consent_id: str = Field(max_length=64)
    recipient: str = Field(max_length=256)
    role: str = Field(max_length=16)
    url: str = Field(max_length=512)
    kind: str = Field(max_length=32)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, default="PENDING")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=False), nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=512)


class ConsentStore:
    """Queries over one session; the service owns the unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # consents ---------------------------------------------------------------
    def get(self, consent_id: str, *, lock: bool = False) -> ConsentRow | None:
        query = select(ConsentRow).where(ConsentRow.id == consent_id)
        if lock:
            query = query.with_for_update()
        return self.session.exec(query).first()

    def by_app_request(self, app_id: str, request_id: str) -> ConsentRow | None:
        return self.session.exec(
            select(ConsentRow).where(
                ConsentRow.app_id == app_id, ConsentRow.app_request_id == request_id
            )
        ).first()

    def of_consumer(
        self, consumer_id: str, status: str | None, after: str | None, limit: int
    ) -> Sequence[ConsentRow]:
        query = select(ConsentRow).where(ConsentRow.consumer_id == consumer_id)
        if status is not None:
            query = query.where(ConsentRow.status == status)
        if after is not None:
            query = query.where(col(ConsentRow.id) > after)
        return self.session.exec(query.order_by(col(ConsentRow.id)).limit(limit)).all()

    def due_to_expire(self, now: datetime, limit: int) -> Sequence[ConsentRow]:
        return self.session.exec(
            select(ConsentRow)
            .where(
                col(ConsentRow.status).in_(["PENDING", "ACTIVE", "PAUSED"]),
                col(ConsentRow.expires_at) <= naive(now),
            )
            .limit(limit)
        ).all()

    def add(self, row: SQLModel) -> None:
        self.session.add(row)

    # fetches ----------------------------------------------------------------
    def fetches_since(self, consent_id: str, since: datetime | None) -> int:
        query = select(func.count()).select_from(FetchRow).where(FetchRow.consent_id == consent_id)
        if since is not None:
            query = query.where(col(FetchRow.at) > naive(since))
        return int(self.session.exec(query).one())

    # audit ------------------------------------------------------------------
    def append_audit(
        self,
        *,
        at: datetime,
        kind: str,
        actor: str,
        consent_id: str | None,
        details: dict[str, Any],
    ) -> AuditRow:
        # The UPDATE takes the head's row lock (PostgreSQL) or the write lock (SQLite)
        # before anything is read, so concurrent appends queue instead of forking.
        self.session.execute(
            sa_update(AuditHeadRow)
            .where(col(AuditHeadRow.id) == 1)
            .values(seq=AuditHeadRow.seq + 1)
        )
        head = self.session.exec(select(AuditHeadRow).where(AuditHeadRow.id == 1)).one()
        self.session.refresh(head)
        stamp = naive(at)
        digest = audit.entry_hash(
            seq=head.seq,
            at=stamp,
            kind=kind,
            actor=actor,
            consent_id=consent_id,
            details=details,
            prev_hash=head.hash,
        )
        row = AuditRow(
            seq=head.seq,
            at=stamp,
            kind=kind,
            actor=actor,
            consent_id=consent_id,
            details=details,
            prev_hash=head.hash,
            hash=digest,
        )
        self.session.add(row)
        head.hash = digest
        self.session.add(head)
        self.session.flush()
        return row

    def audit_entries(self, batch: int = 5000) -> Iterator[audit.Entry]:
        after = -1
        while True:
            rows = self.session.exec(
                select(AuditRow)
                .where(col(AuditRow.seq) > after)
                .order_by(col(AuditRow.seq))
                .limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield entry_of(row)
            after = rows[-1].seq

    def audit_head(self) -> AuditHeadRow:
        return self.session.exec(select(AuditHeadRow).where(AuditHeadRow.id == 1)).one()

    def audit_of(
        self, consent_ids: Sequence[str], after: int | None, limit: int
    ) -> Sequence[AuditRow]:
        query = select(AuditRow).where(col(AuditRow.consent_id).in_(list(consent_ids)))
        if after is not None:
            query = query.where(col(AuditRow.seq) > after)
        return self.session.exec(query.order_by(col(AuditRow.seq)).limit(limit)).all()

    def consent_ids_of(self, consumer_id: str) -> list[str]:
        return list(
            self.session.exec(
                select(ConsentRow.id).where(ConsentRow.consumer_id == consumer_id)
            ).all()
        )

    # outbox -----------------------------------------------------------------
    def due_notifications(self, now: datetime, limit: int) -> Sequence[OutboxRow]:
        return self.session.exec(
            select(OutboxRow)
            .where(OutboxRow.status == "PENDING", col(OutboxRow.next_attempt_at) <= naive(now))
            .order_by(col(OutboxRow.seq))
            .limit(limit)
        ).all()

    def notifications(self, consent_id: str) -> Sequence[OutboxRow]:
        return self.session.exec(
            select(OutboxRow).where(OutboxRow.consent_id == consent_id).order_by(col(OutboxRow.seq))
        ).all()


def entry_of(row: AuditRow) -> audit.Entry:
    return audit.Entry(
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        actor=row.actor,
        consent_id=row.consent_id,
        details=row.details,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
