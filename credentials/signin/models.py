"""The pure part of sign-in: one-time codes and the lockout state machine.

No clock, storage or HTTP here: every function takes ``now`` and returns a new state,
so the rules (single use, short life, few attempts; lock after repeated failures) are
property-tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)  # long enough to read a text message, no longer
CODE_ATTEMPTS = 3  # 3 guesses in 10^6: a code is not brute-forced before it expires
INVITATION_LIFETIME = timedelta(days=3)  # an operator's enrolment code: read at work
RESEND_AFTER = timedelta(seconds=30)  # no new text while a fresh, unused one is live

LOCK_AFTER = 5  # failed sign-ins in a row (codes or passkeys) before the account locks
LOCK_FOR = timedelta(minutes=15)

SESSION_LIFETIME = timedelta(hours=8)  # a working day; sign in again after
ENROL_LIFETIME = timedelta(minutes=15)  # an invitation session: register a passkey, nothing else

AccountKind = Literal["consumer", "operator"]
Stage = Literal["full", "enrol"]


def new_code() -> str:
    """A uniformly random numeric code (``secrets``, never ``random``)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    """An opaque bearer secret (session id, CSRF token, challenge id): 256 bits."""
    return secrets.token_urlsafe(32)


def digest(secret: str, pepper: bytes) -> str:
    """What the store keeps instead of a code or session id: a keyed hash, so a copy of
    the database alone neither signs anyone in nor replays a session."""
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


class CodeOutcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"  # a replay: the code was already accepted once
    EXHAUSTED = "exhausted"  # too many wrong guesses at this code


@dataclass(frozen=True, slots=True)
class CodeState:
    """One issued code as the store keeps it (its digest, never the code)."""

    digest: str
    expires_at: datetime
    attempts: int = 0
    used: bool = False


def issue_code(
    pepper: bytes, now: datetime, lifetime: timedelta = CODE_LIFETIME
) -> tuple[str, CodeState]:
    code = new_code()
    return code, CodeState(digest(code, pepper), now + lifetime)


def may_resend(state: CodeState | None, lifetime: timedelta, now: datetime) -> bool:
    """Whether to text a new code: not while the last one is unused, live and younger
    than RESEND_AFTER (a script cannot flood a person's phone through the sign-in form)."""
    if state is None or state.used or state.attempts >= CODE_ATTEMPTS:
        return True
    if now >= state.expires_at:
        return True
    return now >= state.expires_at - lifetime + RESEND_AFTER


def check_code(
    state: CodeState, offered: str, pepper: bytes, now: datetime
) -> tuple[CodeOutcome, CodeState]:
    """Check ``offered`` against the code; the new state counts the attempt.

    Order matters: a used, exhausted or expired code is refused before it is compared,
    so a replay or a late guess learns nothing, and only a live code spends attempts.
    """
    if state.used:
        return CodeOutcome.USED, state
    if state.attempts >= CODE_ATTEMPTS:
        return CodeOutcome.EXHAUSTED, state
    if now >= state.expires_at:
        return CodeOutcome.EXPIRED, state
    if hmac.compare_digest(state.digest, digest(offered, pepper)):
        return CodeOutcome.ACCEPTED, replace(state, used=True, attempts=state.attempts + 1)
    return CodeOutcome.WRONG, replace(state, attempts=state.attempts + 1)


@dataclass(frozen=True, slots=True)
class Lockout:
    """An account's failed sign-ins in a row, and until when it is locked."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def retry_after(self, now: datetime) -> int:
        """Seconds until the lock lifts (0 when not locked)."""
        if not self.locked(now):
            return 0
        assert self.locked_until is not None
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))


def failed(state: Lockout, now: datetime) -> Lockout:
    """One more failed sign-in. The LOCK_AFTER-th in a row locks for LOCK_FOR; a failure
    while locked does not extend the lock (an attacker cannot keep a person out forever
    by guessing slowly, only for LOCK_FOR at a time)."""
    if state.locked(now):
        return state
    if state.locked_until is not None:  # an expired lock: start counting afresh
        state = Lockout()
    failures = state.failures + 1
    if failures >= LOCK_AFTER:
        return Lockout(0, now + LOCK_FOR)
    return Lockout(failures, None)


def succeeded(state: Lockout, now: datetime) -> Lockout:
    """A successful sign-in clears the count (the caller checked ``locked`` first)."""
    assert not state.locked(now), "a locked account cannot succeed"
    return Lockout()
