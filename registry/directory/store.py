"""The directory's tables and the queries on them (SQLite and PostgreSQL alike).

Records are versioned: a write supersedes the current version (``superseded_at``)
and inserts the next, so history is kept and "as of" is a range query. Partial
unique indexes make the database refuse two current versions of one record and
two current records for one (subscriber_id, key_id). The audit table is
append-only and its unique ``jti`` refuses a replayed signed write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    CursorResult,
    Index,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, col

from kernel.database import timestamp_field as _ts
from kernel.database import to_db
from registry.store import RegistryTable

_CURRENT = text("superseded_at IS NULL")
_CURRENT_KEY = text("superseded_at IS NULL AND key_id IS NOT NULL")


class NamespaceRow(RegistryTable, table=True):
    __tablename__ = "registry_dir_namespace"

    name: str = Field(primary_key=True, max_length=253)
    did: str = Field(max_length=300)
    status: str = Field(max_length=16)
    owner_key_id: str = Field(max_length=128)
    owner_public_key: str = Field(max_length=64)
    proof_method: str = Field(max_length=16)
    challenge: str | None = Field(default=None, max_length=128)
    challenge_expires_at: datetime | None = _ts(nullable=True)
    description: str = Field(default="", max_length=500)
    created_at: datetime = _ts()
    verified_at: datetime | None = _ts(nullable=True)


class RegistryRow(RegistryTable, table=True):
    __tablename__ = "registry_dir_registry"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_registry_dir_registry"),)

    pk: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(foreign_key="registry_dir_namespace.name", max_length=253)
    name: str = Field(max_length=128)
    record_type: str = Field(max_length=32)
    description: str = Field(default="", max_length=500)
    created_at: datetime = _ts()


class RecordRow(RegistryTable, table=True):
    __tablename__ = "registry_dir_record"
    __table_args__ = (
        UniqueConstraint(
            "registry_pk", "record_name", "version", name="uq_registry_dir_record_version"
        ),
        Index(
            "ux_registry_dir_record_current",
            "registry_pk",
            "record_name",
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        ),
        Index(
            "ux_registry_dir_record_key",
            "subscriber_id",
            "key_id",
            unique=True,
            sqlite_where=_CURRENT_KEY,
            postgresql_where=_CURRENT_KEY,
        ),
        Index("ix_registry_dir_record_subscriber", "subscriber_id", "key_id", "written_at"),
        Index("ix_registry_dir_record_did", "did", "superseded_at"),
        Index("ix_registry_dir_record_list", "registry_pk", "record_name", "written_at"),
    )

    pk: int | None = Field(default=None, primary_key=True)
    registry_pk: int = Field(foreign_key="registry_dir_registry.pk")
    record_name: str = Field(max_length=256)
    version: int
    state: str = Field(max_length=16)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    subscriber_id: str | None = Field(default=None, max_length=255)
    key_id: str | None = Field(default=None, max_length=128)
    did: str | None = Field(default=None, max_length=300)
    valid_from: datetime | None = _ts(nullable=True)
    valid_until: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    written_at: datetime = _ts()
    superseded_at: datetime | None = _ts(nullable=True)


class TagRow(RegistryTable, table=True):
    """What a record version is found by: role, domain, state, status, member."""

    __tablename__ = "registry_dir_tag"
    __table_args__ = (Index("ix_registry_dir_tag_lookup", "kind", "value", "record_pk"),)

    pk: int | None = Field(default=None, primary_key=True)
    record_pk: int = Field(foreign_key="registry_dir_record.pk", index=True)
    kind: str = Field(max_length=24)
    value: str = Field(max_length=255)


class AuditRow(RegistryTable, table=True):
    """Every change: who (the signing kid), what, when, and the signature itself."""

    __tablename__ = "registry_dir_audit"

    pk: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    namespace: str = Field(max_length=253, index=True)
    actor: str = Field(max_length=400)
    action: str = Field(max_length=40)
    target: str = Field(max_length=700)
    version: int | None = None
    body_digest: str = Field(max_length=128)
    signature: str | None = Field(default=None, max_length=2000)
    jti: str | None = Field(default=None, max_length=64, unique=True)


class TokenAssertionRow(RegistryTable, table=True):
    """A client assertion the token endpoint accepted (RFC 7523 §3: a ``jti`` is used
    once), kept until the assertion could no longer verify. The primary key makes the
    database itself refuse a second use: from another directory process, after a
    restart, or by a concurrent request that loses the race."""

    __tablename__ = "registry_dir_token_jti"

    key: str = Field(primary_key=True, max_length=400)  # "{client_id}|{jti}"
    expires_at: datetime = _ts(index=True)


class DirectoryStore:
    """Queries on one session; the service decides, this only reads and writes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # namespaces
    def namespace(self, name: str) -> NamespaceRow | None:
        return self.session.get(NamespaceRow, name)

    def namespace_for_host(self, host: str) -> NamespaceRow | None:
        """The verified namespace owning ``host`` (itself or a parent domain)."""
        labels = host.split(".")
        candidates = [".".join(labels[i:]) for i in range(len(labels))]
        rows = self.session.scalars(
            select(NamespaceRow).where(
                col(NamespaceRow.name).in_(candidates), col(NamespaceRow.status) == "verified"
            )
        ).all()
        return max(rows, key=lambda r: len(r.name), default=None)

    def add(self, row: Any) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    def delete_namespace(self, row: NamespaceRow) -> None:
        self.session.delete(row)

    # registries
    def registry(self, namespace: str, name: str) -> RegistryRow | None:
        return self.session.scalars(
            select(RegistryRow).where(
                col(RegistryRow.namespace) == namespace, col(RegistryRow.name) == name
            )
        ).first()

    def registries(self, namespace: str) -> list[RegistryRow]:
        return list(
            self.session.scalars(
                select(RegistryRow)
                .where(col(RegistryRow.namespace) == namespace)
                .order_by(col(RegistryRow.name))
            )
        )

    def record_counts(self, namespace: str) -> dict[int, int]:
        rows = self.session.execute(
            select(col(RecordRow.registry_pk), func.count())
            .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
            .where(col(RegistryRow.namespace) == namespace)
            .where(col(RecordRow.superseded_at).is_(None), col(RecordRow.state) == "live")
            .group_by(col(RecordRow.registry_pk))
        )
        return {int(pk): int(n) for pk, n in rows}

    # records
    @staticmethod
    def _as_of(at: datetime | None) -> Any:
        if at is None:
            return col(RecordRow.superseded_at).is_(None)
        moment = to_db(at)
        return and_(
            col(RecordRow.written_at) <= moment,
            or_(col(RecordRow.superseded_at).is_(None), col(RecordRow.superseded_at) > moment),
        )

    def current(self, registry_pk: int, name: str) -> RecordRow | None:
        return self.record(registry_pk, name, None)

    def record(self, registry_pk: int, name: str, at: datetime | None) -> RecordRow | None:
        return self.session.scalars(
            select(RecordRow).where(
                col(RecordRow.registry_pk) == registry_pk,
                col(RecordRow.record_name) == name,
                self._as_of(at),
            )
        ).first()

    def versions(self, registry_pk: int, name: str) -> list[RecordRow]:
        return list(
            self.session.scalars(
                select(RecordRow)
                .where(col(RecordRow.registry_pk) == registry_pk)
                .where(col(RecordRow.record_name) == name)
                .order_by(col(RecordRow.version))
            )
        )

    def supersede(self, row: RecordRow, at: datetime) -> None:
        row.superseded_at = to_db(at)
        self.session.add(row)
        self.session.flush()

    def add_record(self, row: RecordRow, tags: Sequence[tuple[str, str]]) -> None:
        self.session.add(row)
        self.session.flush()
        assert row.pk is not None
        for kind, value in tags:
            self.session.add(TagRow(record_pk=row.pk, kind=kind, value=value))

    def key_ever_used(self, subscriber_id: str, key_id: str) -> list[RecordRow]:
        return list(
            self.session.scalars(
                select(RecordRow)
                .where(col(RecordRow.subscriber_id) == subscriber_id)
                .where(col(RecordRow.key_id) == key_id)
                .order_by(col(RecordRow.version))
            )
        )

    def query(
        self,
        registry_pk: int,
        *,
        tags: Sequence[tuple[str, str]],
        subscriber_id: str | None,
        at: datetime | None,
        after: str | None,
        limit: int,
    ) -> list[RecordRow]:
        query = select(RecordRow).where(
            col(RecordRow.registry_pk) == registry_pk,
            col(RecordRow.state) == "live",
            self._as_of(at),
        )
        for kind, value in tags:
            tagged = select(col(TagRow.record_pk)).where(
                col(TagRow.kind) == kind, col(TagRow.value) == value
            )
            query = query.where(col(RecordRow.pk).in_(tagged))
        if subscriber_id is not None:
            query = query.where(col(RecordRow.subscriber_id) == subscriber_id)
        if after is not None:
            query = query.where(col(RecordRow.record_name) > after)
        return list(self.session.scalars(query.order_by(col(RecordRow.record_name)).limit(limit)))

    def signing_records(
        self, subscriber_id: str, key_id: str, at: datetime | None
    ) -> RecordRow | None:
        """The subscriber record of one key (current, or as it stood at ``at``)."""
        return self.session.scalars(
            select(RecordRow)
            .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
            .where(col(RegistryRow.record_type) == "subscriber")
            .where(col(RecordRow.subscriber_id) == subscriber_id)
            .where(col(RecordRow.key_id) == key_id)
            .where(self._as_of(at))
        ).first()

    def records_of_did(self, did: str) -> list[RecordRow]:
        return list(
            self.session.scalars(
                select(RecordRow)
                .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
                .where(col(RegistryRow.record_type) == "subscriber")
                .where(col(RecordRow.did) == did, col(RecordRow.superseded_at).is_(None))
                .where(col(RecordRow.state) == "live")
                .order_by(col(RecordRow.record_name))
            )
        )

    def memberships_of(self, subscriber_id: str, at: datetime) -> list[tuple[str, str]]:
        """(network namespace, network registry) of every live reference entry."""
        moment = to_db(at)
        rows = self.session.execute(
            select(col(RegistryRow.namespace), col(RegistryRow.name))
            .join(RecordRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
            .where(col(RegistryRow.record_type) == "network_membership")
            .where(col(RecordRow.subscriber_id) == subscriber_id)
            .where(col(RecordRow.superseded_at).is_(None), col(RecordRow.state) == "live")
            .where(col(RecordRow.valid_from) <= moment)
            .where(or_(col(RecordRow.valid_until).is_(None), col(RecordRow.valid_until) > moment))
            .distinct()
        )
        return sorted((str(ns), str(name)) for ns, name in rows)

    def subscribers(
        self,
        *,
        tags: Sequence[tuple[str, str]],
        members_of: tuple[str, str] | None,
        after: int | None,
        limit: int,
    ) -> list[tuple[RecordRow, RegistryRow]]:
        query = (
            select(RecordRow, RegistryRow)
            .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
            .where(col(RegistryRow.record_type) == "subscriber")
            .where(col(RecordRow.superseded_at).is_(None), col(RecordRow.state) == "live")
        )
        for kind, value in tags:
            tagged = select(col(TagRow.record_pk)).where(
                col(TagRow.kind) == kind, col(TagRow.value) == value
            )
            query = query.where(col(RecordRow.pk).in_(tagged))
        if members_of is not None:
            network = (
                select(col(RecordRow.subscriber_id))
                .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
                .where(col(RegistryRow.namespace) == members_of[0])
                .where(col(RegistryRow.name) == members_of[1])
                .where(col(RegistryRow.record_type) == "network_membership")
                .where(col(RecordRow.superseded_at).is_(None), col(RecordRow.state) == "live")
            )
            query = query.where(col(RecordRow.subscriber_id).in_(network))
        if after is not None:
            query = query.where(col(RecordRow.pk) > after)
        rows = self.session.execute(query.order_by(col(RecordRow.pk)).limit(limit))
        return [(record, registry) for record, registry in rows]

    def live_subscriber(self, subscriber_id: str) -> bool:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(RecordRow)
                .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
                .where(col(RegistryRow.record_type) == "subscriber")
                .where(col(RecordRow.subscriber_id) == subscriber_id)
                .where(col(RecordRow.superseded_at).is_(None), col(RecordRow.state) == "live")
            )
            or 0
        ) > 0

    def membership_rows(self, subscriber_id: str) -> list[tuple[RecordRow, RegistryRow]]:
        rows = self.session.execute(
            select(RecordRow, RegistryRow)
            .join(RegistryRow, col(RegistryRow.pk) == col(RecordRow.registry_pk))
            .where(col(RegistryRow.record_type) == "network_membership")
            .where(col(RecordRow.subscriber_id) == subscriber_id)
            .where(col(RecordRow.superseded_at).is_(None), col(RecordRow.state) == "live")
        )
        return [(record, registry) for record, registry in rows]

    # audit
    def add_audit(
        self,
        at: datetime,
        namespace: str,
        actor: str,
        action: str,
        target: str,
        version: int | None,
        body: bytes,
        signature: str | None = None,
        jti: str | None = None,
    ) -> None:
        self.session.add(
            AuditRow(
                at=to_db(at),
                namespace=namespace,
                actor=actor,
                action=action,
                target=target,
                version=version,
                body_digest=hashlib.blake2b(body, digest_size=32).hexdigest(),
                signature=signature,
                jti=jti,
            )
        )

    def jti_seen(self, jti: str) -> bool:
        return (self.session.scalar(select(func.count()).where(col(AuditRow.jti) == jti)) or 0) > 0

    def audit(self, namespace: str, after: int | None, limit: int) -> list[AuditRow]:
        query = select(AuditRow).where(col(AuditRow.namespace) == namespace)
        if after is not None:
            query = query.where(col(AuditRow.pk) > after)
        return list(self.session.scalars(query.order_by(col(AuditRow.pk)).limit(limit)))

    # client assertions seen by the token endpoint
    def use_assertion(self, key: str, until: datetime, now: datetime) -> bool:
        """Record ``key`` as used until ``until``; ``False`` if it is in use already.

        A row whose time is over no longer blocks: it is taken over by an update that
        only one of two concurrent callers can make (the other then finds it current)."""
        table = TokenAssertionRow.__table__  # type: ignore[attr-defined]
        try:
            with self.session.begin_nested():
                self.session.execute(insert(table).values(key=key, expires_at=to_db(until)))
            return True
        except IntegrityError:
            pass
        renewed: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            update(table)
            .where(table.c.key == key, table.c.expires_at <= to_db(now))
            .values(expires_at=to_db(until))
        )
        return renewed.rowcount == 1

    def purge_assertions(self, now: datetime) -> int:
        """Forget the assertions that can no longer verify; how many."""
        table = TokenAssertionRow.__table__  # type: ignore[attr-defined]
        purged: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            delete(table).where(table.c.expires_at <= to_db(now))
        )
        return int(purged.rowcount or 0)
