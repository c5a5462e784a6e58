"""The signing-key lookup every inbound signed message does: a port and a cache (pure).

``KeyLookup.lookup_signing_key(subscriber_id, key_id, at)`` answers a
:class:`SigningKey` or a :class:`Refusal` (a value, not an exception: the
receiving pipeline turns it into a NACK naming the step). The in-process
implementation (``service.Directory``) and the HTTP one (``client.HttpKeyLookup``)
both answer through :class:`KeyCache`.

Validity is judged at ``at`` (the signature's ``created``) against what the
directory knows *now*: a key rotated out keeps verifying signatures made inside
its window; a revoked key refuses everything made at or after ``revoked_at``.

Cache invalidation: every write that touches a subscriber (its records, its
network memberships) calls :meth:`KeyCache.invalidate` after commit, which drops
the subscriber's entries and bumps its generation. A lookup that read the
database *before* an invalidation may finish after it; it carries the generation
it started with and :meth:`KeyCache.put` drops its (stale) answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class RefusalReason(StrEnum):
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNSUBSCRIBED = "unsubscribed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RefusalReason
    detail: str

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Membership:
    network: str  # "{namespace}/{registry}", e.g. indiaenergystack.in/ies-p2p-trading-network
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One subscriber's Ed25519 key as the directory publishes it."""

    subscriber_id: str
    key_id: str
    public_key: bytes
    valid_from: datetime
    valid_until: datetime
    status: str
    role: str
    url: str
    did: str
    revoked_at: datetime | None = None
    memberships: tuple[Membership, ...] = field(default_factory=tuple)

    def refusal_at(self, at: datetime) -> Refusal | None:
        name = f"{self.subscriber_id}|{self.key_id}"
        if self.revoked_at is not None and at >= self.revoked_at:
            return Refusal(RefusalReason.REVOKED, f"{name} was revoked at {self.revoked_at}")
        if at < self.valid_from:
            return Refusal(RefusalReason.NOT_YET_VALID, f"{name} is valid from {self.valid_from}")
        if at >= self.valid_until:
            return Refusal(RefusalReason.EXPIRED, f"{name} expired at {self.valid_until}")
        if self.status == "UNSUBSCRIBED":
            return Refusal(RefusalReason.UNSUBSCRIBED, f"{name} is unsubscribed")
        return None

    def networks_at(self, at: datetime) -> list[str]:
        return sorted(
            m.network
            for m in self.memberships
            if m.valid_from <= at and (m.valid_until is None or at < m.valid_until)
        )


class KeyLookup(Protocol):
    """The port ``protocol`` verifies signatures through."""

    def lookup_signing_key(
        self, subscriber_id: str, key_id: str, at: datetime | None = None
    ) -> SigningKey | Refusal: ...


def judge(
    found: SigningKey | None, subscriber_id: str, key_id: str, at: datetime
) -> SigningKey | Refusal:
    if found is None:
        return Refusal(RefusalReason.UNKNOWN, f"no key {key_id!r} for {subscriber_id!r}")
    refusal = found.refusal_at(at)
    return refusal if refusal is not None else found


class KeyCache:
    """Subscriber -> key id -> the published key (or None: known to be absent)."""

    def __init__(self, max_subscribers: int = 100_000) -> None:
        self._entries: dict[str, dict[str, SigningKey | None]] = {}
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()
        self.max_subscribers = max_subscribers
        self.hits = 0
        self.misses = 0

    def get(self, subscriber_id: str, key_id: str) -> tuple[bool, SigningKey | None]:
        keys = self._entries.get(subscriber_id)
        if keys is not None and key_id in keys:
            self.hits += 1
            return True, keys[key_id]
        self.misses += 1
        return False, None

    def generation(self, subscriber_id: str) -> int:
        return self._generation.get(subscriber_id, 0)

    def put(
        self, subscriber_id: str, key_id: str, value: SigningKey | None, generation: int
    ) -> None:
        with self._lock:
            if self._generation.get(subscriber_id, 0) != generation:
                return  # invalidated while we read: our answer may be stale
            if len(self._entries) >= self.max_subscribers and subscriber_id not in self._entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries.setdefault(subscriber_id, {})[key_id] = value

    def invalidate(self, subscriber_id: str) -> None:
        with self._lock:
            self._generation[subscriber_id] = self._generation.get(subscriber_id, 0) + 1
            self._entries.pop(subscriber_id, None)

    def clear(self) -> None:
        with self._lock:
            for subscriber_id in list(self._entries):
                self._generation[subscriber_id] = self._generation.get(subscriber_id, 0) + 1
            self._entries.clear()
