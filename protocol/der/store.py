"""DER onboarding's tables: every application the discom received, each revision a row.

* ``der_application``: one row per submission (a resubmission is a new revision of the
  same application number, so the history of a refused and mended application is
  kept), with the Beckn request it arrived in (to answer it later, after a restart
  too), its state, the verdict, and on approval the registry's IDs and the credential.
  Unique on (requester, messageId): the same message twice is one application.
* ``der_sequence``: the discom's running application numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine, Index, UniqueConstraint
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col, func, select

from kernel.database import session_scope, to_db
from kernel.database import timestamp_field as _ts


class DerTable(SQLModel, registry=sa_registry()):
    """Base of DER onboarding's tables: their own metadata, their own migrations."""


metadata = DerTable.metadata

RECEIVED = "RECEIVED"  # taken from the exchange, not decided yet


class ApplicationRow(DerTable, table=True):
    __tablename__ = "der_application"
    __table_args__ = (
        UniqueConstraint("requester", "message_id", name="uq_der_application_message"),
        UniqueConstraint("number", "revision", name="uq_der_application_revision"),
        Index("ix_der_application_state", "state"),
    )

    id: str = Field(primary_key=True, max_length=64)
    # DERAPP-{discom}-{000001}, kept across revisions; given when the desk takes it up.
    number: str | None = Field(default=None, max_length=40)
    revision: int | None = None
    requester: str = Field(max_length=255)  # the BAP that sent it (Beckn-authenticated)
    requester_uri: str = Field(max_length=500)
    message_id: str = Field(max_length=100)
    transaction_id: str = Field(max_length=100)
    network_id: str = Field(max_length=300)
    request_digest: str = Field(max_length=200)
    request_signature: str = Field(max_length=500)
    contract: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=20)  # RECEIVED | APPROVED | CHANGES_REQUESTED | REJECTED
    verdict: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    consumer_id: str | None = Field(default=None, max_length=40)
    der_id: str | None = Field(default=None, max_length=40)
    meter_id: str | None = Field(default=None, max_length=40)
    credential_id: str | None = Field(default=None, max_length=100)
    received_at: datetime = _ts()
    decided_at: datetime | None = _ts(nullable=True)


class SequenceRow(DerTable, table=True):
    __tablename__ = "der_sequence"

    discom: str = Field(primary_key=True, max_length=40)
    last: int = 0


def next_number(session: Session, discom: str) -> str:
    """The next application number of ``discom`` (inside the caller's transaction)."""
    row = session.get(SequenceRow, discom)
    if row is None:
        row = SequenceRow(discom=discom, last=0)
    row.last += 1
    session.add(row)
    return f"DERAPP-{discom}-{row.last:06d}"


def next_revision(session: Session, number: str) -> int | None:
    """The revision a resubmission of ``number`` gets; None if there is no such one."""
    latest = session.exec(
        select(func.max(ApplicationRow.revision)).where(ApplicationRow.number == number)
    ).one()
    return None if latest is None else int(latest) + 1


class DerStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pending(self, limit: int = 20) -> Sequence[ApplicationRow]:
        with session_scope(self.engine) as session:
            query = (
                select(ApplicationRow)
                .where(ApplicationRow.state == RECEIVED)
                .order_by(col(ApplicationRow.received_at))
                .limit(limit)
            )
            return list(session.exec(query))

    def get(self, application_id: str) -> ApplicationRow | None:
        with session_scope(self.engine) as session:
            return session.get(ApplicationRow, application_id)

    def revisions(self, number: str) -> list[ApplicationRow]:
        with session_scope(self.engine) as session:
            query = (
                select(ApplicationRow)
                .where(ApplicationRow.number == number)
                .order_by(col(ApplicationRow.revision))
            )
            return list(session.exec(query))

    def by_message(self, requester: str, message_id: str) -> ApplicationRow | None:
        with session_scope(self.engine) as session:
            query = select(ApplicationRow).where(
                ApplicationRow.requester == requester, ApplicationRow.message_id == message_id
            )
            return session.exec(query).first()

    def queue(
        self,
        after: str | None,
        limit: int,
        *,
        requester: str | None = None,
        consumer: str | None = None,
    ) -> list[ApplicationRow]:
        """Newest first: the discom's queue with its automatic verdicts; ``requester`` and
        ``consumer`` keep one applicant's (an installer's) or one consumer's rows."""
        with session_scope(self.engine) as session:
            query = select(ApplicationRow).order_by(col(ApplicationRow.id).desc()).limit(limit)
            if after is not None:
                query = query.where(col(ApplicationRow.id) < after)
            if requester is not None:
                query = query.where(col(ApplicationRow.requester) == requester)
            if consumer is not None:
                query = query.where(col(ApplicationRow.consumer_id) == consumer)
            return list(session.exec(query))

    def record(
        self,
        application_id: str,
        *,
        state: str,
        verdict: dict[str, Any],
        decided_at: datetime,
        consumer_id: str | None = None,
        der_id: str | None = None,
        meter_id: str | None = None,
        credential_id: str | None = None,
    ) -> None:
        with session_scope(self.engine) as session:
            row = session.get(ApplicationRow, application_id)
            assert row is not None
            row.state = state
            row.verdict = verdict
            row.decided_at = to_db(decided_at)
            row.consumer_id = consumer_id
            row.der_id = der_id
            row.meter_id = meter_id
            row.credential_id = credential_id
            session.add(row)
