"""The inbox's table: every version of every filing, never deleted or overwritten.

A row is written once; the only changes it ever sees are the regulator's request for a
correction (ACKNOWLEDGED → CORRECTIONS_REQUESTED, its reasons kept on the row) and
being marked SUPERSEDED by the version that corrects it (conditional updates, so two
actions racing for one version cannot both win). The submission body and the
signature that covered it are kept beside the decision, so the commission can show
later exactly what it received.
At national scale the table is partitioned by jurisdiction; every query below filters
by licensee or docket, or pages by ``seq`` within a jurisdiction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint, update
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col, select

from kernel.database import timestamp_field, to_db


class FilingTable(SQLModel, registry=sa_registry()):
    """Base of the filings inbox's tables: their own metadata, their own migrations."""


metadata = FilingTable.metadata


class FilingRow(FilingTable, table=True):
    __tablename__ = "filings_filing"
    __table_args__ = (
        UniqueConstraint("licensee", "filing_ref", name="uq_filings_filing_licensee_ref"),
        Index("ix_filings_filing_docket", "docket", "version"),
        Index("ix_filings_filing_scope", "jurisdiction", "seq"),
    )

    # BigInteger on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY auto-increments).
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=32, unique=True)
    docket: str = Field(max_length=32)
    version: int
    licensee: str = Field(max_length=255)
    jurisdiction: str = Field(max_length=8)
    filing_ref: str = Field(max_length=200)
    filing_id: str = Field(max_length=200)
    financial_year: str = Field(max_length=16)
    status: str = Field(max_length=32)
    supersedes: str | None = Field(default=None, max_length=32)
    superseded_by: str | None = Field(default=None, max_length=32)
    received_at: datetime = timestamp_field()
    submission_digest: str = Field(max_length=80)
    atc_loss_pct: float
    feeders: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    decision: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submission: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    signature: str = Field(sa_column=Column(Text, nullable=False))
    correction_request: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )


def add(session: Session, row: FilingRow) -> FilingRow:
    row.received_at = to_db(row.received_at)
    session.add(row)
    session.flush()
    return row


def get(session: Session, filing_id: str) -> FilingRow | None:
    return session.exec(select(FilingRow).where(col(FilingRow.id) == filing_id)).first()


def by_ref(session: Session, licensee: str, filing_ref: str) -> FilingRow | None:
    query = select(FilingRow).where(
        col(FilingRow.licensee) == licensee, col(FilingRow.filing_ref) == filing_ref
    )
    return session.exec(query).first()


def versions(session: Session, docket: str) -> Sequence[FilingRow]:
    query = select(FilingRow).where(col(FilingRow.docket) == docket)
    return session.exec(query.order_by(col(FilingRow.version))).all()


def mark_superseded(session: Session, filing_id: str, by: str, from_status: str) -> bool:
    """Supersede ``filing_id`` if it is still in ``from_status``; False if it moved on."""
    result = session.execute(
        update(FilingRow)
        .where(col(FilingRow.id) == filing_id, col(FilingRow.status) == from_status)
        .where(col(FilingRow.superseded_by).is_(None))
        .values(status="SUPERSEDED", superseded_by=by)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_corrections_requested(
    session: Session, filing_id: str, request: dict[str, Any], from_status: str
) -> bool:
    """Keep the regulator's request on ``filing_id`` if it is still in ``from_status``."""
    result = session.execute(
        update(FilingRow)
        .where(col(FilingRow.id) == filing_id, col(FilingRow.status) == from_status)
        .where(col(FilingRow.superseded_by).is_(None))
        .values(status="CORRECTIONS_REQUESTED", correction_request=request)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def listing(
    session: Session, *, filters: dict[str, Any], after_seq: int | None, limit: int
) -> Sequence[FilingRow]:
    """Oldest first; ``filters`` maps column names to the value they must equal."""
    query = select(FilingRow)
    for name, value in filters.items():
        query = query.where(getattr(FilingRow, name) == value)
    if after_seq is not None:
        query = query.where(col(FilingRow.seq) > after_seq)
    return session.exec(query.order_by(col(FilingRow.seq)).limit(limit)).all()
