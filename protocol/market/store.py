"""The P2P market's records: what each block cleared and each party's settlement.

The order book itself lives in the platform's memory (open orders are not kept over a
restart); what the platform decided from it is a record and is kept here, written
once when it is decided and read as written afterwards:

* ``market_block``: one row per cleared block: the orders it was cleared from (bids
  and asks as the book held them), the uniform price and quantity, and every trade
  with the policy decision on it. Clearing the same day again replaces the row (the
  book may have taken more orders since); the ledger keeps what was recorded.
* ``market_statement``: one row per party (and per discom) per settled day: the
  statement exactly as the platform settled it from the ledger. Settling the day
  again replaces it and counts a new ``version`` (the discoms may have corrected
  their meter blocks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Engine, Index
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, SQLModel, col, select

from kernel.database import from_db, session_scope, to_db
from kernel.database import timestamp_field as _ts


class MarketTable(SQLModel, registry=sa_registry()):
    """Base of the market's tables: their own metadata, their own migrations."""


metadata = MarketTable.metadata


class BlockRow(MarketTable, table=True):
    __tablename__ = "market_block"
    __table_args__ = (Index("ix_market_block_day", "day", "number"),)

    id: str = Field(primary_key=True, max_length=20)  # "2026-11-24#37"
    day: str = Field(max_length=10)  # ISO date (IST)
    number: int  # 1..96
    start: datetime = _ts()
    price_inr_per_kwh: str | None = Field(default=None, max_length=16)  # None: no cross
    quantity_kwh: str = Field(max_length=16)
    orders: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    trades: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    cleared_at: datetime = _ts()


class StatementRow(MarketTable, table=True):
    __tablename__ = "market_statement"
    __table_args__ = (Index("ix_market_statement_party", "party"),)

    day: str = Field(primary_key=True, max_length=10)
    party: str = Field(primary_key=True, max_length=255)  # registry id, or a discom host
    discom: str | None = Field(default=None, max_length=255)  # None: a discom's own
    net_inr: str = Field(max_length=20)
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1
    settled_at: datetime = _ts()


def block_json(row: BlockRow) -> dict[str, Any]:
    return {
        "block": row.id,
        "day": row.day,
        "number": row.number,
        "start": from_db(row.start).isoformat(),
        "price_inr_per_kwh": row.price_inr_per_kwh,
        "quantity_kwh": row.quantity_kwh,
        "orders": row.orders,
        "trades": row.trades,
        "cleared_at": from_db(row.cleared_at).isoformat(),
    }


def statement_json(row: StatementRow) -> dict[str, Any]:
    return {
        "day": row.day,
        "version": row.version,
        "settled_at": from_db(row.settled_at).isoformat(),
        **row.statement,
    }


class MarketStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def keep_block(self, row: BlockRow) -> None:
        with session_scope(self.engine) as session:
            session.merge(row)

    def blocks(self, day: str, after: int | None, limit: int) -> list[BlockRow]:
        with session_scope(self.engine) as session:
            query = select(BlockRow).where(BlockRow.day == day)
            if after is not None:
                query = query.where(col(BlockRow.number) > after)
            return list(session.exec(query.order_by(col(BlockRow.number)).limit(limit)))

    def block(self, block_id: str) -> BlockRow | None:
        with session_scope(self.engine) as session:
            return session.get(BlockRow, block_id)

    def keep_statements(self, day: str, statements: list[dict[str, Any]], at: datetime) -> None:
        """Every statement of ``day`` at once (a re-settlement replaces them all)."""
        with session_scope(self.engine) as session:
            old = {r.party: r for r in session.exec(select(StatementRow).where(
                StatementRow.day == day))}  # fmt: skip
            for s in statements:
                party = str(s["party"])
                previous = old.pop(party, None)
                version = previous.version + 1 if previous is not None else 1
                if previous is not None:
                    session.delete(previous)
                    session.flush()
                session.add(StatementRow(
                    day=day, party=party, discom=s.get("discom"), net_inr=str(s["netInr"]),
                    statement=s, version=version, settled_at=to_db(at)))  # fmt: skip
            for gone in old.values():  # a party with no trade left in the re-settled day
                session.delete(gone)

    def statements(
        self, day: str | None, party: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[StatementRow]:
        """By day then party (a party's across days when ``day`` is None)."""
        with session_scope(self.engine) as session:
            query = select(StatementRow)
            if day is not None:
                query = query.where(StatementRow.day == day)
            if party is not None:
                query = query.where(StatementRow.party == party)
            if after is not None:
                last_day, last_party = after
                query = query.where(
                    (col(StatementRow.day) > last_day)
                    | ((col(StatementRow.day) == last_day) & (col(StatementRow.party) > last_party))
                )
            order = (col(StatementRow.day), col(StatementRow.party))
            return list(session.exec(query.order_by(*order).limit(limit)))
