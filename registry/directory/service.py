"""The directory's use cases: claim and prove a namespace, create registries, write
and read typed records, serve DID documents, and look up signing keys.

Governance: every write is a detached JWS by the namespace owner's key
(:mod:`registry.directory.signing`), checked before anything is touched; a
network's membership registry lives in the network authority's namespace, so
only that authority can reference a participant into it. Every change, with its
signature, lands in the append-only audit table in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from kernel.database import from_db, session_scope, to_db
from kernel.pagination import decode_cursor, encode_cursor
from kernel.problems import InvalidRequest
from registry.directory.didweb import (
    DeclaredKey,
    decode_public_key,
    did_document,
    did_of,
    host_of,
    web_did_at,
)
from registry.directory.errors import (
    DomainProofFailed,
    DuplicateKeyId,
    KeyNotUsable,
    MembershipTargetInvalid,
    NamespaceNotFound,
    NamespaceNotVerified,
    NamespaceTaken,
    RecordExpired,
    RecordImmutable,
    RecordInvalid,
    RecordNotFound,
    RegistryExists,
    RegistryNotFound,
    SubscriberOutsideNamespace,
    WriteReplayed,
    WriteSignatureInvalid,
)
from registry.directory.keys import KeyCache, Membership, Refusal, SigningKey, judge
from registry.directory.models import (
    AuditEntry,
    MembershipDetails,
    Namespace,
    NamespaceClaim,
    QueryData,
    RecordData,
    RecordState,
    RecordType,
    RecordWrite,
    Registry,
    RegistryDraft,
    RevocationDetails,
    SubscriberDetails,
    SubscriberView,
    check_name,
    domain_name,
    now_utc,
    validate_details,
    within,
)
from registry.directory.proof import TXT_PREFIX, WELL_KNOWN_PATH, DomainProof
from registry.directory.signing import WriteClaims, verify_write
from registry.directory.store import DirectoryStore, NamespaceRow, RecordRow, RegistryRow

LOOKUP_TTL_SECONDS = 60


def _opt(value: datetime | None) -> datetime | None:
    return from_db(value) if value is not None else None


def namespace_view(row: NamespaceRow) -> Namespace:
    pending = row.status == "pending"
    return Namespace(
        namespace=row.name,
        did=row.did,
        status="verified" if row.status == "verified" else "pending",
        owner_key_id=row.owner_key_id,
        owner_public_key=row.owner_public_key,
        proof_method="txt" if row.proof_method == "txt" else "well-known",
        challenge=row.challenge if pending else None,
        challenge_path=(
            (TXT_PREFIX + row.name if row.proof_method == "txt" else WELL_KNOWN_PATH)
            if pending
            else None
        ),
        challenge_expires_at=_opt(row.challenge_expires_at) if pending else None,
        description=row.description,
        created_at=from_db(row.created_at),
        verified_at=_opt(row.verified_at),
    )


def registry_view(row: RegistryRow, count: int = 0) -> Registry:
    return Registry(
        namespace=row.namespace,
        name=row.name,
        record_type=RecordType(row.record_type),
        description=row.description,
        created_at=from_db(row.created_at),
        record_count=count,
    )


def _signing_key(row: RecordRow, memberships: tuple[Membership, ...]) -> SigningKey:
    details = row.details
    assert row.valid_from is not None
    assert row.valid_until is not None
    return SigningKey(
        subscriber_id=str(details["subscriber_id"]),
        key_id=str(details["key_id"]),
        public_key=decode_public_key(str(details["signing_public_key"])),
        valid_from=from_db(row.valid_from),
        valid_until=from_db(row.valid_until),
        status=str(details["status"]),
        role=str(details["type"]),
        url=str(details["url"]),
        did=str(row.did),
        revoked_at=_opt(row.revoked_at),
        memberships=memberships,
    )


class Directory:
    """The directory over one database, with the key cache its writes keep honest."""

    def __init__(
        self,
        engine: Engine,
        proofs: Mapping[str, DomainProof],
        *,
        cache: KeyCache | None = None,
        clock: Callable[[], datetime] = now_utc,
        challenge_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self.engine = engine
        self.proofs = dict(proofs)
        self.cache = cache if cache is not None else KeyCache()
        self.clock = clock
        self.challenge_ttl = challenge_ttl

    # ------------------------------------------------------------- namespaces

    def claim(self, body: bytes, signature: str | None, path: str) -> Namespace:
        """Claim a namespace; the claim is signed by the owner key it registers
        (proof of possession). Answers the challenge to publish on the domain."""
        claim = _parse(NamespaceClaim, body)
        now = self.clock()
        try:
            owner_key = decode_public_key(claim.owner_public_key)
            name = domain_name(claim.namespace)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if claim.proof_method not in self.proofs:
            raise InvalidRequest(f"proof method {claim.proof_method!r} is not offered here")
        claims = verify_write(signature, "POST", path, body, owner_key, now)
        if claims.kid != f"{name}#{claim.owner_key_id}":
            raise WriteSignatureInvalid(f"kid must be {name}#{claim.owner_key_id}")
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            existing = store.namespace(name)
            if existing is not None:
                expired = (
                    existing.status == "pending"
                    and existing.challenge_expires_at is not None
                    and from_db(existing.challenge_expires_at) <= now
                )
                if not expired:
                    raise NamespaceTaken(f"{name} is already claimed ({existing.status})")
                store.delete_namespace(existing)
                store.flush()
            row = NamespaceRow(
                name=name,
                did=did_of(name),
                status="pending",
                owner_key_id=claim.owner_key_id,
                owner_public_key=claim.owner_public_key,
                proof_method=claim.proof_method,
                challenge="dedi-" + secrets.token_urlsafe(24),
                challenge_expires_at=to_db(now + self.challenge_ttl),
                description=claim.description,
                created_at=to_db(now),
            )
            store.add(row)
            self._audit(store, now, claims, "claim", path, None, body, signature)
            return namespace_view(row)

    def verify_namespace(self, name: str) -> Namespace:
        """Fetch the challenge from the domain; a match proves control of it."""
        now = self.clock()
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            row = store.namespace(name)
            if row is None:
                raise NamespaceNotFound(f"no namespace {name!r}")
            if row.status == "verified":
                return namespace_view(row)
            assert row.challenge is not None
            assert row.challenge_expires_at is not None
            if from_db(row.challenge_expires_at) <= now:
                raise DomainProofFailed(f"the challenge for {name} expired; claim again")
            published = self.proofs[row.proof_method].published(name)
            if not any(secrets.compare_digest(token, row.challenge) for token in published):
                where = TXT_PREFIX + name if row.proof_method == "txt" else WELL_KNOWN_PATH
                raise DomainProofFailed(f"{name} does not publish the challenge at {where}")
            row.status, row.verified_at, row.challenge = "verified", to_db(now), None
            row.challenge_expires_at = None
            store.add(row)
            store.add_audit(now, name, "directory", "verify", f"namespace {name}", None, b"")
            return namespace_view(row)

    def namespace(self, name: str) -> Namespace:
        with session_scope(self.engine) as session:
            row = DirectoryStore(session).namespace(name)
            if row is None:
                raise NamespaceNotFound(f"no namespace {name!r}")
            return namespace_view(row)

    # ------------------------------------------------------------- registries

    def create_registry(self, name: str, body: bytes, signature: str | None, path: str) -> Registry:
        draft = _parse(RegistryDraft, body)
        now = self.clock()
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._writable(store, name)
            claims = self._check_owner(store, namespace, signature, "POST", path, body, now)
            try:
                _name_ok(draft.name)
            except ValueError as exc:
                raise InvalidRequest(f"registry name: {exc}") from exc
            if store.registry(name, draft.name) is not None:
                raise RegistryExists(f"{name}/{draft.name} already exists")
            row = RegistryRow(
                namespace=name,
                name=draft.name,
                record_type=draft.record_type.value,
                description=draft.description,
                created_at=to_db(now),
            )
            store.add(row)
            self._audit(store, now, claims, "create_registry", path, None, body, signature)
            return registry_view(row)

    def registries(self, name: str) -> list[Registry]:
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._resolve(store, name)
            counts = store.record_counts(namespace.name)
            return [
                registry_view(r, counts.get(r.pk or 0, 0)) for r in store.registries(namespace.name)
            ]

    def registry(self, name: str, registry: str) -> Registry:
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._resolve(store, name)
            row = self._registry(store, namespace.name, registry)
            counts = store.record_counts(namespace.name)
            return registry_view(row, counts.get(row.pk or 0, 0))

    # ------------------------------------------------------------- records

    def put_record(
        self,
        name: str,
        registry: str,
        record: str,
        body: bytes,
        signature: str | None,
        path: str,
    ) -> RecordData:
        """Write the next version of a record, signed by the namespace owner."""
        write = _parse(RecordWrite, body)
        now = self.clock()
        touched: set[str] = set()
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._writable(store, name)
            claims = self._check_owner(store, namespace, signature, "PUT", path, body, now)
            reg = self._registry(store, name, registry)
            try:
                _name_ok(record, limit=256)
            except ValueError as exc:
                raise InvalidRequest(f"record name: {exc}") from exc
            record_type = RecordType(reg.record_type)
            details = validate_details(record_type, write.details)
            previous = store.current(reg.pk or 0, record)
            index = details.index()
            revoked_at: datetime | None = None
            stored = details.model_dump(mode="json")
            if isinstance(details, SubscriberDetails):
                revoked_at = self._check_subscriber(
                    store, namespace, reg, record, details, previous, now
                )
                touched.add(details.subscriber_id)
            elif isinstance(details, MembershipDetails):
                self._check_membership(store, details)
                touched.add(details.subscriber_id)
            elif isinstance(details, RevocationDetails) and details.revoked_at is None:
                stored["revoked_at"] = now.isoformat()
            valid_until = index.get("valid_until")
            if isinstance(valid_until, datetime) and valid_until <= now:
                raise RecordExpired(f"valid_until {valid_until.isoformat()} is already past")
            if previous is not None and previous.subscriber_id is not None:
                touched.add(previous.subscriber_id)
            row = self._next_version(store, reg, record, previous, now)
            row.details, row.meta = stored, dict(write.meta)
            row.subscriber_id = index.get("subscriber_id")
            row.key_id = index.get("key_id")
            row.did = index.get("did")
            row.valid_from = to_db(index["valid_from"]) if index.get("valid_from") else None
            row.valid_until = to_db(valid_until) if isinstance(valid_until, datetime) else None
            row.revoked_at = to_db(revoked_at) if revoked_at is not None else None
            try:
                store.add_record(row, index.get("tags", []))
                self._audit(store, now, claims, "put_record", path, row.version, body, signature)
            except IntegrityError as exc:
                raise DuplicateKeyId(f"{record}: a concurrent write took this key id") from exc
            data = self._record_data(store, reg, row, now)
        for subscriber_id in touched:
            self.cache.invalidate(subscriber_id)
        return data

    def delete_record(
        self, name: str, registry: str, record: str, signature: str | None, path: str
    ) -> RecordData:
        """Tombstone a record (a revocation lifted, an entry withdrawn); history stays."""
        now = self.clock()
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._writable(store, name)
            claims = self._check_owner(store, namespace, signature, "DELETE", path, b"", now)
            reg = self._registry(store, name, registry)
            previous = store.current(reg.pk or 0, record)
            if previous is None or previous.state != RecordState.LIVE:
                raise RecordNotFound(f"{name}/{registry}/{record} is not live")
            if reg.record_type == RecordType.SUBSCRIBER:
                raise RecordImmutable("a subscriber key is revoked (status REVOKED), not deleted")
            row = self._next_version(store, reg, record, previous, now)
            row.state = RecordState.DELETED.value
            for column in ("details", "meta", "subscriber_id", "key_id", "did"):
                setattr(row, column, getattr(previous, column))
            row.valid_from, row.valid_until = previous.valid_from, previous.valid_until
            store.add_record(row, [])
            self._audit(store, now, claims, "delete_record", path, row.version, b"", signature)
            data = self._record_data(store, reg, row, now)
        if previous.subscriber_id is not None:
            self.cache.invalidate(previous.subscriber_id)
        return data

    def lookup(
        self, name: str, registry: str, record: str, at: datetime | None = None
    ) -> RecordData:
        """One record: live now, or the version that stood at ``at``.

        A subscriber record whose key is not usable now (revoked, expired,
        unsubscribed) answers 410 rather than a key: ONIX reads the key without
        looking at its status, so serving it would make ONIX accept it.
        """
        now = self.clock()
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._resolve(store, name)
            reg = self._registry(store, namespace.name, registry)
            row = store.record(reg.pk or 0, record, at)
            if row is None or row.state != RecordState.LIVE:
                raise RecordNotFound(f"{namespace.name}/{registry}/{record} is not live")
            if reg.record_type == RecordType.SUBSCRIBER and at is None:
                refusal = _signing_key(row, ()).refusal_at(now)
                if refusal is not None:
                    raise KeyNotUsable(refusal.detail, reason=refusal.reason.value)
            return self._record_data(store, reg, row, now)

    def versions(self, name: str, registry: str, record: str) -> list[RecordData]:
        now = self.clock()
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._resolve(store, name)
            reg = self._registry(store, namespace.name, registry)
            rows = store.versions(reg.pk or 0, record)
            if not rows:
                raise RecordNotFound(f"{namespace.name}/{registry}/{record} never existed")
            return [self._record_data(store, reg, r, now, memberships=False) for r in rows]

    def query(
        self,
        name: str,
        registry: str,
        *,
        filters: dict[str, str],
        at: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[QueryData, str | None]:
        now = self.clock()
        query_key = {"ns": name, "registry": registry, "at": at, **filters}
        after = decode_cursor(cursor, query_key)[0] if cursor else None
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            namespace = self._resolve(store, name)
            reg = self._registry(store, namespace.name, registry)
            tags = [(k, v) for k, v in filters.items() if k != "subscriber_id"]
            rows = store.query(
                reg.pk or 0,
                tags=tags,
                subscriber_id=filters.get("subscriber_id"),
                at=at,
                after=str(after) if after is not None else None,
                limit=limit + 1,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            records = [self._record_data(store, reg, r, now) for r in rows]
        next_cursor = encode_cursor([rows[-1].record_name], query_key) if more else None
        data = QueryData(
            namespace=namespace.name,
            registry_name=reg.name,
            record_type=RecordType(reg.record_type),
            records=records,
        )
        return data, next_cursor

    def subscribers(
        self,
        *,
        network: str | None,
        role: str | None,
        domain: str | None,
        state: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[SubscriberView], str | None]:
        """Subscriber keys across namespaces, by network, role, domain, state."""
        now = self.clock()
        query_key = {"network": network, "role": role, "domain": domain, "state": state}
        after = decode_cursor(cursor, query_key)[0] if cursor else None
        members_of: tuple[str, str] | None = None
        if network is not None:
            ns, sep, reg = network.partition("/")
            if not sep or not ns or not reg:
                raise InvalidRequest("network is {namespace}/{registry}")
            members_of = (ns, reg)
        tags = [(k, v) for k, v in (("role", role), ("domain", domain), ("state", state)) if v]
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            rows = store.subscribers(
                tags=tags,
                members_of=members_of,
                after=int(after) if after is not None else None,
                limit=limit + 1,
            )
            more = len(rows) > limit
            views = [
                SubscriberView(
                    namespace=reg.namespace,
                    registry_name=reg.name,
                    record_name=row.record_name,
                    details=SubscriberDetails.model_validate(row.details).wire(),
                    network_memberships=self._networks(store, row.subscriber_id, now),
                    updated_at=from_db(row.written_at),
                )
                for row, reg in rows[:limit]
            ]
            last = rows[limit - 1][0].pk if more else None
        return views, encode_cursor([last], query_key) if last is not None else None

    def audit(self, name: str, after: int | None, limit: int) -> list[AuditEntry]:
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            if store.namespace(name) is None:
                raise NamespaceNotFound(f"no namespace {name!r}")
            return [
                AuditEntry(
                    seq=row.pk or 0,
                    at=from_db(row.at),
                    namespace=row.namespace,
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    version=row.version,
                    body_digest=row.body_digest,
                    signature=row.signature,
                )
                for row in store.audit(name, after, limit)
            ]

    # ------------------------------------------------------------- did:web

    def did_document(self, host: str, path: str) -> dict[str, Any] | None:
        """The did.json of ``did:web`` for ``host`` + ``path``: the keys usable now."""
        try:
            did = web_did_at(host, path).did
        except ValueError:
            return None
        now = self.clock()
        with session_scope(self.engine) as session:
            rows = DirectoryStore(session).records_of_did(did)
        keys: list[DeclaredKey] = []
        for row in rows:
            if _signing_key(row, ()).refusal_at(now) is not None:
                continue
            details = SubscriberDetails.model_validate(row.details)
            keys.append(DeclaredKey(details.key_id, details.signing_key))
            if details.encr_public_key:
                raw = decode_public_key(details.encr_public_key, agreement=True)
                keys.append(DeclaredKey(f"{details.key_id}-x25519", raw, agreement=True))
        return did_document(did, keys) if keys else None

    # ------------------------------------------------------------- key lookup (the port)

    def lookup_signing_key(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal:
        """The hot path of every signed message: cached, invalidated by every write."""
        at = at or self.clock()
        hit, found = self.cache.get(subscriber_id, key_id)
        if not hit:
            generation = self.cache.generation(subscriber_id)
            found = self._load_key(subscriber_id, key_id)
            self.cache.put(subscriber_id, key_id, found, generation)
        return judge(found, subscriber_id, key_id, at)

    def lookup_signing_key_uncached(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal:
        return judge(
            self._load_key(subscriber_id, key_id), subscriber_id, key_id, at or self.clock()
        )

    def _load_key(self, subscriber_id: str, key_id: str) -> SigningKey | None:
        with session_scope(self.engine) as session:
            store = DirectoryStore(session)
            row = store.signing_records(subscriber_id, key_id, None)
            if row is None or row.state != RecordState.LIVE:
                return None
            memberships = tuple(
                Membership(f"{r.namespace}/{r.name}", from_db(m.valid_from), _opt(m.valid_until))
                for m, r in store.membership_rows(subscriber_id)
                if m.valid_from is not None
            )
            return _signing_key(row, memberships)

    # ------------------------------------------------------------- helpers

    def _resolve(self, store: DirectoryStore, name: str) -> NamespaceRow:
        """A namespace by its name, its did:web, or a subscriber id on its domain
        (ONIX asks ``lookup/{subscriber_id}/subscribers.beckn.one/{key_id}``)."""
        row = store.namespace(name.lower())
        if row is None:
            try:
                row = store.namespace_for_host(host_of(name))
            except ValueError:
                row = None
        if row is None:
            raise NamespaceNotFound(f"no namespace {name!r}")
        return row

    def _writable(self, store: DirectoryStore, name: str) -> NamespaceRow:
        row = store.namespace(name)
        if row is None:
            raise NamespaceNotFound(f"no namespace {name!r}")
        if row.status != "verified":
            raise NamespaceNotVerified(f"{name} has not proven control of its domain yet")
        return row

    def _registry(self, store: DirectoryStore, namespace: str, name: str) -> RegistryRow:
        row = store.registry(namespace, name)
        if row is None:
            raise RegistryNotFound(f"{namespace} has no registry {name!r}")
        return row

    def _check_owner(
        self,
        store: DirectoryStore,
        namespace: NamespaceRow,
        signature: str | None,
        method: str,
        path: str,
        body: bytes,
        now: datetime,
    ) -> WriteClaims:
        owner_key = decode_public_key(namespace.owner_public_key)
        claims = verify_write(signature, method, path, body, owner_key, now)
        if claims.kid != f"{namespace.name}#{namespace.owner_key_id}":
            raise WriteSignatureInvalid(
                f"signed as {claims.kid}; only {namespace.name}#{namespace.owner_key_id} "
                f"writes to {namespace.name}"
            )
        if store.jti_seen(claims.jti):
            raise WriteReplayed(f"jti {claims.jti} was already used")
        return claims

    def _check_subscriber(
        self,
        store: DirectoryStore,
        namespace: NamespaceRow,
        reg: RegistryRow,
        record: str,
        details: SubscriberDetails,
        previous: RecordRow | None,
        now: datetime,
    ) -> datetime | None:
        if not within(namespace.name, details.subscriber_id):
            raise SubscriberOutsideNamespace(
                f"{details.subscriber_id} is not on {namespace.name} or a subdomain of it"
            )
        if record != details.key_id:
            raise RecordInvalid(
                "a subscriber record is named by its key id",
                errors=[{"location": "details/key_id", "message": f"must be {record!r}"}],
            )
        for used in store.key_ever_used(details.subscriber_id, details.key_id):
            same_record = used.registry_pk == reg.pk and used.record_name == record
            if (
                not same_record
                or used.details.get("signing_public_key") != details.signing_public_key
            ):
                raise DuplicateKeyId(
                    f"{details.subscriber_id}|{details.key_id} already names another key"
                )
        if previous is None:
            if details.status == "REVOKED":
                raise RecordInvalid("a new key cannot start revoked")
            return None
        if previous.details.get("subscriber_id") != details.subscriber_id:
            raise RecordImmutable("a subscriber record keeps its subscriber_id")
        if previous.revoked_at is not None:
            if details.status != "REVOKED":
                raise RecordImmutable(f"{details.subscriber_id}|{record} is revoked for good")
            return from_db(previous.revoked_at)
        return now if details.status == "REVOKED" else None

    def _check_membership(self, store: DirectoryStore, details: MembershipDetails) -> None:
        if not store.live_subscriber(details.subscriber_id):
            raise MembershipTargetInvalid(f"{details.subscriber_id} has no live subscriber record")
        if details.record is not None:
            ns, registry, record = details.record.split("/")
            reg = store.registry(ns, registry)
            row = store.current(reg.pk or 0, record) if reg is not None else None
            if (
                reg is None
                or reg.record_type != RecordType.SUBSCRIBER
                or row is None
                or row.state != RecordState.LIVE
                or row.subscriber_id != details.subscriber_id
            ):
                raise MembershipTargetInvalid(
                    f"{details.record} is not a live subscriber record of {details.subscriber_id}"
                )

    def _next_version(
        self,
        store: DirectoryStore,
        reg: RegistryRow,
        record: str,
        previous: RecordRow | None,
        now: datetime,
    ) -> RecordRow:
        created = now
        version = 1
        if previous is not None:
            store.supersede(previous, now)
            created, version = from_db(previous.created_at), previous.version + 1
        return RecordRow(
            registry_pk=reg.pk or 0,
            record_name=record,
            version=version,
            state=RecordState.LIVE.value,
            created_at=to_db(created),
            written_at=to_db(now),
        )

    def _networks(
        self, store: DirectoryStore, subscriber_id: str | None, now: datetime
    ) -> list[str]:
        if subscriber_id is None:
            return []
        return [f"{ns}/{reg}" for ns, reg in store.memberships_of(subscriber_id, now)]

    def _record_data(
        self,
        store: DirectoryStore,
        reg: RegistryRow,
        row: RecordRow,
        now: datetime,
        *,
        memberships: bool = True,
    ) -> RecordData:
        details = dict(row.details)
        networks: list[str] = []
        if reg.record_type == RecordType.SUBSCRIBER:
            details = SubscriberDetails.model_validate(details).wire()
            if row.revoked_at is not None:
                details["revoked_at"] = from_db(row.revoked_at).isoformat()
            if memberships:
                networks = self._networks(store, row.subscriber_id, now)
        return RecordData(
            namespace=reg.namespace,
            registry_name=reg.name,
            record_name=row.record_name,
            record_type=RecordType(reg.record_type),
            version=row.version,
            state=RecordState(row.state),
            details=details,
            meta={str(k): str(v) for k, v in row.meta.items()},
            network_memberships=networks,
            created_at=from_db(row.created_at),
            updated_at=from_db(row.written_at),
            ttl=LOOKUP_TTL_SECONDS,
        )

    def _audit(
        self,
        store: DirectoryStore,
        now: datetime,
        claims: WriteClaims,
        action: str,
        path: str,
        version: int | None,
        body: bytes,
        signature: str | None,
    ) -> None:
        store.add_audit(
            now, claims.namespace, claims.kid, action, path, version, body, signature, claims.jti
        )
        try:
            store.flush()
        except IntegrityError as exc:
            raise WriteReplayed(f"jti {claims.jti} was already used") from exc


def _name_ok(value: str, limit: int = 128) -> None:
    if len(value) > limit:
        raise ValueError(f"at most {limit} characters")
    if len(value) <= 128:
        check_name(value)
    elif "/" in value or not value.isprintable():
        raise ValueError("no / and no control characters")


def _parse(model: Any, body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {"location": "/".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False)
        ]
        raise InvalidRequest(f"{len(errors)} validation error(s)", errors=errors) from None
