"""The protocol's tables and the queries on them (SQLite and PostgreSQL alike).

* ``protocol_message``: the message log, every inbound and outbound message with its
  digest, signature and verdict (and the step that refused it), per transaction.
* ``protocol_received``: what each participant took in, unique on (receiver, sender,
  action, messageId): the database itself refuses a second hand-over, and the row
  keeps the request's signature and digest that the ``on_*`` callback must bind.
* ``protocol_outbox``: messages to deliver, with their attempts and next due time, so
  a sender that restarts loses nothing.
* ``protocol_page_cursor``: the page cursors a data provider has served, unique per
  provider, so each cursor pulls its page once (``protocol.sharing``).

Timestamps are stored as naive UTC and handed out as aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Engine, Index, LargeBinary, UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col, select

from kernel.database import session_scope, to_db
from kernel.database import timestamp_field as _ts
from protocol.errors import MessageDuplicate, MessageIdReused, StateConflict
from protocol.receiving import Exchanged, Handler, Inbound, Refused


class ProtocolTable(SQLModel, registry=sa_registry()):
    """Base of the protocol's tables: their own metadata, their own migrations."""


metadata = ProtocolTable.metadata


class MessageRow(ProtocolTable, table=True):
    __tablename__ = "protocol_message"
    __table_args__ = (
        Index("ix_protocol_message_transaction", "participant", "transaction_id", "pk"),
        Index("ix_protocol_message_message", "participant", "message_id", "direction"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    participant: str = Field(max_length=255)
    direction: str = Field(max_length=3)  # in | out
    counterparty: str = Field(max_length=255)
    action: str = Field(max_length=32)
    message_id: str = Field(max_length=255)
    transaction_id: str = Field(max_length=255)
    timestamp: str = Field(max_length=64)
    digest: str = Field(max_length=100)
    signature: str = Field(max_length=100)
    verdict: str = Field(max_length=8)  # SENT (awaiting the answer) | ACK | NACK | ERROR
    http_status: int | None = None
    error_code: str | None = Field(default=None, max_length=16)
    step: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, max_length=500)


class ReceivedRow(ProtocolTable, table=True):
    __tablename__ = "protocol_received"
    __table_args__ = (
        UniqueConstraint(
            "receiver", "sender", "action", "message_id", name="uq_protocol_received_message"
        ),
        Index("ix_protocol_received_request", "receiver", "message_id", "action"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    receiver: str = Field(max_length=255)
    sender: str = Field(max_length=255)
    action: str = Field(max_length=32)
    message_id: str = Field(max_length=255)
    transaction_id: str = Field(max_length=255)
    digest: str = Field(max_length=100)
    signature: str = Field(max_length=100)
    received_at: datetime = _ts()


class PageCursorRow(ProtocolTable, table=True):
    """A page cursor a provider has served (its SHA-256, never the token itself)."""

    __tablename__ = "protocol_page_cursor"
    __table_args__ = (
        UniqueConstraint("provider", "cursor_digest", name="uq_protocol_page_cursor"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=255)
    cursor_digest: str = Field(max_length=64)
    requester: str = Field(max_length=255)
    transaction_id: str = Field(max_length=255)
    message_id: str = Field(max_length=255)
    used_at: datetime = _ts()


class OutboxRow(ProtocolTable, table=True):
    __tablename__ = "protocol_outbox"
    __table_args__ = (Index("ix_protocol_outbox_due", "state", "next_attempt_at"),)

    pk: int | None = Field(default=None, primary_key=True)
    sender: str = Field(max_length=255)
    counterparty: str = Field(max_length=255)
    url: str = Field(max_length=2000)
    action: str = Field(max_length=32)
    message_id: str = Field(max_length=255)
    transaction_id: str = Field(max_length=255)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    request_signature: str | None = Field(default=None, max_length=100)
    forwarded_authorization: str | None = Field(default=None, max_length=2048)
    state: str = Field(max_length=12)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(nullable=True)


class ProtocolStore:
    """The protocol's storage over one engine; implements the receiver's records port."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -------------------------------------------------------------- receiving

    def received_digest(
        self, receiver: str, sender: str, action: str, message_id: str
    ) -> str | None:
        with Session(self.engine) as session:
            return session.exec(
                select(ReceivedRow.digest).where(
                    ReceivedRow.receiver == receiver,
                    ReceivedRow.sender == sender,
                    ReceivedRow.action == action,
                    ReceivedRow.message_id == message_id,
                )
            ).first()

    def cursor_served(self, provider: str, cursor_digest: str) -> bool:
        with Session(self.engine) as session:
            return (
                session.exec(
                    select(PageCursorRow.pk).where(
                        PageCursorRow.provider == provider,
                        PageCursorRow.cursor_digest == cursor_digest,
                    )
                ).first()
                is not None
            )

    def received_request(self, receiver: str, message_id: str, action: str) -> Exchanged | None:
        """The request we received that a callback with ``message_id`` answers."""
        with Session(self.engine) as session:
            row = session.exec(
                select(ReceivedRow)
                .where(
                    ReceivedRow.receiver == receiver,
                    ReceivedRow.message_id == message_id,
                    ReceivedRow.action == action,
                )
                .order_by(col(ReceivedRow.pk).desc())
            ).first()
        if row is None:
            return None
        return Exchanged(row.message_id, row.action, row.sender, row.digest, row.signature)

    def sent_request(self, sender: str, message_id: str, action: str) -> Exchanged | None:
        """Our own request with ``message_id`` (kept in the log, so it survives restarts)."""
        with Session(self.engine) as session:
            row = session.exec(
                select(MessageRow)
                .where(
                    MessageRow.participant == sender,
                    MessageRow.message_id == message_id,
                    MessageRow.direction == "out",
                    MessageRow.action == action,
                    # SENT: logged before it left; its callback may beat our reading of the ACK.
                    col(MessageRow.verdict).in_(("ACK", "SENT")),
                )
                .order_by(col(MessageRow.pk).desc())
            ).first()
        if row is None:
            return None
        return Exchanged(row.message_id, row.action, row.counterparty, row.digest, row.signature)

    def hand_over(self, message: Inbound, handler: Handler) -> None:
        context = message.context
        sender = message.signature.subscriber_id
        try:
            with session_scope(self.engine) as session:
                session.add(
                    ReceivedRow(
                        receiver=message.receiver,
                        sender=sender,
                        action=message.action,
                        message_id=context.message_id,
                        transaction_id=context.transaction_id,
                        digest=message.digest,
                        signature=message.signature.signature,
                        received_at=to_db(message.received_at),
                    )
                )
                session.add(
                    MessageRow(
                        at=to_db(message.received_at),
                        participant=message.receiver,
                        direction="in",
                        counterparty=sender,
                        action=message.action,
                        message_id=context.message_id,
                        transaction_id=context.transaction_id,
                        timestamp=context.timestamp,
                        digest=message.digest,
                        signature=message.signature.signature,
                        verdict="ACK",
                        http_status=200,
                    )
                )
                session.flush()
                handler(message, session)
        except IntegrityError:
            # Another worker took the same message between our replay check and now.
            seen = self.received_digest(
                message.receiver, sender, message.action, context.message_id
            )
            if seen == message.digest:
                raise MessageDuplicate(
                    f"{message.action} {context.message_id} was received before"
                ) from None
            if seen is None:
                # Not our own row: the handler's state (a page cursor) was taken meanwhile.
                raise StateConflict(
                    f"{message.action} {context.message_id} conflicts with a concurrent message"
                ) from None
            raise MessageIdReused(f"messageId {context.message_id} was used before") from None

    def log_refusal(self, entry: Refused) -> None:
        with session_scope(self.engine) as session:
            session.add(
                MessageRow(
                    at=to_db(entry.received_at),
                    participant=entry.receiver,
                    direction="in",
                    counterparty=entry.counterparty,
                    action=entry.action[:32],
                    message_id=entry.message_id,
                    transaction_id=entry.transaction_id,
                    timestamp=entry.timestamp,
                    digest=entry.digest,
                    signature=entry.signature,
                    verdict="NACK",
                    http_status=entry.error.status,
                    error_code=entry.error.beckn_code,
                    step=entry.error.step,
                    detail=entry.error.detail[:500],
                )
            )

    # -------------------------------------------------------------- sending

    def log_outbound(self, row: MessageRow) -> int:
        with session_scope(self.engine) as session:
            session.add(row)
            session.flush()
            assert row.pk is not None
            return row.pk

    def settle_outbound(
        self,
        pk: int,
        *,
        verdict: str,
        http_status: int | None,
        error_code: str | None,
        step: str | None,
        detail: str | None,
    ) -> None:
        """Record how the receiver answered a request logged as SENT before it left."""
        with session_scope(self.engine) as session:
            row = session.get(MessageRow, pk)
            if row is not None:
                row.verdict = verdict
                row.http_status = http_status
                row.error_code = error_code
                row.step = step
                row.detail = detail

    # -------------------------------------------------------------- the log

    def messages(
        self, participant: str | None, transaction_id: str, after: int | None, limit: int
    ) -> list[MessageRow]:
        with Session(self.engine) as session:
            query = select(MessageRow).where(MessageRow.transaction_id == transaction_id)
            if participant is not None:
                query = query.where(MessageRow.participant == participant)
            if after is not None:
                query = query.where(col(MessageRow.pk) > after)
            rows = session.exec(query.order_by(col(MessageRow.pk)).limit(limit)).all()
        return list(rows)

    # -------------------------------------------------------------- outbox

    def enqueue(self, row: OutboxRow) -> int:
        with session_scope(self.engine) as session:
            session.add(row)
            session.flush()
            assert row.pk is not None
            return row.pk

    def due(self, sender: str | None, now: datetime, limit: int) -> list[OutboxRow]:
        with Session(self.engine) as session:
            query = select(OutboxRow).where(
                OutboxRow.state == "pending", col(OutboxRow.next_attempt_at) <= to_db(now)
            )
            if sender is not None:
                query = query.where(OutboxRow.sender == sender)
            rows = session.exec(
                query.order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.pk)).limit(limit)
            ).all()
        return list(rows)

    def settle(self, pk: int, **changes: Any) -> None:
        # A write first, no read before it: on SQLite a read transaction that upgrades to
        # a write is refused at once ("database is locked") when another writer is active.
        values = {k: to_db(v) if isinstance(v, datetime) else v for k, v in changes.items()}
        with session_scope(self.engine) as session:
            session.execute(update(OutboxRow).where(col(OutboxRow.pk) == pk).values(**values))

    def outbox(self, sender: str | None = None) -> Sequence[OutboxRow]:
        with Session(self.engine) as session:
            query = select(OutboxRow)
            if sender is not None:
                query = query.where(OutboxRow.sender == sender)
            rows = session.exec(query.order_by(col(OutboxRow.pk))).all()
        return list(rows)
