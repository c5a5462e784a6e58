"""The registry's tables and the queries on them (SQLite and PostgreSQL alike).

Timestamps are stored as naive UTC and handed out as aware UTC. Two partial
unique indexes make the database itself refuse what the service must never do:
a legacy identifier open-mapped twice, or a child with two open parents of the
same type.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Json
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import registry as sa_registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, col

from kernel.database import timestamp_field as _ts
from kernel.database import to_db
from registry.identifiers import EntityType


class RegistryTable(SQLModel, registry=sa_registry()):
    """Base of the registry's tables: their own metadata, their own migrations."""


metadata = RegistryTable.metadata

_OPEN = text("valid_to IS NULL")


class IdentityRow(RegistryTable, table=True):
    __tablename__ = "registry_identity"
    __table_args__ = (
        Index("ix_registry_identity_type_id", "type", "id"),
        Index("ix_registry_identity_state_discom", "state", "discom"),
    )

    id: str = Field(primary_key=True, max_length=24)
    type: str = Field(max_length=32)
    status: str = Field(max_length=16, default="active")
    state: str | None = Field(default=None, max_length=8)
    discom: str | None = Field(default=None, max_length=32)
    circle: str | None = Field(default=None, max_length=80)
    division: str | None = Field(default=None, max_length=80)
    subdivision: str | None = Field(default=None, max_length=80)
    pincode: str | None = Field(default=None, max_length=6, index=True)
    lat: float | None = None
    lon: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class LegacyIdRow(RegistryTable, table=True):
    __tablename__ = "registry_legacy_id"
    __table_args__ = (
        Index(
            "ux_registry_legacy_open",
            "legacy_key",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_registry_legacy_key", "legacy_key", "valid_from"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    legacy_key: str = Field(max_length=200)
    scheme: str = Field(max_length=32)
    scope: str = Field(max_length=32)
    value: str = Field(max_length=64)
    ies_id: str = Field(foreign_key="registry_identity.id", max_length=24, index=True)
    valid_from: datetime = _ts()
    valid_to: datetime | None = _ts(nullable=True)


class RelationRow(RegistryTable, table=True):
    __tablename__ = "registry_relation"
    __table_args__ = (
        Index(
            "ux_registry_relation_open",
            "child_id",
            "parent_type",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_registry_relation_parent", "parent_id", "valid_from"),
        Index("ix_registry_relation_child", "child_id", "valid_from"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    child_id: str = Field(foreign_key="registry_identity.id", max_length=24)
    child_type: str = Field(max_length=32)
    parent_id: str = Field(foreign_key="registry_identity.id", max_length=24)
    parent_type: str = Field(max_length=32)
    valid_from: datetime = _ts()
    valid_to: datetime | None = _ts(nullable=True)


class PersonalRow(RegistryTable, table=True):
    """Personal attributes, apart from the identity graph (a separate store in production)."""

    __tablename__ = "registry_personal"

    consumer_id: str = Field(primary_key=True, foreign_key="registry_identity.id", max_length=24)
    name: str = Field(max_length=120)
    phone: str | None = Field(default=None, max_length=24)
    email: str | None = Field(default=None, max_length=120)
    updated_at: datetime = _ts()


class EventRow(RegistryTable, table=True):
    """The audit trail: every change, append-only."""

    __tablename__ = "registry_event"

    pk: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    identity_id: str | None = Field(default=None, max_length=24, index=True)
    kind: str = Field(max_length=40)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IdempotencyRow(RegistryTable, table=True):
    __tablename__ = "registry_idempotency"

    key: str = Field(primary_key=True, max_length=200)
    request_digest: str = Field(max_length=128)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


class ImportJobRow(RegistryTable, table=True):
    __tablename__ = "registry_import_job"

    id: str = Field(primary_key=True, max_length=36)
    source: str = Field(max_length=200)
    format: str = Field(max_length=16)
    atomic: bool = False
    status: str = Field(max_length=16)
    created_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Who ran it (the caller's organisation): a discom reads its own imports' reports.
    writer: str | None = Field(default=None, max_length=255)


# PostgreSQL's "try the transaction again" answers: a deadlock's victim, a serialization
# failure. Nothing else is transient (SQLite's errors carry no SQLSTATE at all).
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (SQLAlchemy's, or the driver's own) says "run it again"."""
    original = getattr(exc, "orig", None) or exc
    return getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES


def table_of(model: type[SQLModel]) -> Table:
    table: Table = getattr(model, "__table__")  # noqa: B009 - SQLModel declares it untyped
    return table


class Window:
    """A period to ask the topology about; an instant is a window of one microsecond."""

    __slots__ = ("since", "until")

    def __init__(self, since: datetime, until: datetime) -> None:
        self.since = to_db(since)
        self.until = to_db(until)

    def covers(self, valid_from: Any, valid_to: Any) -> Any:
        """SQL: the validity period overlaps this window."""
        return and_(valid_from < self.until, or_(valid_to.is_(None), valid_to > self.since))


@lru_cache(maxsize=256)
def _sqlite_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DateTime format


def _sqlite_converter(column: Any) -> Any:
    """What a value of ``column`` becomes for sqlite3 (None: as it is)."""
    if isinstance(column.type, DateTime):
        return lambda v: None if v is None else _sqlite_time(v)
    if isinstance(column.type, JSON):
        return json.dumps
    return None


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits) json still writes
        return json.dumps(value)


def _postgres_converter(column: Any) -> Any:
    if isinstance(column.type, JSON):
        return lambda v: Json(v, dumps=_json_text)
    return None


# PostgreSQL's binary COPY names each column's type; the server then skips parsing
# text (timestamps and floats are costly to parse) for every row of a bulk import.
_BINARY_TYPES: tuple[tuple[type, str], ...] = (
    (DateTime, "timestamp"),
    (JSON, "json"),
    (Float, "float8"),
    (Boolean, "bool"),
    (BigInteger, "int8"),
    (Integer, "int4"),
    (String, "varchar"),
)


def _binary_type(column: Any) -> str | None:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # SQLModel's AutoString is a String
        column_type = column_type.impl_instance
    for sa_type, pg_type in _BINARY_TYPES:
        if isinstance(column_type, sa_type):
            return pg_type
    return None


# Above this many keys a lookup is a bulk import's batch, not a request.
_BATCH_LOOKUP = 64


class RegistryStore:
    """Queries on one session; the service decides, this only reads and writes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _among(self, column: Any, values: list[str]) -> Any:
        """``column IN values``; on PostgreSQL one array parameter instead of thousands
        of placeholders that the driver would split and send one by one."""
        if self._postgres and len(values) > _BATCH_LOOKUP:
            return column == any_(bindparam(None, values, type_=ARRAY(String)))
        return col(column).in_(values)

    @contextmanager
    def _point_lookups(self, count: int) -> Iterator[None]:
        """Run a batch's lookups as index probes on PostgreSQL.

        The planner prices a few thousand index probes above one (parallel)
        sequential scan, so while a bulk import grows a table every batch scanned
        all of it: 160 ms a batch at a million rows instead of 12 ms, and an import
        that slowed as it went. ``SET LOCAL`` keeps the choice inside the transaction,
        and it is put back (nothing in the registry sets it otherwise) at once for
        whatever the transaction does next.
        """
        if count <= _BATCH_LOOKUP or not self._postgres:
            yield
            return
        self.session.execute(text("SET LOCAL enable_seqscan = off"))
        try:
            yield
        finally:
            self.session.execute(text("SET LOCAL enable_seqscan = on"))

    def bulk_insert(self, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
        """Insert many rows inside the session's transaction, by the fastest path each
        database has: COPY on PostgreSQL, one prepared executemany on SQLite. Bulk
        imports spend most of their time here, so the ORM's per-row work is skipped;
        every row must carry the same keys."""
        if not rows:
            return
        table = table_of(model)
        columns = list(rows[0])
        if not set(columns) <= set(table.c.keys()):  # names go into SQL text: only real columns
            raise ValueError(f"not columns of {table.name}: {set(columns) - set(table.c.keys())}")
        connection = self.session.connection()
        driver: Any = connection.connection.driver_connection
        postgres = connection.dialect.name == "postgresql"
        make = _postgres_converter if postgres else _sqlite_converter
        converters = [(c, make(table.c[c])) for c in columns]
        values = (
            [row[c] if convert is None else convert(row[c]) for c, convert in converters]
            for row in rows
        )
        # The driver's own errors would pass by every ``except IntegrityError`` that
        # handles a lost race (a concurrent import mapped the identifier first).
        if postgres:
            names = ", ".join(columns)
            types = [_binary_type(table.c[c]) for c in columns]
            binary = None not in types
            statement = f"COPY {table.name} ({names}) FROM STDIN"
            try:
                with (
                    driver.cursor() as cursor,
                    cursor.copy(statement + (" (FORMAT BINARY)" if binary else "")) as copy,
                ):
                    if binary:
                        copy.set_types(types)
                    for row_values in values:
                        copy.write_row(row_values)
            except psycopg.IntegrityError as exc:
                raise IntegrityError(statement, None, exc) from exc
            except psycopg.OperationalError as exc:  # a deadlock's victim among them
                raise OperationalError(statement, None, exc) from exc
            return
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - checked names
        try:
            driver.executemany(statement, values)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(statement, None, exc) from exc

    # identities
    def get_identity(self, ies_id: str) -> IdentityRow | None:
        return self.session.get(IdentityRow, ies_id)

    def identities_by_id(self, ids: Iterable[str]) -> dict[str, IdentityRow]:
        ids = list(set(ids))
        if not ids:
            return {}
        with self._point_lookups(len(ids)):
            rows = list(
                self.session.scalars(select(IdentityRow).where(self._among(IdentityRow.id, ids)))
            )
        return {row.id: row for row in rows}

    def insert_identities(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.bulk_insert(IdentityRow, rows)

    def update_identity(self, ies_id: str, values: dict[str, Any]) -> None:
        self.session.execute(
            update(IdentityRow).where(col(IdentityRow.id) == ies_id).values(**values)
        )

    def search(
        self,
        *,
        entity_type: EntityType | None,
        address: dict[str, str],
        under: str | None,
        window: Window | None,
        after: str | None,
        limit: int,
    ) -> list[IdentityRow]:
        query = select(IdentityRow)
        if under is not None and window is not None:
            below = self.descendants_cte(under, window)
            query = query.join(below, col(IdentityRow.id) == below.c.id)
        if entity_type is not None:
            query = query.where(col(IdentityRow.type) == entity_type.value)
        for column, value in address.items():
            query = query.where(getattr(IdentityRow, column) == value)
        if after is not None:
            query = query.where(col(IdentityRow.id) > after)
        query = query.order_by(col(IdentityRow.id)).limit(limit)
        return list(self.session.scalars(query))

    def descendants_cte(self, root: str, window: Window) -> Any:
        r = table_of(RelationRow).alias("r")
        base = (
            select(r.c.child_id.label("id"))
            .where(r.c.parent_id == root)
            .where(window.covers(r.c.valid_from, r.c.valid_to))
            .cte("below", recursive=True)
        )
        step = table_of(RelationRow).alias("step")
        return base.union(
            select(step.c.child_id)
            .join(base, step.c.parent_id == base.c.id)
            .where(window.covers(step.c.valid_from, step.c.valid_to))
        )

    # legacy identifiers
    def open_legacy(self, keys: Iterable[str]) -> dict[str, str]:
        """The identity each of ``keys`` is open-mapped to now (keys not mapped are left out)."""
        keys = list(set(keys))
        if not keys:
            return {}
        with self._point_lookups(len(keys)):
            rows = self.session.execute(
                select(col(LegacyIdRow.legacy_key), col(LegacyIdRow.ies_id)).where(
                    self._among(LegacyIdRow.legacy_key, keys),
                    col(LegacyIdRow.valid_to).is_(None),
                )
            ).all()
        return dict(rows)

    def open_legacy_of(self, ies_ids: Iterable[str]) -> list[LegacyIdRow]:
        ids = list(set(ies_ids))
        if not ids:
            return []
        return list(
            self.session.scalars(
                select(LegacyIdRow)
                .where(col(LegacyIdRow.ies_id).in_(ids), col(LegacyIdRow.valid_to).is_(None))
                .order_by(col(LegacyIdRow.pk))
            )
        )

    def legacy_at(self, keys: Sequence[str], window: Window) -> list[LegacyIdRow]:
        """Mappings of any of ``keys`` valid in ``window`` (one query, however many keys)."""
        return list(
            self.session.scalars(
                select(LegacyIdRow)
                .where(col(LegacyIdRow.legacy_key).in_(keys))
                .where(window.covers(col(LegacyIdRow.valid_from), col(LegacyIdRow.valid_to)))
                .order_by(col(LegacyIdRow.valid_from))
            )
        )

    def legacy_overlapping(self, key: str, since: datetime) -> list[LegacyIdRow]:
        return list(
            self.session.scalars(
                select(LegacyIdRow).where(
                    col(LegacyIdRow.legacy_key) == key,
                    or_(
                        col(LegacyIdRow.valid_to).is_(None),
                        col(LegacyIdRow.valid_to) > to_db(since),
                    ),
                )
            )
        )

    def legacy_of(self, ies_id: str) -> list[LegacyIdRow]:
        return list(
            self.session.scalars(
                select(LegacyIdRow)
                .where(col(LegacyIdRow.ies_id) == ies_id)
                .order_by(col(LegacyIdRow.valid_from), col(LegacyIdRow.pk))
            )
        )

    def insert_legacy(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.bulk_insert(LegacyIdRow, rows)

    # relations
    def open_parents(self, child_ids: Iterable[str]) -> dict[tuple[str, str], RelationRow]:
        ids = list(set(child_ids))
        if not ids:
            return {}
        with self._point_lookups(len(ids)):
            rows = list(
                self.session.scalars(
                    select(RelationRow).where(
                        self._among(RelationRow.child_id, ids),
                        col(RelationRow.valid_to).is_(None),
                    )
                )
            )
        return {(row.child_id, row.parent_type): row for row in rows}

    def relations_of(self, child_id: str) -> list[RelationRow]:
        return list(
            self.session.scalars(
                select(RelationRow)
                .where(col(RelationRow.child_id) == child_id)
                .order_by(col(RelationRow.valid_from), col(RelationRow.pk))
            )
        )

    def children_of(self, parent_id: str, window: Window) -> list[RelationRow]:
        return list(
            self.session.scalars(
                select(RelationRow)
                .where(col(RelationRow.parent_id) == parent_id)
                .where(window.covers(col(RelationRow.valid_from), col(RelationRow.valid_to)))
                .order_by(col(RelationRow.child_id), col(RelationRow.valid_from))
            )
        )

    def close_relations(self, pks: Sequence[int], at: datetime) -> None:
        if pks:
            self.session.execute(
                update(RelationRow).where(col(RelationRow.pk).in_(pks)).values(valid_to=to_db(at))
            )

    def insert_relations(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.bulk_insert(RelationRow, rows)

    # personal data
    def get_personal(self, consumer_id: str) -> PersonalRow | None:
        return self.session.get(PersonalRow, consumer_id)

    def put_personal(self, rows: Sequence[dict[str, Any]]) -> None:
        for values in rows:
            existing = self.session.get(PersonalRow, values["consumer_id"])
            if existing is None:
                self.session.add(PersonalRow(**values))
            else:
                for key, value in values.items():
                    setattr(existing, key, value)

    # audit trail
    def add_events(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.bulk_insert(EventRow, rows)

    def events_of(self, ies_id: str, after: int | None, limit: int) -> list[EventRow]:
        query = select(EventRow).where(col(EventRow.identity_id) == ies_id)
        if after is not None:
            query = query.where(col(EventRow.pk) > after)
        return list(self.session.scalars(query.order_by(col(EventRow.pk)).limit(limit)))

    # idempotency
    def get_idempotent(self, key: str) -> IdempotencyRow | None:
        return self.session.get(IdempotencyRow, key)

    def put_idempotent(self, row: IdempotencyRow) -> None:
        self.session.add(row)

    # import jobs
    def add_job(self, job: ImportJobRow) -> None:
        self.session.add(job)

    def get_job(self, job_id: str) -> ImportJobRow | None:
        return self.session.get(ImportJobRow, job_id)

    def count(self, entity_type: EntityType | None = None) -> int:
        query = select(func.count()).select_from(IdentityRow)
        if entity_type is not None:
            query = query.where(col(IdentityRow.type) == entity_type.value)
        return int(self.session.scalar(query) or 0)
