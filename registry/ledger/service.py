"""The ledger's use cases: who may write what, idempotent appends, paged reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from kernel.database import from_db, session_scope, to_db
from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import Problem
from registry.directory.keys import KeyLookup, Refusal
from registry.directory.signing import read_claims, verify_write
from registry.ledger import store
from registry.ledger.errors import (
    LedgerEntryNotFound,
    LedgerInputInvalid,
    LedgerSignatureInvalid,
    LedgerTradeConflict,
    LedgerWriterNotAllowed,
)
from registry.ledger.models import (
    MeterBlockOut,
    MeterBlocksIn,
    MeterWriteReport,
    TradeIn,
    TradeOut,
    block_at,
    meter_of_discom,
    same_amount,
)


@dataclass(frozen=True, slots=True)
class LedgerWriters:
    """Who may write: the P2P platforms (trades) and the discoms (meter blocks), by
    subscriber id, as the network operator's participant roles name them."""

    platforms: frozenset[str]
    discoms: frozenset[str]


def _trade_out(row: store.TradeRow) -> TradeOut:
    assert row.id is not None
    return TradeOut(
        id=row.id, platform=row.platform, trade_id=row.trade_id,
        block_start=from_db(row.block_start).isoformat(), seller=row.seller, buyer=row.buyer,
        seller_meter=row.seller_meter, buyer_meter=row.buyer_meter,
        quantity_kwh=row.quantity_kwh, price_inr_per_kwh=row.price_inr_per_kwh,
        jurisdiction=row.jurisdiction, policy_decision=row.policy_decision,
        contract=row.contract, recorded_at=from_db(row.recorded_at),
    )  # fmt: skip


def _block_out(row: store.MeterBlockRow) -> MeterBlockOut:
    assert row.id is not None
    return MeterBlockOut(
        id=row.id, discom=row.discom, meter=row.meter,
        block_start=from_db(row.block_start).isoformat(), export_kwh=row.export_kwh,
        import_kwh=row.import_kwh, quality=row.quality, version=row.version,
        current=row.current, recorded_at=from_db(row.recorded_at),
    )  # fmt: skip


def _same_trade(row: store.TradeRow, trade: TradeIn) -> bool:
    return (
        from_db(row.block_start) == block_at(trade.block_start)
        and (row.seller, row.buyer, row.seller_meter, row.buyer_meter, row.jurisdiction)
        == (trade.seller, trade.buyer, trade.seller_meter, trade.buyer_meter, trade.jurisdiction)
        and same_amount(row.quantity_kwh, trade.quantity_kwh)
        and same_amount(row.price_inr_per_kwh, trade.price_inr_per_kwh)
        and (row.policy_decision, row.contract) == (trade.policy_decision, trade.contract)
    )


class Ledger:
    def __init__(
        self,
        engine: Engine,
        keys: KeyLookup,
        writers: LedgerWriters,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.writers = writers
        self.clock = clock

    # ------------------------------------------------------------------ who writes

    def authenticate(self, token: str | None, method: str, path: str, body: bytes) -> str:
        """The subscriber whose directory key signed this exact write.

        A replayed write is harmless (every write is idempotent), so no ``jti`` is
        remembered; ``iat`` bounds how long a captured one stays usable."""
        now = self.clock()
        try:
            claims = read_claims(token)
            key = self.keys.lookup_signing_key(claims.namespace, claims.key_id, now)
            if isinstance(key, Refusal):
                raise LedgerSignatureInvalid(f"{claims.kid}: {key.detail}")
            verify_write(token, method, path, body, key.public_key, now)
        except Problem as exc:
            if isinstance(exc, LedgerSignatureInvalid):
                raise
            raise LedgerSignatureInvalid(exc.detail) from exc
        return claims.namespace

    # ------------------------------------------------------------------ trades

    def record_trade(self, writer: str, trade: TradeIn) -> tuple[TradeOut, bool]:
        """The trade as recorded, and whether this call recorded it (a retry did not)."""
        if writer not in self.writers.platforms:
            raise LedgerWriterNotAllowed(f"{writer} is not a P2P trading platform")
        if trade.seller == trade.buyer or trade.seller_meter == trade.buyer_meter:
            raise LedgerInputInvalid("a party may not trade with itself")
        try:
            return self._append_trade(writer, trade)
        except IntegrityError:  # the same trade raced in: the retry reads what won
            return self._append_trade(writer, trade)

    def _append_trade(self, writer: str, trade: TradeIn) -> tuple[TradeOut, bool]:
        with session_scope(self.engine) as session:
            found = store.trade_by_key(session, writer, trade.trade_id)
            if found is not None:
                if not _same_trade(found, trade):
                    raise LedgerTradeConflict(f"{writer} recorded {trade.trade_id} otherwise")
                return _trade_out(found), False
            row = store.TradeRow(
                platform=writer, **trade.model_dump(exclude={"block_start"}),
                block_start=to_db(block_at(trade.block_start)),
                recorded_at=to_db(self.clock()),
            )  # fmt: skip
            session.add(row)
            session.flush()
            return _trade_out(row), True

    def trade(self, id_: int) -> TradeOut:
        with session_scope(self.engine) as session:
            row = store.trade_by_id(session, id_)
            if row is None:
                raise LedgerEntryNotFound(f"no trade {id_}")
            return _trade_out(row)

    def trades(
        self,
        *,
        party: str | None = None,
        platform: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[TradeOut]:
        filters = {"party": party, "platform": platform, "since": since, "until": until}
        after = int(decode_cursor(cursor, filters)[0]) if cursor else None
        with session_scope(self.engine) as session:
            rows = store.trades(
                session, party=party, platform=platform,
                since=to_db(block_at(since)) if since else None,
                until=to_db(block_at(until)) if until else None, after=after, limit=limit + 1,
            )  # fmt: skip
            items = [_trade_out(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(
            items=items, next_cursor=encode_cursor([items[-1].id], filters) if more else None
        )

    # ------------------------------------------------------------------ meter blocks

    def record_meter_blocks(self, writer: str, batch: MeterBlocksIn) -> MeterWriteReport:
        """Append each block; the same values again change nothing; other values for
        a block already recorded are a correction: a new version, the old one kept."""
        if writer not in self.writers.discoms:
            raise LedgerWriterNotAllowed(f"{writer} is not a discom")
        foreign = sorted({r.meter for r in batch.records if not meter_of_discom(r.meter, writer)})
        if foreign:
            raise LedgerWriterNotAllowed(f"{writer} may not record meters of others: {foreign[:3]}")
        keys = [(r.meter, block_at(r.block_start)) for r in batch.records]
        if len(set(keys)) != len(keys):
            raise LedgerInputInvalid("a batch names one meter's block once")
        try:
            return self._append_blocks(writer, batch, keys)
        except IntegrityError:  # a concurrent write of the same block: judge again after it
            return self._append_blocks(writer, batch, keys)

    def _append_blocks(
        self, writer: str, batch: MeterBlocksIn, keys: list[tuple[str, datetime]]
    ) -> MeterWriteReport:
        report = MeterWriteReport(created=0, corrected=0, unchanged=0)
        now = to_db(self.clock())
        with session_scope(self.engine) as session:
            for record, (meter, at) in zip(batch.records, keys, strict=True):
                found = store.current_block(session, meter, to_db(at))
                version = 1
                if found is not None:
                    if (
                        same_amount(found.export_kwh, record.export_kwh)
                        and same_amount(found.import_kwh, record.import_kwh)
                        and found.quality == record.quality
                    ):
                        report.unchanged += 1
                        continue
                    found.current = False
                    session.add(found)
                    session.flush()
                    version = found.version + 1
                    report.corrected += 1
                else:
                    report.created += 1
                session.add(store.MeterBlockRow(
                    discom=writer, meter=meter, block_start=to_db(at),
                    export_kwh=record.export_kwh, import_kwh=record.import_kwh,
                    quality=record.quality, version=version, current=True, recorded_at=now,
                ))  # fmt: skip
        return report

    def meter_blocks(
        self,
        *,
        meter: str | None = None,
        discom: str | None = None,
        since: str | None = None,
        until: str | None = None,
        history: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[MeterBlockOut]:
        filters = {"meter": meter, "discom": discom, "since": since, "until": until,
                   "history": history}  # fmt: skip
        after = int(decode_cursor(cursor, filters)[0]) if cursor else None
        with session_scope(self.engine) as session:
            rows = store.meter_blocks(
                session, meter=meter, discom=discom,
                since=to_db(block_at(since)) if since else None,
                until=to_db(block_at(until)) if until else None,
                history=history, after=after, limit=limit + 1,
            )  # fmt: skip
            items = [_block_out(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(
            items=items, next_cursor=encode_cursor([items[-1].id], filters) if more else None
        )
