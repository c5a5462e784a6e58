"""Delivering notifications: signed HTTP POSTs from the outbox, retried with backoff.

Each notification is written in the same transaction as the change it reports, so a
crash never loses one; delivery signs the stored bytes afresh (detached JWS, header
``X-IES-Signature``) and carries ``X-IES-Notification-Id`` so the receiver drops
repeats. A failed attempt is retried after 2^attempts x ``base`` (capped); after
``max_attempts`` the row is marked FAILED and kept, for an operator to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine

from consent.signatures import HEADER, SigningIdentity
from consent.store import ConsentStore, naive
from kernel.database import session_scope

NOTIFICATION_TYP = "ies-consent-notification+jws"


@dataclass(frozen=True, slots=True)
class Delivery:
    delivered: int
    retried: int
    failed: int


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    delay: timedelta = base * (2 ** max(attempts - 1, 0))
    return min(delay, cap)


def deliver_due(
    engine: Engine,
    http: httpx.Client,
    identity: SigningIdentity,
    *,
    now: datetime | None = None,
    limit: int = 100,
    base: timedelta = timedelta(seconds=2),
    cap: timedelta = timedelta(hours=1),
    max_attempts: int = 12,
) -> Delivery:
    moment = now or datetime.now(UTC)
    delivered = retried = failed = 0
    with session_scope(engine) as session:
        rows = list(ConsentStore(session).due_notifications(moment, limit))
    for row in rows:
        body = row.body.encode()
        error: str | None = None
        try:
            response = http.post(
                row.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    HEADER: identity.sign_body(body, NOTIFICATION_TYP, moment),
                    "X-IES-Notification-Id": row.id,
                },
            )
            if not response.is_success:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(engine) as session:
            current = ConsentStore(session).session.get(type(row), row.seq)
            if current is None:
                continue
            current.attempts += 1
            if error is None:
                current.status = "DELIVERED"
                current.delivered_at = naive(moment)
                current.last_error = None
                delivered += 1
            else:
                current.last_error = error
                if current.attempts >= max_attempts:
                    current.status = "FAILED"
                    failed += 1
                else:
                    current.next_attempt_at = naive(moment + backoff(current.attempts, base, cap))
                    retried += 1
            session.add(current)
    return Delivery(delivered, retried, failed)
