"""Who signed a request: detached JWS verified through the directory's key lookup.

``kid`` is ``{subscriber_id}|{key_id}`` (the Beckn keyId without its algorithm part).
The key must be valid at the signature's ``iat`` (a rotated-out key keeps verifying
what it signed inside its window; a revoked one refuses), and ``iat`` must be within
``max_skew`` of the receiver's clock, which bounds how long a captured request can be
replayed; writes are idempotent on top of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from consent import jws
from consent.errors import RequestStale, SignatureInvalid
from credentials.keys import KeyCustody
from registry.directory.keys import KeyLookup, SigningKey

HEADER = "X-IES-Signature"


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """A participant's directory identity and the custody holding its signing key."""

    subscriber_id: str
    key_id: str
    custody: KeyCustody

    @property
    def kid(self) -> str:
        return f"{self.subscriber_id}|{self.key_id}"

    def sign(self, message: bytes) -> bytes:
        return self.custody.sign(self.key_id, message)

    def sign_body(self, body: bytes, typ: str, now: datetime | None = None) -> str:
        moment = now or datetime.now(UTC)
        return jws.sign_detached(
            body, kid=self.kid, typ=typ, signer=self.sign, iat=int(moment.timestamp())
        )


@dataclass(frozen=True, slots=True)
class Signed:
    subscriber_id: str
    key: SigningKey
    issued_at: datetime


def split_kid(kid: str) -> tuple[str, str]:
    subscriber, sep, key_id = kid.rpartition("|")
    if not sep or not subscriber or not key_id:
        raise SignatureInvalid("the kid is not subscriber|key", reason="kid")
    return subscriber, key_id


def verify_body(
    body: bytes,
    token: str | None,
    keys: KeyLookup,
    *,
    now: datetime,
    max_skew: timedelta = timedelta(minutes=5),
) -> Signed:
    """The verified signer of ``body``, or a problem naming the check that failed."""
    if not token:
        raise SignatureInvalid(f"no {HEADER} header", reason="missing")
    try:
        parsed = jws.parse_detached(token, body)
    except jws.BadSignature as exc:
        raise SignatureInvalid(str(exc), reason="malformed") from None
    iat = parsed.header.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise SignatureInvalid("the header has no integer iat", reason="malformed")
    issued = datetime.fromtimestamp(iat, UTC)
    if abs(now - issued) > max_skew:
        raise RequestStale(f"signed at {issued.isoformat()}, now is {now.isoformat()}")
    subscriber, key_id = split_kid(parsed.kid)
    found = keys.lookup_signing_key(subscriber, key_id, issued)
    if not isinstance(found, SigningKey):
        raise SignatureInvalid(found.detail, reason=f"key-{found.reason.value}")
    try:
        jws.check(parsed, found.public_key)
    except jws.BadSignature as exc:
        raise SignatureInvalid(str(exc), reason="signature") from None
    return Signed(subscriber, found, issued)
