"""Use cases: decide and record, and read the log back ("why was this refused?")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from kernel.pagination import Page, decode_cursor, encode_cursor
from kernel.problems import InvalidCursor
from policy_packs import store
from policy_packs.decision import (
    Decision,
    Engine,
    PackRef,
    RecordedDecision,
    Violation,
    decide,
)
from policy_packs.errors import DecisionNotFound
from policy_packs.manifest import Domain
from policy_packs.packs import Catalogue


def evaluate(
    session: Session,
    catalogue: Catalogue,
    engine: Engine,
    *,
    jurisdiction: str,
    domain: Domain,
    document: Mapping[str, Any],
    as_of: dt.date,
    reference: str | None = None,
    now: dt.datetime | None = None,
) -> RecordedDecision:
    """Decide with the pack in force, and log the decision in the same unit of work."""
    decision = decide(
        catalogue, engine, jurisdiction=jurisdiction, domain=domain, document=document, as_of=as_of
    )
    row = store.add_decision(
        session,
        store.DecisionRow(
            id=uuid.uuid4().hex,
            decided_at=now or dt.datetime.now(dt.UTC),
            jurisdiction=jurisdiction,
            domain=domain,
            as_of=as_of,
            allow=decision.allow,
            violations=[violation.model_dump() for violation in decision.violations],
            pack_id=decision.pack.id,
            pack_version=decision.pack.version,
            pack_jurisdiction=decision.pack.jurisdiction,
            pack_digest=decision.pack.digest,
            input_digest=decision.input_digest,
            engine=engine.name,
            reference=reference,
        ),
    )
    return _recorded(row, decision)


def _recorded(row: store.DecisionRow, decision: Decision | None = None) -> RecordedDecision:
    if decision is None:
        decision = Decision(
            allow=row.allow,
            violations=tuple(Violation.model_validate(v) for v in row.violations),
            pack=PackRef(
                id=row.pack_id,
                version=row.pack_version,
                digest=row.pack_digest,
                jurisdiction=row.pack_jurisdiction,
            ),
            jurisdiction=row.jurisdiction,
            domain=row.domain,
            as_of=row.as_of,
            input_digest=row.input_digest,
        )
    return RecordedDecision(
        **decision.model_dump(),
        id=row.id,
        decided_at=store.utc(row.decided_at),
        engine=row.engine,
        reference=row.reference,
    )


def recorded_decision(session: Session, decision_id: str) -> RecordedDecision:
    row = store.get_decision(session, decision_id)
    if row is None:
        raise DecisionNotFound(f"no decision {decision_id}")
    return _recorded(row)


def decision_log(
    session: Session, *, filters: dict[str, Any], limit: int, cursor: str | None
) -> Page[RecordedDecision]:
    """One page of the log, newest first, continuing after ``cursor``."""
    before = None
    if cursor is not None:
        after = decode_cursor(cursor, filters)
        if len(after) != 1 or not isinstance(after[0], int):
            raise InvalidCursor("the cursor does not hold a log position")
        before = after[0]
    rows = store.list_decisions(session, filters=filters, before_seq=before, limit=limit + 1)
    items = [_recorded(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1].seq
        next_cursor = encode_cursor([last], filters)
    return Page[RecordedDecision](items=items, next_cursor=next_cursor)
