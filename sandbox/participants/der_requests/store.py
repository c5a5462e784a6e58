"""The installer's DER application requests and their audit trail (own metadata, own
tables; in the installer's process database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, MetaData
from sqlmodel import Field, SQLModel

metadata = MetaData()


class _Base(SQLModel):
    metadata = metadata


class RequestRow(_Base, table=True):
    """One application the installer prepared, awaiting (or past) the consumer's word."""

    __tablename__ = "installer_der_request"

    id: str = Field(primary_key=True, max_length=40)
    consumer_number: str = Field(max_length=40, index=True)
    consumer_wallet: str = Field(max_length=200)  # the did:key the request is addressed to
    discom: str = Field(max_length=255)  # the discom's subscriber id (who would receive it)
    state: str = Field(max_length=40, index=True)
    notice: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    application: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # no passport
    credentials: list[Any] = Field(sa_column=Column(JSON, nullable=False))  # the installer's
    transaction_id: str | None = Field(default=None, max_length=100)
    created_at: datetime
    decided_at: datetime | None = None


class EventRow(_Base, table=True):
    """The audit trail: who did what to a request, when (append-only)."""

    __tablename__ = "installer_der_request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=40, index=True)
    at: datetime
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
