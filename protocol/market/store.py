"""The P2P market's records: its open orders, what each block cleared and each
party's settlement.

* ``market_order``: every order the platform took, with the exact bytes the prosumer
  signed and the signature (so it can be verified again), written in the request that
  answers 201: the open book is these rows with no ``cleared_block``, loaded again by
  a restarted platform. Clearing marks them in the same transaction that writes the
  block (below), and only if none is marked already: no order is cleared twice.

What the platform decided from the book is a record too, written once when it is
decided and read as written afterwards:

* ``market_block``: one row per cleared block: the orders it was cleared from (bids
  and asks as the book held them), the uniform price and quantity, and every trade
  with the policy decision on it. A cleared block takes no more orders, so clearing
  the same day again finds none of its orders open and leaves the row as it is.
  The row is written *before* anything leaves the platform (write-ahead): its trades
  are then fixed, and each trade's policy decision and ledger answer are added to it
  as they happen (:meth:`MarketStore.keep_postings`), each decision kept before the
  ledger is asked to record the trade under it. ``posted_at`` is set when every trade
  is decided and every allowed one is in the ledger; a block without it was
  interrupted (a crash, a service down) and its postings are finished, never redone,
  by the next clearing of the day: the ledger answers a trade posted again with the
  same content as recorded once (200), so no trade is ever recorded twice.
* ``market_statement``: one row per party (and per discom) per settled day: the
  statement exactly as the platform settled it from the ledger. Settling the day
  again replaces it and counts a new ``version`` (the discoms may have corrected
  their meter blocks).

Who may trade is a record too:

* ``market_prosumer``: one row per onboarded prosumer (its wallet's did:key), written
  before the onboarding answers, loaded by a restarted platform; onboarding the same
  holder again updates its row (a new ``version``), never adds one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, CursorResult, Engine, Index, LargeBinary, update
from sqlalchemy.exc import IntegrityError
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
    posted_at: datetime | None = _ts(nullable=True)  # None: postings unfinished


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


class OrderRow(MarketTable, table=True):
    __tablename__ = "market_order"
    __table_args__ = (Index("ix_market_order_open", "cleared_block", "day", "number"),)

    id: str = Field(primary_key=True, max_length=64)  # the prosumer's own order id
    holder: str = Field(max_length=300)  # the did:key that signed ``body``
    party: str = Field(max_length=255)  # its registry id, as the book names it
    side: str = Field(max_length=4)
    day: str = Field(max_length=10)
    number: int
    quantity_kwh: str = Field(max_length=16)
    price_inr_per_kwh: str = Field(max_length=16)
    seq: int  # the platform's arrival order (time priority)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # as signed
    signature: str = Field(max_length=200)
    taken_at: datetime = _ts()
    cleared_block: str | None = Field(default=None, max_length=20)  # None: open


class ProsumerRow(MarketTable, table=True):
    __tablename__ = "market_prosumer"
    __table_args__ = (Index("ix_market_prosumer_customer", "customer"),)

    holder: str = Field(primary_key=True, max_length=300)  # the wallet's did:key
    customer: str = Field(max_length=255)  # its registry id
    meter: str = Field(max_length=300)  # its meter's asset DID
    discom: str = Field(max_length=255)  # the issuing discom's host
    category: str = Field(max_length=40)
    sanctioned_load_kw: float
    der_capacity_kw: float
    metering_scheme: str = Field(max_length=20)
    export_basis: str = Field(max_length=20)
    der_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    permission: str = Field(max_length=100)  # the trading permission issued last (its id)
    version: int = 1  # onboardings of this holder
    onboarded_at: datetime = _ts()
    updated_at: datetime = _ts()


class OrdersAlreadyCleared(RuntimeError):
    """A clearing tried to mark orders another clearing had marked (nothing written)."""


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
        "posted_at": None if row.posted_at is None else from_db(row.posted_at).isoformat(),
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

    def take_order(self, row: OrderRow) -> OrderRow:
        """Keep ``row`` unless its id is taken: then the row already kept is returned
        (the caller tells a re-post of the same signed order from another one)."""
        with session_scope(self.engine) as session:
            kept = session.get(OrderRow, row.id)
            if kept is not None:
                return kept
            session.add(row)
        return row

    def order(self, order_id: str) -> OrderRow | None:
        with session_scope(self.engine) as session:
            return session.get(OrderRow, order_id)

    def open_orders(self) -> list[OrderRow]:
        """The open book, in arrival order."""
        with session_scope(self.engine) as session:
            query = select(OrderRow).where(col(OrderRow.cleared_block).is_(None))
            return list(session.exec(query.order_by(col(OrderRow.seq))))

    def last_seq(self) -> int:
        with session_scope(self.engine) as session:
            query = select(OrderRow.seq).order_by(col(OrderRow.seq).desc()).limit(1)
            return session.exec(query).first() or 0

    def keep_clearing(self, rows: list[BlockRow], orders: dict[str, list[str]]) -> None:
        """The cleared blocks and their orders (order ids by block id) marked cleared,
        in one transaction; :class:`OrdersAlreadyCleared`, and nothing written, when any
        of those orders is not open any more."""
        with session_scope(self.engine) as session:
            for block, ids in orders.items():
                if not ids:
                    continue
                marked: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                    update(OrderRow)
                    .where(col(OrderRow.id).in_(ids), col(OrderRow.cleared_block).is_(None))
                    .values(cleared_block=block)
                )
                if marked.rowcount != len(set(ids)):
                    raise OrdersAlreadyCleared(f"orders of {block} were cleared already")
            for row in rows:
                session.merge(row)

    def unposted(self, day: str) -> list[BlockRow]:
        """The day's cleared blocks whose postings (decisions, ledger) are unfinished."""
        with session_scope(self.engine) as session:
            query = select(BlockRow).where(BlockRow.day == day, col(BlockRow.posted_at).is_(None))
            return list(session.exec(query.order_by(col(BlockRow.number))))

    def keep_postings(
        self, block_id: str, trades: list[dict[str, Any]], posted_at: datetime | None
    ) -> None:
        """The block's trades with what was decided and posted so far; ``posted_at``
        once every posting is done (a posted block is never changed again)."""
        with session_scope(self.engine) as session:
            row = session.get(BlockRow, block_id)
            if row is None or row.posted_at is not None:
                raise LookupError(f"{block_id} is not a cleared block with postings to do")
            row.trades = [dict(t) for t in trades]
            row.posted_at = posted_at
            session.add(row)

    def blocks(self, day: str, after: int | None, limit: int) -> list[BlockRow]:
        with session_scope(self.engine) as session:
            query = select(BlockRow).where(BlockRow.day == day)
            if after is not None:
                query = query.where(col(BlockRow.number) > after)
            return list(session.exec(query.order_by(col(BlockRow.number)).limit(limit)))

    def block(self, block_id: str) -> BlockRow | None:
        with session_scope(self.engine) as session:
            return session.get(BlockRow, block_id)

    def keep_prosumer(self, row: ProsumerRow) -> ProsumerRow:
        """Keep an onboarded prosumer: a new holder is added, a holder onboarding again
        has its row updated (same ``onboarded_at``, next ``version``)."""
        try:
            return self._keep_prosumer(row)
        except IntegrityError:  # the same holder onboarded at the same moment: update it
            return self._keep_prosumer(row)

    def _keep_prosumer(self, row: ProsumerRow) -> ProsumerRow:
        with session_scope(self.engine) as session:
            kept = session.get(ProsumerRow, row.holder)
            if kept is None:
                session.add(row)
                return row
            for name, value in row.model_dump(exclude={"holder", "onboarded_at",
                                                       "version"}).items():  # fmt: skip
                setattr(kept, name, value)
            kept.version += 1
            session.add(kept)
            return kept

    def prosumers(self) -> list[ProsumerRow]:
        """Every onboarded prosumer, the most recently onboarded last."""
        with session_scope(self.engine) as session:
            order = (col(ProsumerRow.updated_at), col(ProsumerRow.holder))
            return list(session.exec(select(ProsumerRow).order_by(*order)))

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
