"""The audit trail's hash chain (pure): each entry's hash covers the previous entry's.

``hash_n = SHA-256(canonical({seq, at, kind, actor, consent_id, details, prev}))`` with
``prev`` the previous entry's hash (64 zeros for the first). Changing, removing,
reordering or inserting any entry changes every later hash, so :func:`first_bad`
names the first entry whose stored hash no longer follows from its content and its
predecessor. An anchor (the newest hash, published or handed to the consumer) extends
the proof to truncation of the tail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consent.jws import canonical

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime
    kind: str
    actor: str
    consent_id: str | None
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


def entry_hash(
    *,
    seq: int,
    at: datetime,
    kind: str,
    actor: str,
    consent_id: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    if at.tzinfo is not None:  # stored as naive UTC; hash the same text either way
        at = at.astimezone(UTC).replace(tzinfo=None)
    document = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "kind": kind,
        "actor": actor,
        "consent_id": consent_id,
        "details": details,
        "prev": prev_hash,
    }
    return hashlib.sha256(canonical(document)).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    seq: int
    reason: str


def first_bad(entries: Iterable[Entry]) -> Break | None:
    """The first entry that breaks the chain, or None when every link holds."""
    prev = GENESIS
    expected_seq: int | None = None
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            return Break(entry.seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev:
            return Break(entry.seq, "it does not link to the entry before it")
        recomputed = entry_hash(
            seq=entry.seq,
            at=entry.at,
            kind=entry.kind,
            actor=entry.actor,
            consent_id=entry.consent_id,
            details=entry.details,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            return Break(entry.seq, "its content no longer matches its hash")
        prev = entry.hash
        expected_seq = entry.seq + 1
    return None
