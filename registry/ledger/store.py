"""The ledger's tables: trades and meter blocks, appended, never rewritten.

Amounts are kept as the decimal text they were written with (no float in between).
At national scale both tables are partitioned by state (``jurisdiction``; a meter
block by its discom) and by month of ``block_start``; every query below filters on
those columns or on the unique keys, and pages by ``id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, UniqueConstraint
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col, select

from kernel.database import timestamp_field


class LedgerTable(SQLModel, registry=sa_registry()):
    """Base of the ledger's tables: their own metadata, their own migrations."""


metadata = LedgerTable.metadata


def _id() -> object:
    # BigInteger on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY auto-increments).
    return Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )


class TradeRow(LedgerTable, table=True):
    __tablename__ = "ledger_trade"
    __table_args__ = (
        UniqueConstraint("platform", "trade_id", name="uq_ledger_trade_platform_trade"),
        Index("ix_ledger_trade_block", "jurisdiction", "block_start"),
        Index("ix_ledger_trade_seller", "seller", "block_start"),
        Index("ix_ledger_trade_buyer", "buyer", "block_start"),
    )

    id: int | None = _id()  # type: ignore[assignment]
    platform: str = Field(max_length=255)
    trade_id: str = Field(max_length=255)
    block_start: datetime = timestamp_field()
    seller: str = Field(max_length=255)
    buyer: str = Field(max_length=255)
    seller_meter: str = Field(max_length=255)
    buyer_meter: str = Field(max_length=255)
    quantity_kwh: str = Field(max_length=16)
    price_inr_per_kwh: str = Field(max_length=16)
    jurisdiction: str = Field(max_length=8)
    policy_decision: str | None = Field(default=None, max_length=64)
    contract: str | None = Field(default=None, max_length=255)
    recorded_at: datetime = timestamp_field()


class MeterBlockRow(LedgerTable, table=True):
    __tablename__ = "ledger_meter_block"
    __table_args__ = (
        UniqueConstraint("meter", "block_start", "version", name="uq_ledger_meter_block_version"),
        Index("ix_ledger_meter_block_current", "meter", "block_start", "current"),
        Index("ix_ledger_meter_block_discom", "discom", "block_start"),
    )

    id: int | None = _id()  # type: ignore[assignment]
    discom: str = Field(max_length=255)
    meter: str = Field(max_length=255)
    block_start: datetime = timestamp_field()
    export_kwh: str = Field(max_length=16)
    import_kwh: str = Field(max_length=16)
    quality: str = Field(max_length=16)
    version: int
    current: bool
    recorded_at: datetime = timestamp_field()


def trade_by_key(session: Session, platform: str, trade_id: str) -> TradeRow | None:
    query = select(TradeRow).where(
        col(TradeRow.platform) == platform, col(TradeRow.trade_id) == trade_id
    )
    return session.exec(query).first()


def trade_by_id(session: Session, id_: int) -> TradeRow | None:
    return session.get(TradeRow, id_)


def trades(
    session: Session,
    *,
    party: str | None,
    platform: str | None,
    since: datetime | None,
    until: datetime | None,
    after: int | None,
    limit: int,
) -> Sequence[TradeRow]:
    query = select(TradeRow)
    if party is not None:
        query = query.where((col(TradeRow.seller) == party) | (col(TradeRow.buyer) == party))
    if platform is not None:
        query = query.where(col(TradeRow.platform) == platform)
    if since is not None:
        query = query.where(col(TradeRow.block_start) >= since)
    if until is not None:
        query = query.where(col(TradeRow.block_start) < until)
    if after is not None:
        query = query.where(col(TradeRow.id) > after)
    return session.exec(query.order_by(col(TradeRow.id)).limit(limit)).all()


def current_block(session: Session, meter: str, block_start: datetime) -> MeterBlockRow | None:
    query = select(MeterBlockRow).where(
        col(MeterBlockRow.meter) == meter,
        col(MeterBlockRow.block_start) == block_start,
        col(MeterBlockRow.current).is_(True),
    )
    return session.exec(query).first()


def meter_blocks(
    session: Session,
    *,
    meter: str | None,
    discom: str | None,
    since: datetime | None,
    until: datetime | None,
    history: bool,
    after: int | None,
    limit: int,
) -> Sequence[MeterBlockRow]:
    query = select(MeterBlockRow)
    if not history:
        query = query.where(col(MeterBlockRow.current).is_(True))
    if meter is not None:
        query = query.where(col(MeterBlockRow.meter) == meter)
    if discom is not None:
        query = query.where(col(MeterBlockRow.discom) == discom)
    if since is not None:
        query = query.where(col(MeterBlockRow.block_start) >= since)
    if until is not None:
        query = query.where(col(MeterBlockRow.block_start) < until)
    if after is not None:
        query = query.where(col(MeterBlockRow.id) > after)
    return session.exec(query.order_by(col(MeterBlockRow.id)).limit(limit)).all()
