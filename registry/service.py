"""The registry's use cases: create, sync, resolve, relate, search, import, export.

One mechanism, :func:`apply_drafts`, creates or syncs identities for both the API
(a batch of one) and bulk imports (batches of thousands), so both obey the same
rules: legacy identifiers map to one identity at a time, relations follow the
network, and a row that breaks a rule changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from kernel.database import from_db, to_db
from kernel.problems import IdempotencyConflict
from registry.errors import (
    AmbiguousLegacyId,
    DuplicateLegacyId,
    ForeignDiscom,
    IdentityNotFound,
    IdentityRetired,
    InvalidTopology,
    LegacyIdNotFound,
    RegistryProblem,
)
from registry.identifiers import EntityType, new_id, parse_id
from registry.models import (
    Address,
    GeoPoint,
    Identity,
    IdentityDraft,
    LegacyMapping,
    LegacyRef,
    LegacyScheme,
    ParentRef,
    PersonalRecord,
    Relation,
    Status,
    now_utc,
    validate_attributes,
)
from registry.ownership import EVERY_DISCOM, WriterScope
from registry.rows import RowError, row_error
from registry.store import (
    IdempotencyRow,
    IdentityRow,
    ImportJobRow,
    LegacyIdRow,
    RegistryStore,
    RelationRow,
    Window,
    is_transient,
)
from registry.topology import check_relation

log = logging.getLogger(__name__)


def typed_key(entity_type: EntityType, ref: LegacyRef) -> str:
    """The stored key of a legacy identifier: unique per entity type, because a
    discom's one consumer number often names both the account holder and the
    service connection (MSEDCL does), and both get identities of their own."""
    return _KEY_PREFIX[entity_type] + ref.key


# An enum member's ``.value`` is a descriptor call; a bulk import asks three times a row.
_KEY_PREFIX = {entity_type: f"{entity_type.value}|" for entity_type in EntityType}


ADDRESS_FIELDS = ("state", "discom", "circle", "division", "subdivision", "pincode")


# ---------------------------------------------------------------------------- views


def identity_view(row: IdentityRow) -> Identity:
    geo = (
        GeoPoint(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None
    )
    address = Address.model_construct(**{f: getattr(row, f) for f in ADDRESS_FIELDS}, geo=geo)
    return Identity(
        id=row.id,
        type=EntityType(row.type),
        status=Status(row.status),
        address=address,
        attributes=dict(row.attributes),
        created_at=from_db(row.created_at),
        updated_at=from_db(row.updated_at),
    )


def mapping_view(row: LegacyIdRow) -> LegacyMapping:
    return LegacyMapping(
        legacy=LegacyRef.model_construct(
            scheme=LegacyScheme(row.scheme), scope=row.scope, value=row.value
        ),
        ies_id=row.ies_id,
        valid_from=from_db(row.valid_from),
        valid_to=from_db(row.valid_to) if row.valid_to else None,
    )


def relation_view(row: RelationRow) -> Relation:
    return Relation(
        child=row.child_id,
        child_type=EntityType(row.child_type),
        parent=row.parent_id,
        parent_type=EntityType(row.parent_type),
        valid_from=from_db(row.valid_from),
        valid_to=from_db(row.valid_to) if row.valid_to else None,
    )


# ------------------------------------------------------------------- apply drafts


@dataclass
class Outcome:
    """What happened to one draft."""

    line: int
    result: str  # created | updated | unchanged | failed
    id: str | None = None
    error: RowError | None = None
    problem: RegistryProblem | None = None


@dataclass
class _Pending:
    """The writes one batch will make, collected so they go out as bulk statements."""

    identities: list[dict[str, Any]] = field(default_factory=list)
    legacy: list[dict[str, Any]] = field(default_factory=list)
    relations: list[dict[str, Any]] = field(default_factory=list)
    closes: list[tuple[int, datetime]] = field(default_factory=list)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    personal: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    now_db: datetime | None = None
    # What the batch's decisions were read from: the legacy keys it looked up and
    # the identities it found or was given (see :meth:`depends_on`).
    read_keys: set[str] = field(default_factory=set)
    read_ids: set[str] = field(default_factory=set)

    def depends_on(self, earlier: _Pending) -> bool:
        """Whether this batch read anything ``earlier`` writes: decided while
        ``earlier`` was still being written, it must then be decided again."""
        keys = {row["legacy_key"] for row in earlier.legacy}
        ids = {row["id"] for row in earlier.identities}
        ids.update(ies_id for ies_id, _ in earlier.updates)
        ids.update(row["child_id"] for row in earlier.relations)
        ids.update(row["consumer_id"] for row in earlier.personal)
        return not (self.read_keys.isdisjoint(keys) and self.read_ids.isdisjoint(ids))


def _address_values(address: Address) -> dict[str, Any]:
    values: dict[str, Any] = {f: getattr(address, f) for f in ADDRESS_FIELDS}
    values["lat"] = address.geo.lat if address.geo else None
    values["lon"] = address.geo.lon if address.geo else None
    return values


def apply_drafts(
    store: RegistryStore,
    items: list[tuple[int, IdentityDraft]],
    now: datetime,
    *,
    audit_creations: bool = True,
    scope: WriterScope = EVERY_DISCOM,
) -> list[Outcome]:
    """Create or sync each draft; a draft that breaks a rule fails alone.

    Reads everything the batch needs in a few queries, decides in memory, then
    writes in bulk. Raises ``IntegrityError`` only when a concurrent writer won a
    race the reads could not see; :func:`apply_drafts_safely` handles that.
    """
    outcomes, pending = decide_drafts(
        store, items, now, audit_creations=audit_creations, scope=scope
    )
    write_pending(store, pending)
    return outcomes


def decide_drafts(
    store: RegistryStore,
    items: list[tuple[int, IdentityDraft]],
    now: datetime,
    *,
    audit_creations: bool = True,
    scope: WriterScope = EVERY_DISCOM,
) -> tuple[list[Outcome], _Pending]:
    """The reading and deciding half of :func:`apply_drafts`: it writes nothing."""
    legacy_keys: set[str] = set()
    ids: set[str] = set()
    for _, draft in items:
        legacy_keys.update(typed_key(draft.type, ref) for ref in draft.legacy_ids)
        if draft.id:
            ids.add(draft.id)
        for parent_type, parent in draft.parents.items():
            if parent.legacy is not None:
                legacy_keys.add(typed_key(parent_type, parent.legacy))
            elif parent.id is not None:
                ids.add(parent.id)
    open_legacy = store.open_legacy(legacy_keys)
    canonical_ids: set[str] = set()
    for text in ids:
        with suppress(RegistryProblem):  # a malformed id fails its own row below
            canonical_ids.add(str(parse_id(text)))
    existing_rows = store.identities_by_id(canonical_ids | set(open_legacy.values()))
    known_types = {i: row.type for i, row in existing_rows.items()}
    open_parents = store.open_parents(known_types)

    pending = _Pending(read_keys=legacy_keys, read_ids=canonical_ids | set(known_types))
    pending.now_db = to_db(now)
    batch_rows: dict[str, dict[str, Any]] = {}
    outcomes: list[Outcome] = []
    for line, draft in items:
        try:
            outcome = _apply_one(
                store,
                draft,
                line,
                now,
                open_legacy,
                known_types,
                existing_rows,
                open_parents,
                batch_rows,
                pending,
                audit_creations,
                scope,
            )
        except RegistryProblem as problem:
            outcome = Outcome(line, "failed", error=row_error(line, problem), problem=problem)
        outcomes.append(outcome)
    return outcomes, pending


def write_pending(store: RegistryStore, pending: _Pending) -> None:
    """The writing half of :func:`apply_drafts`: bulk statements, in dependency order."""
    store.insert_identities(pending.identities)
    for ies_id, values in pending.updates:
        store.update_identity(ies_id, values)
    for pk, at in pending.closes:
        store.close_relations([pk], at)
    store.insert_legacy(pending.legacy)
    store.insert_relations(pending.relations)
    store.put_personal(pending.personal)
    store.add_events(pending.events)
    store.session.flush()


def _apply_one(
    store: RegistryStore,
    draft: IdentityDraft,
    line: int,
    now: datetime,
    open_legacy: dict[str, str],
    known_types: dict[str, str],
    existing_rows: dict[str, IdentityRow],
    open_parents: dict[tuple[str, str], RelationRow],
    batch_rows: dict[str, dict[str, Any]],
    pending: _Pending,
    audit_creations: bool,
    scope: WriterScope = EVERY_DISCOM,
) -> Outcome:
    entity_type = draft.type
    attributes = validate_attributes(entity_type, draft.attributes)
    valid_from = draft.valid_from or now
    valid_from_db = pending.now_db if valid_from is now and pending.now_db else to_db(valid_from)
    given = str(parse_id(draft.id, expected=entity_type)) if draft.id else None

    # Which identity does this draft name?
    keys = [typed_key(entity_type, ref) for ref in draft.legacy_ids]
    named = {open_legacy[key] for key in keys if key in open_legacy}
    if given is not None:
        stray = named - {given}
        if stray:
            raise DuplicateLegacyId(
                f"a legacy identifier of this row is already mapped to {sorted(stray)[0]}"
            )
        named.add(given)
    if len(named) > 1:
        raise DuplicateLegacyId(
            f"the row's legacy identifiers are mapped to different identities: {sorted(named)}"
        )
    target = named.pop() if named else None
    if target is not None:
        target_type = known_types.get(target) or (
            batch_rows[target]["type"] if target in batch_rows else None
        )
        if target_type is not None and target_type != entity_type.value:
            raise DuplicateLegacyId(
                f"the legacy identifier is mapped to {target}, a {target_type}, "
                f"not a {entity_type.value}"
            )

    # Resolve parents before writing anything for this row.
    parents: dict[EntityType, str] = {}
    for parent_type, ref in draft.parents.items():
        check_relation(entity_type, parent_type)
        parents[parent_type] = _resolve_parent(
            ref, parent_type, open_legacy, known_types, batch_rows
        )
    if not scope.unscoped:  # before anything of this row is written (or decided)
        _check_owner(scope, draft, target, parents, existing_rows, batch_rows)

    address = _address_values(draft.address)
    is_new = target is None or (target not in known_types and target not in batch_rows)
    if is_new:
        ies_id = target or str(new_id(entity_type))
        row = {
            "id": ies_id,
            "type": entity_type.value,
            "status": Status.ACTIVE.value,
            **address,
            "attributes": attributes,
            "created_at": pending.now_db,
            "updated_at": pending.now_db,
        }
        pending.identities.append(row)
        batch_rows[ies_id] = row
        known_types[ies_id] = entity_type.value
        if audit_creations:
            pending.events.append(_event(now, ies_id, "created", {"type": entity_type.value}))
        result = "created"
    else:
        assert target is not None
        ies_id = target
        result = "unchanged"
        current = existing_rows.get(ies_id)
        current_values = (
            {
                f: getattr(current, f)
                for f in (*ADDRESS_FIELDS, "lat", "lon", "attributes", "status")
            }
            if current is not None
            else batch_rows[ies_id]
        )
        if current_values.get("status") == Status.RETIRED.value:
            raise IdentityRetired(f"{ies_id} is retired")
        # A sync touches only what the row states: a row that only relates an entity
        # (or adds a legacy id) leaves its address and attributes alone.
        stated = {f for f in draft.address.model_fields_set if f != "geo"}
        if "geo" in draft.address.model_fields_set:
            stated |= {"lat", "lon"}
        proposed: dict[str, Any] = {k: address[k] for k in stated}
        if draft.attributes:
            proposed["attributes"] = validate_attributes(
                entity_type, {**current_values.get("attributes", {}), **draft.attributes}
            )
        changes = {k: v for k, v in proposed.items() if current_values.get(k) != v}
        if changes:
            if current is None:
                batch_rows[ies_id].update(changes)
            else:
                pending.updates.append((ies_id, {**changes, "updated_at": to_db(now)}))
                for key, value in changes.items():
                    setattr(current, key, value)
            pending.events.append(_event(now, ies_id, "updated", {"fields": sorted(changes)}))
            result = "updated"

    for legacy in draft.legacy_ids:
        key = typed_key(entity_type, legacy)
        if open_legacy.get(key) == ies_id:
            continue
        if not is_new:
            for mapped in store.legacy_overlapping(key, valid_from):
                if mapped.ies_id != ies_id:
                    raise DuplicateLegacyId(
                        f"{legacy} is mapped to {mapped.ies_id} after {valid_from:%Y-%m-%d}"
                    )
        pending.legacy.append(
            {
                "legacy_key": key,
                "scheme": legacy.scheme.value,
                "scope": legacy.scope,
                "value": legacy.value,
                "ies_id": ies_id,
                "valid_from": valid_from_db,
                "valid_to": None,
            }
        )
        open_legacy[key] = ies_id
        if result == "unchanged":
            result = "updated"
        if not is_new:
            pending.events.append(_event(now, ies_id, "legacy-mapped", {"legacy": str(legacy)}))

    for parent_type, parent_id in parents.items():
        current_rel = open_parents.get((ies_id, parent_type.value))
        if current_rel is not None and current_rel.parent_id == parent_id:
            continue
        if current_rel is not None:
            if from_db(current_rel.valid_from) >= valid_from:
                raise InvalidTopology(
                    f"{ies_id} sits under {current_rel.parent_id} from "
                    f"{from_db(current_rel.valid_from):%Y-%m-%dT%H:%M:%SZ}; "
                    "a new relation must start later"
                )
            pending.closes.append((current_rel.pk or 0, valid_from))
        rel = RelationRow(
            child_id=ies_id,
            child_type=entity_type.value,
            parent_id=parent_id,
            parent_type=parent_type.value,
            valid_from=valid_from_db,
            valid_to=None,
        )
        pending.relations.append(
            {
                k: getattr(rel, k)
                for k in (
                    "child_id",
                    "child_type",
                    "parent_id",
                    "parent_type",
                    "valid_from",
                    "valid_to",
                )
            }
        )
        open_parents[(ies_id, parent_type.value)] = rel
        if not is_new or audit_creations:
            pending.events.append(_event(now, ies_id, "related", {"parent": parent_id}))
        if result == "unchanged":
            result = "updated"

    if draft.personal is not None:
        pending.personal.append(
            {"consumer_id": ies_id, **draft.personal.model_dump(), "updated_at": to_db(now)}
        )
    return Outcome(line, result, id=ies_id)


def _check_owner(
    scope: WriterScope,
    draft: IdentityDraft,
    target: str | None,
    parents: dict[EntityType, str],
    existing_rows: dict[str, IdentityRow],
    batch_rows: dict[str, dict[str, Any]],
) -> None:
    """A scoped writer's row may touch only its own discom's records: the identity it
    names (as it is now), the discom it states (or, creating one, must state), and every
    parent it relates the identity to (a parent's children are that parent's topology)."""

    def discom_of(ies_id: str) -> str | None:
        row = existing_rows.get(ies_id)
        return row.discom if row is not None else batch_rows[ies_id].get("discom")

    existing = target is not None and (target in existing_rows or target in batch_rows)
    if existing:
        assert target is not None
        scope.check(discom_of(target), target)
    if not existing or "discom" in draft.address.model_fields_set:
        scope.check(draft.address.discom, f"the {draft.type.value}")
    for parent_id in parents.values():
        scope.check(discom_of(parent_id), f"parent {parent_id}")


def _resolve_parent(
    ref: ParentRef,
    parent_type: EntityType,
    open_legacy: dict[str, str],
    known_types: dict[str, str],
    batch_rows: dict[str, dict[str, Any]],
) -> str:
    if ref.id is not None:
        parent_id = str(parse_id(ref.id, expected=parent_type))
        if parent_id not in known_types:
            raise IdentityNotFound(f"parent {parent_id} is not in the registry")
        return parent_id
    assert ref.legacy is not None
    parent_id_or_none = open_legacy.get(typed_key(parent_type, ref.legacy))
    if parent_id_or_none is None:
        raise LegacyIdNotFound(
            f"parent {ref.legacy} is not mapped (parents must come earlier in the file)"
        )
    if known_types.get(parent_id_or_none) != parent_type.value:
        raise InvalidTopology(f"parent {ref.legacy} names a {known_types.get(parent_id_or_none)}")
    return parent_id_or_none


def _event(now: datetime, ies_id: str | None, kind: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"at": to_db(now), "identity_id": ies_id, "kind": kind, "detail": detail}


# A deadlock (SQLSTATE 40P01) or a serialization failure (40001) is PostgreSQL picking
# a victim between two writers (two imports mapping the same identifiers in different
# orders), not a fault of the rows: the victim's batch is rolled back whole and sent
# again, a bounded number of times, after a random pause so the two do not meet in step.
TRANSIENT_RETRIES = 6
# A row that lost a race (a concurrent writer committed its identifier between our read
# and our write) is decided again: it then syncs the identity the other writer made.
RACE_RETRIES = 2


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0.0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret


def _transient_or_raise(exc: OperationalError, attempt: int, retries: int, what: str) -> None:
    if not is_transient(exc) or attempt >= retries:
        raise exc
    log.warning(
        "registry import: %s retried after %s (attempt %d of %d)",
        what,
        getattr(getattr(exc, "orig", None), "sqlstate", "?"),
        attempt + 1,
        retries,
    )
    _pause(attempt)


def apply_drafts_safely(
    session: Session,
    items: list[tuple[int, IdentityDraft]],
    now: datetime,
    *,
    audit_creations: bool,
    scope: WriterScope = EVERY_DISCOM,
    retries: int = TRANSIENT_RETRIES,
) -> list[Outcome]:
    """:func:`apply_drafts`, falling back to one row at a time if a concurrent writer
    took a legacy identifier (or an id) between our read and our write, and sending the
    batch again if the database chose it as a deadlock's victim (``retries`` times)."""
    attempt = races = 0
    while True:
        try:
            with session.begin_nested():
                return apply_drafts(
                    RegistryStore(session),
                    items,
                    now,
                    audit_creations=audit_creations,
                    scope=scope,
                )
        except IntegrityError:
            # PostgreSQL raises it once the other writer committed: decided again, the
            # batch now sees that writer's rows (one retry; then row by row).
            if races >= 1:
                break
            races += 1
        except OperationalError as exc:
            _transient_or_raise(exc, attempt, retries, f"a batch of {len(items)} rows")
            attempt += 1
    return [
        _apply_row(session, item, now, audit_creations=audit_creations, scope=scope,
                   retries=retries)
        for item in items
    ]  # fmt: skip


def _apply_row(
    session: Session,
    item: tuple[int, IdentityDraft],
    now: datetime,
    *,
    audit_creations: bool,
    scope: WriterScope,
    retries: int,
) -> Outcome:
    races = transients = 0
    while True:
        try:
            with session.begin_nested():
                [outcome] = apply_drafts(
                    RegistryStore(session), [item], now, audit_creations=audit_creations,
                    scope=scope,
                )  # fmt: skip
                return outcome
        except IntegrityError:
            if races >= RACE_RETRIES:
                line = item[0]
                problem = DuplicateLegacyId("a concurrent writer mapped the same identifier first")
                return Outcome(line, "failed", error=RowError(line, problem.detail),
                               problem=problem)  # fmt: skip
            races += 1
        except OperationalError as exc:
            _transient_or_raise(exc, transients, retries, f"line {item[0]}")
            transients += 1


class _ShortGilTurns:
    """A short GIL switch interval while at least one overlapped import runs."""

    TURN = 0.0005

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved = sys.getswitchinterval()

    def enter(self) -> None:
        with self._lock:
            if self._users == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.TURN, self._saved))
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._saved)


_SHORT_TURNS = _ShortGilTurns()


@dataclass
class _InFlight:
    batch: list[tuple[int, IdentityDraft]]
    pending: _Pending
    outcomes: list[Outcome]
    written: Future[None]


class _OverlappedWrites:
    """A non-atomic bulk import on PostgreSQL, with the database's work and Python's
    overlapped: while a writer thread sends batch N (COPY, index upkeep, commit: the
    server's core busy, our thread waiting without the GIL), batch N+1 is read and
    decided on a second session. Deciding N+1 before N is committed is sound only if
    N+1 read nothing N writes; a batch that did (a meter under a transformer created
    just before it) waits for N and is decided again. A batch whose write a concurrent
    writer broke is redone with :func:`apply_drafts_safely`, row by row if need be.
    Measured at 200k meters: the serial loop waits 5 of its 13 s on the server.

    The writer hands the GIL back at every send of COPY data and waits for it again
    while this thread decides; at CPython's default 5 ms switch interval that wait
    was most of the gain lost (1M meters: 66 s; with 0.5 ms turns, 49 s). The shorter
    interval holds while any overlapped import runs in the process.
    """

    def __init__(self, session: Session, now: datetime, scope: WriterScope) -> None:
        self.session = session  # writes and commits, one batch at a time
        self.reader = Session(session.get_bind(), autoflush=False)
        self.now = now
        self.scope = scope
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="registry-import-writer")
        self.in_flight: _InFlight | None = None
        _SHORT_TURNS.enter()

    def submit(self, batch: list[tuple[int, IdentityDraft]]) -> list[list[Outcome]]:
        """Start ``batch``; the outcomes of the batches that finished meanwhile, in order."""
        outcomes, pending = self._decide(batch)
        finished = []
        earlier = self.in_flight
        if earlier is not None:
            self.in_flight = None
            finished.append(self._finish(earlier))
            if pending.depends_on(earlier.pending):
                outcomes, pending = self._decide(batch)
        written = self.writer.submit(self._write, pending)
        self.in_flight = _InFlight(batch, pending, outcomes, written)
        return finished

    def drain(self) -> list[list[Outcome]]:
        earlier, self.in_flight = self.in_flight, None
        return [] if earlier is None else [self._finish(earlier)]

    def close(self) -> None:
        try:
            self.writer.shutdown(wait=True)  # an import that failed half-way still joins
            self.reader.close()
        finally:
            _SHORT_TURNS.leave()

    def _decide(self, batch: list[tuple[int, IdentityDraft]]) -> tuple[list[Outcome], _Pending]:
        try:
            return decide_drafts(RegistryStore(self.reader), batch, self.now,
                                 audit_creations=False, scope=self.scope)  # fmt: skip
        finally:  # deciding changes loaded rows in memory: none of it may reach the database
            self.reader.expunge_all()
            self.reader.rollback()

    def _write(self, pending: _Pending) -> None:
        try:
            write_pending(RegistryStore(self.session), pending)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def _finish(self, flight: _InFlight) -> list[Outcome]:
        try:
            flight.written.result()
        except IntegrityError:  # a concurrent writer took an identifier first
            pass
        except OperationalError as exc:  # a deadlock's victim: its batch was rolled back
            _transient_or_raise(exc, 0, 1, f"a batch of {len(flight.batch)} rows")
        else:
            return flight.outcomes
        # Decided again on the writing session, which now sees what the other committed.
        outcomes = apply_drafts_safely(
            self.session, flight.batch, self.now, audit_creations=False, scope=self.scope
        )
        self.session.commit()
        return outcomes


# ------------------------------------------------------------------ single identity
#
# Every write takes the writer's ``scope`` (registry.ownership). The HTTP API always
# passes the caller's; in-process callers (the command line, benches, another block
# seeding its own database) act as the registry's operator: every discom.


def create_identity(
    session: Session,
    draft: IdentityDraft,
    now: datetime | None = None,
    *,
    scope: WriterScope = EVERY_DISCOM,
) -> Identity:
    """Create one identity (or refuse it with the precise problem)."""
    now = now or now_utc()
    scope.check(draft.address.discom, f"the new {draft.type.value}")
    if draft.id is not None:
        ies_id = str(parse_id(draft.id, expected=draft.type))
        if RegistryStore(session).get_identity(ies_id) is not None:
            raise DuplicateLegacyId(f"{ies_id} already exists")
    [outcome] = apply_drafts_safely(session, [(1, draft)], now, audit_creations=True, scope=scope)
    if outcome.problem is not None:
        raise outcome.problem
    if outcome.result != "created":
        assert outcome.id is not None
        raise DuplicateLegacyId(
            f"the legacy identifier is already mapped to {outcome.id}", existing=outcome.id
        )
    assert outcome.id is not None
    return get_identity(session, outcome.id)


def _row(store: RegistryStore, text: str) -> IdentityRow:
    ies_id = str(parse_id(text))
    row = store.get_identity(ies_id)
    if row is None:
        raise IdentityNotFound(f"{ies_id} was never issued by this registry")
    return row


def get_identity(session: Session, text: str) -> Identity:
    return identity_view(_row(RegistryStore(session), text))


def update_identity(
    session: Session,
    text: str,
    *,
    address: Address | None,
    attributes: dict[str, Any] | None,
    now: datetime | None = None,
    scope: WriterScope = EVERY_DISCOM,
) -> Identity:
    """Change where an entity is or what it is like; its identifier stays."""
    now = now or now_utc()
    store = RegistryStore(session)
    row = _row(store, text)
    scope.check(row.discom, row.id)
    if address is not None:  # the address is replaced whole: it must stay the writer's
        scope.check(address.discom, f"the new address of {row.id}")
    if row.status == Status.RETIRED.value:
        raise IdentityRetired(f"{row.id} is retired")
    changes: dict[str, Any] = {}
    if address is not None:
        changes.update({k: v for k, v in _address_values(address).items() if getattr(row, k) != v})
    if attributes is not None:
        validated = validate_attributes(EntityType(row.type), attributes)
        if validated != row.attributes:
            changes["attributes"] = validated
    if changes:
        store.update_identity(row.id, {**changes, "updated_at": to_db(now)})
        store.add_events([_event(now, row.id, "updated", {"fields": sorted(changes)})])
        session.flush()
        session.refresh(row)
    return identity_view(row)


def retire_identity(
    session: Session, text: str, now: datetime | None = None, *, scope: WriterScope = EVERY_DISCOM
) -> Identity:
    """Retire an identity: kept for history, never reused, its open relations closed."""
    now = now or now_utc()
    store = RegistryStore(session)
    row = _row(store, text)
    scope.check(row.discom, row.id)
    if row.status == Status.RETIRED.value:
        return identity_view(row)
    store.update_identity(row.id, {"status": Status.RETIRED.value, "updated_at": to_db(now)})
    open_rel = [r.pk for r in store.relations_of(row.id) if r.valid_to is None and r.pk is not None]
    store.close_relations(open_rel, now)
    store.add_events([_event(now, row.id, "retired", {})])
    session.flush()
    session.refresh(row)
    return identity_view(row)


def add_legacy_id(
    session: Session,
    text: str,
    ref: LegacyRef,
    valid_from: datetime | None = None,
    *,
    scope: WriterScope = EVERY_DISCOM,
) -> LegacyMapping:
    now = now_utc()
    row = _row(RegistryStore(session), text)
    scope.check(row.discom, row.id)
    draft = IdentityDraft(
        type=EntityType(row.type),
        id=row.id,
        legacy_ids=[ref],
        valid_from=valid_from or now,
        address=identity_view(row).address,
        attributes=row.attributes,
    )
    [outcome] = apply_drafts_safely(session, [(1, draft)], now, audit_creations=True, scope=scope)
    if outcome.problem is not None:
        raise outcome.problem
    for mapping in RegistryStore(session).legacy_of(row.id):
        if mapping.legacy_key == typed_key(EntityType(row.type), ref) and mapping.valid_to is None:
            return mapping_view(mapping)
    raise DuplicateLegacyId(f"{ref} could not be mapped to {row.id}")  # pragma: no cover


def legacy_ids_of(session: Session, text: str) -> list[LegacyMapping]:
    store = RegistryStore(session)
    row = _row(store, text)
    return [mapping_view(m) for m in store.legacy_of(row.id)]


def resolve_legacy(
    session: Session,
    ref: LegacyRef,
    at: datetime | None = None,
    entity_type: EntityType | None = None,
) -> LegacyMapping:
    """The identity a legacy identifier named at ``at`` (now by default).

    Without ``entity_type`` the identifier must name one identity; some discoms use
    one number for the account holder and the service connection, and then the
    caller must say which it means.
    """
    at = at or now_utc()
    window = Window(at, at + timedelta(microseconds=1))
    types = [entity_type] if entity_type else list(EntityType)
    store = RegistryStore(session)
    found = store.legacy_at([typed_key(t, ref) for t in types], window)
    if not found:
        raise LegacyIdNotFound(f"{ref} was not mapped at {at.isoformat()}")
    if len({row.ies_id for row in found}) > 1:
        raise AmbiguousLegacyId(
            f"{ref} names {len(found)} identities of different types; say which type",
            candidates=sorted(row.ies_id for row in found),
        )
    return mapping_view(found[-1])


def relate(
    session: Session,
    child: str,
    parent: str,
    valid_from: datetime | None = None,
    *,
    scope: WriterScope = EVERY_DISCOM,
) -> Relation:
    """Put ``child`` under ``parent`` from ``valid_from``, closing its previous parent of
    that type (a meter moved, a DT re-fed from another feeder)."""
    now = now_utc()
    store = RegistryStore(session)
    child_row = _row(store, child)
    parent_row = _row(store, parent)
    scope.check(child_row.discom, child_row.id)
    scope.check(parent_row.discom, f"parent {parent_row.id}")
    if parent_row.status == Status.RETIRED.value:
        raise IdentityRetired(f"{parent_row.id} is retired")
    draft = IdentityDraft(
        type=EntityType(child_row.type),
        id=child_row.id,
        valid_from=valid_from or now,
        address=identity_view(child_row).address,
        attributes=child_row.attributes,
        parents={EntityType(parent_row.type): ParentRef(id=parent_row.id)},
    )
    [outcome] = apply_drafts_safely(session, [(1, draft)], now, audit_creations=True, scope=scope)
    if outcome.problem is not None:
        raise outcome.problem
    for rel in store.relations_of(child_row.id):
        if rel.parent_id == parent_row.id and rel.valid_to is None:
            return relation_view(rel)
    raise InvalidTopology("the relation was not recorded")  # pragma: no cover


def relations_of(session: Session, text: str) -> list[Relation]:
    store = RegistryStore(session)
    row = _row(store, text)
    return [relation_view(r) for r in store.relations_of(row.id)]


def children_of(session: Session, text: str, window: Window) -> list[Relation]:
    store = RegistryStore(session)
    row = _row(store, text)
    return [relation_view(r) for r in store.children_of(row.id, window)]


def search(
    session: Session,
    *,
    entity_type: EntityType | None,
    address: dict[str, str],
    under: str | None,
    window: Window | None,
    after: str | None,
    limit: int,
) -> list[Identity]:
    store = RegistryStore(session)
    root = None
    if under is not None:
        root = _row(store, under).id
    rows = store.search(
        entity_type=entity_type,
        address=address,
        under=root,
        window=window,
        after=after,
        limit=limit,
    )
    return [identity_view(r) for r in rows]


def get_personal(session: Session, text: str) -> PersonalRecord:
    store = RegistryStore(session)
    row = _row(store, text)
    record = store.get_personal(row.id)
    if record is None:
        raise IdentityNotFound(f"no personal record is kept for {row.id}")
    return PersonalRecord(name=record.name, phone=record.phone, email=record.email)


def put_personal(
    session: Session, text: str, record: PersonalRecord, *, scope: WriterScope = EVERY_DISCOM
) -> PersonalRecord:
    store = RegistryStore(session)
    row = _row(store, text)
    scope.check(row.discom, row.id)
    if row.type != EntityType.CONSUMER.value:
        raise IdentityNotFound(
            f"{row.id} is not a consumer; personal data is kept for consumers only"
        )
    store.put_personal(
        [{"consumer_id": row.id, **record.model_dump(), "updated_at": to_db(now_utc())}]
    )
    store.add_events([_event(now_utc(), row.id, "personal-updated", {})])
    session.flush()
    return record


def history_of(session: Session, text: str, after: int | None, limit: int) -> list[dict[str, Any]]:
    store = RegistryStore(session)
    row = _row(store, text)
    return [
        {"seq": e.pk, "at": from_db(e.at), "kind": e.kind, "detail": e.detail}
        for e in store.events_of(row.id, after, limit)
    ]


# ----------------------------------------------------------------------- idempotency


def request_digest(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.blake2b(raw, digest_size=32).hexdigest()


def replay_idempotent(session: Session, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
    """The response first given for ``key``, if this exact request was seen before."""
    row = RegistryStore(session).get_idempotent(key)
    if row is None:
        return None
    if row.request_digest != digest:
        raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for a different request")
    return row.status_code, row.response


def remember_idempotent(
    session: Session, key: str, digest: str, status_code: int, response: dict[str, Any]
) -> None:
    RegistryStore(session).put_idempotent(
        IdempotencyRow(
            key=key,
            request_digest=digest,
            status_code=status_code,
            response=response,
            created_at=to_db(now_utc()),
        )
    )


# --------------------------------------------------------------------------- imports


@dataclass
class ImportReport:
    job_id: str
    status: str  # completed | rejected
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            **self.counts(),
            "errors": self.errors,
            "errors_truncated": self.errors_truncated,
        }


def import_rows(
    session: Session,
    parsed: Iterable[tuple[int, IdentityDraft | RowError]],
    *,
    source: str,
    fmt: str,
    atomic: bool = False,
    batch_size: int = 2000,
    max_errors: int = 1000,
    progress: Callable[[int], None] | None = None,
    valid_from: datetime | None = None,
    scope: WriterScope = EVERY_DISCOM,
) -> ImportReport:
    """Stream drafts into the registry in batches.

    Non-atomic (the default): every good row is kept, committed batch by batch, and
    every bad row is reported with its line and reason; re-running the same file
    changes nothing. Atomic: one transaction, and a single bad row rolls back all.
    ``valid_from`` dates the rows that carry no date of their own: a discom loading
    its history states when its records began, instead of "now". A row touching
    another discom's records than ``scope``'s is a bad row (``foreign-discom``): reported
    and not written, or, atomic, the whole file rejected.
    """
    now = now_utc()
    report = ImportReport(job_id=str(uuid.uuid4()), status="completed")

    def record(outcome: Outcome) -> None:
        report.rows += 1
        if outcome.result == "failed":
            report.failed += 1
            if outcome.error is not None:
                if len(report.errors) < max_errors:
                    report.errors.append(outcome.error.to_dict())
                else:
                    report.errors_truncated = True
        else:
            setattr(report, outcome.result, getattr(report, outcome.result) + 1)

    def record_all(outcomes: list[Outcome]) -> None:
        for outcome in sorted(outcomes, key=lambda o: o.line):
            record(outcome)

    overlap = (
        _OverlappedWrites(session, now, scope)
        if not atomic and session.get_bind().dialect.name == "postgresql"
        else None
    )

    def flush(batch: list[tuple[int, IdentityDraft]]) -> None:
        if overlap is not None:
            for outcomes in overlap.submit(batch):
                record_all(outcomes)
            return
        record_all(apply_drafts_safely(session, batch, now, audit_creations=False, scope=scope))
        if not atomic:
            session.commit()

    try:
        batch: list[tuple[int, IdentityDraft]] = []
        for line, item in parsed:
            if (
                valid_from is not None
                and isinstance(item, IdentityDraft)
                and item.valid_from is None
            ):
                item.valid_from = valid_from
            if isinstance(item, RowError):
                record(Outcome(line, "failed", error=item))
            else:
                batch.append((line, item))
                if len(batch) >= batch_size:
                    flush(batch)
                    batch = []
            if progress is not None and report.rows and report.rows % batch_size == 0:
                progress(report.rows)
        if batch:
            flush(batch)
        if overlap is not None:
            for outcomes in overlap.drain():
                record_all(outcomes)
    finally:
        if overlap is not None:
            overlap.close()
    if progress is not None:
        progress(report.rows)

    report.errors.sort(key=lambda e: int(e["line"]))
    if atomic and report.failed:
        session.rollback()
        report.status = "rejected"
        report.created = report.updated = report.unchanged = 0
    store = RegistryStore(session)
    store.add_job(
        ImportJobRow(
            id=report.job_id,
            source=source[:200],
            format=fmt,
            atomic=atomic,
            status=report.status,
            created_at=to_db(now),
            finished_at=to_db(now_utc()),
            counts=report.counts(),
            errors=report.errors,
            writer=(scope.writer or "")[:255] or None,
        )
    )
    store.add_events([_event(now, None, "import", {"job": report.job_id, **report.counts()})])
    session.commit()
    return report


def get_import(session: Session, job_id: str, *, scope: WriterScope = EVERY_DISCOM) -> ImportReport:
    """An import's report, for whoever ran it (or the registry's operator)."""
    job = RegistryStore(session).get_job(job_id)
    if job is None:
        raise IdentityNotFound(f"no import job {job_id}")
    if not scope.unscoped and job.writer != scope.writer:
        raise ForeignDiscom(f"import {job_id} was run by another writer")
    report = ImportReport(job_id=job.id, status=job.status, errors=list(job.errors))
    for key, value in job.counts.items():
        setattr(report, key, value)
    return report


# --------------------------------------------------------------------------- export


def export_rows(
    session: Session, entity_type: EntityType | None, batch: int = 5000
) -> Iterator[dict[str, Any]]:
    """Every identity as flat import rows (one per legacy identifier), parents before
    children, so an export re-imports into another registry with the same identifiers."""
    for one_type in [entity_type] if entity_type else EXPORT_ORDER:
        yield from _export_type(RegistryStore(session), one_type, batch)


# Parents before children: an import resolves a parent only if it came earlier.
EXPORT_ORDER = (
    EntityType.SUBSTATION,
    EntityType.FEEDER,
    EntityType.DISTRIBUTION_TRANSFORMER,
    EntityType.CONSUMER,
    EntityType.CONNECTION,
    EntityType.DER,
    EntityType.EV_CHARGER,
    EntityType.METER,
)


def _export_type(
    store: RegistryStore, entity_type: EntityType, batch: int
) -> Iterator[dict[str, Any]]:
    after: str | None = None
    while True:
        rows = store.search(
            entity_type=entity_type, address={}, under=None, window=None, after=after, limit=batch
        )
        if not rows:
            return
        ids = [r.id for r in rows]
        parents = store.open_parents(ids)
        legacy: dict[str, list[LegacyIdRow]] = {}
        for key_row in store.open_legacy_of(ids):
            legacy.setdefault(key_row.ies_id, []).append(key_row)
        for row in rows:
            flat: dict[str, Any] = {"id": row.id, "type": row.type}
            flat.update({f: getattr(row, f) for f in ADDRESS_FIELDS if getattr(row, f) is not None})
            if row.lat is not None:
                flat["lat"], flat["lon"] = row.lat, row.lon
            flat.update({f"attr.{k}": v for k, v in row.attributes.items()})
            for parent_type in EntityType:
                rel = parents.get((row.id, parent_type.value))
                if rel is not None:
                    flat[f"parent.{parent_type.value}"] = rel.parent_id
            mappings: list[LegacyIdRow | None] = list(legacy.get(row.id, [])) or [None]
            for mapping in mappings:
                out = dict(flat)
                if mapping is not None:
                    out.update(
                        legacy_scheme=mapping.scheme,
                        legacy_scope=mapping.scope,
                        legacy_id=mapping.value,
                        valid_from=from_db(mapping.valid_from).isoformat(),
                    )
                yield out
        after = rows[-1].id
