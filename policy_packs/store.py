"""The decision log: one row per decision, queryable by whoever must explain it later.

The input itself is not kept (it may hold personal data the log has no consent for);
its SHA-256 over canonical JSON is, so a regulator holding the input can prove it is
the one decided on. Timestamps are stored as naive UTC and handed out as aware UTC.
At national scale the table is partitioned by jurisdiction (the state) and then by
month of ``decided_at``; every query below filters or orders within that shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, Index, Integer
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col, select


class PolicyTable(SQLModel, registry=sa_registry()):
    """Base of the policy block's tables: their own metadata, their own migrations."""


metadata = PolicyTable.metadata


class DecisionRow(PolicyTable, table=True):
    __tablename__ = "policy_decision"
    __table_args__ = (
        Index("ix_policy_decision_scope", "jurisdiction", "domain", "seq"),
        Index("ix_policy_decision_input_digest", "input_digest"),
        Index("ix_policy_decision_reference", "reference"),
    )

    # BigInteger on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY auto-increments).
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=32, unique=True)
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    jurisdiction: str = Field(max_length=8)
    domain: str = Field(max_length=32)
    as_of: date = Field(sa_column=Column(Date, nullable=False))
    allow: bool
    violations: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    pack_id: str = Field(max_length=64)
    pack_version: str = Field(max_length=32)
    pack_jurisdiction: str = Field(max_length=8)
    pack_digest: str = Field(max_length=80)
    input_digest: str = Field(max_length=80)
    engine: str = Field(max_length=16)
    reference: str | None = Field(default=None, max_length=128)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def add_decision(session: Session, row: DecisionRow) -> DecisionRow:
    row.decided_at = utc(row.decided_at).replace(tzinfo=None)
    session.add(row)
    session.flush()
    return row


def get_decision(session: Session, decision_id: str) -> DecisionRow | None:
    return session.exec(select(DecisionRow).where(col(DecisionRow.id) == decision_id)).first()


def list_decisions(
    session: Session,
    *,
    filters: dict[str, Any],
    before_seq: int | None,
    limit: int,
) -> Sequence[DecisionRow]:
    """Newest first; ``filters`` maps column names to the value they must equal."""
    query = select(DecisionRow)
    for name, value in filters.items():
        query = query.where(getattr(DecisionRow, name) == value)
    if before_seq is not None:
        query = query.where(col(DecisionRow.seq) < before_seq)
    query = query.order_by(col(DecisionRow.seq).desc()).limit(limit)
    return session.exec(query).all()
