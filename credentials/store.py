"""The credentials block's tables (own ``registry()`` metadata, names prefixed
``credentials_``) and the queries on them. Timestamps are naive UTC in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, Text, select, update
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, Session, SQLModel, col

from kernel.database import timestamp_field, to_db


def _ts(nullable: bool = False) -> Any:
    return timestamp_field(nullable, default=None)


class CredentialsTable(SQLModel, registry=sa_registry()):
    """Base of the credentials tables: their own metadata, their own migrations."""


metadata = CredentialsTable.metadata


class IssuedRow(CredentialsTable, table=True):
    """A credential this service issued: what it is, how it stands, how it is delivered."""

    __tablename__ = "credentials_issued"

    id: str = Field(primary_key=True, max_length=64)  # urn:uuid:…
    credential_hash: str = Field(max_length=64, unique=True)
    issuer: str = Field(max_length=255, index=True)
    credential_type: str = Field(max_length=64)
    subject: str | None = Field(default=None, max_length=500)
    proof_format: str = Field(max_length=40)
    status: str = Field(default="active", max_length=16)  # active | suspended | revoked
    status_reason: str | None = Field(default=None, max_length=200)
    list_index: int | None = Field(default=None)
    secured: str = Field(sa_column=Column(Text, nullable=False))  # JSON or the compact JWS
    delivery_id: str = Field(max_length=64, unique=True)
    delivery_token_hash: str = Field(max_length=64)
    delivery_expires_at: datetime = _ts()
    delivered_at: datetime | None = _ts(nullable=True)
    issued_at: datetime = _ts()


class StatusListRow(CredentialsTable, table=True):
    """One Bitstring Status List of one issuer (one per purpose)."""

    __tablename__ = "credentials_status_list"

    list_id: str = Field(primary_key=True, max_length=300)
    issuer: str = Field(max_length=255, index=True)
    purpose: str = Field(max_length=16)
    bits: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    next_index: int = 0
    version: int = 0
    updated_at: datetime = _ts()


class NonceRow(CredentialsTable, table=True):
    """A presentation challenge: issued for one domain, used at most once."""

    __tablename__ = "credentials_nonce"

    challenge: str = Field(primary_key=True, max_length=64)
    domain: str = Field(max_length=255)
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)


class CredentialStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    def issued(self, credential_id: str) -> IssuedRow | None:
        return self.session.get(IssuedRow, credential_id)

    def by_delivery(self, delivery_id: str) -> IssuedRow | None:
        return self.session.scalars(
            select(IssuedRow).where(col(IssuedRow.delivery_id) == delivery_id)
        ).first()

    def status_list(self, list_id: str, *, lock: bool = False) -> StatusListRow | None:
        query = select(StatusListRow).where(col(StatusListRow.list_id) == list_id)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def nonce(self, challenge: str) -> NonceRow | None:
        return self.session.get(NonceRow, challenge)

    def use_nonce(self, challenge: str, now: datetime) -> bool:
        """Mark used if still unused; False when another request used it first."""
        result = self.session.execute(
            update(NonceRow)
            .where(col(NonceRow.challenge) == challenge, col(NonceRow.used_at).is_(None))
            .values(used_at=to_db(now))
        )
        return bool(getattr(result, "rowcount", 0) == 1)
