"""Signed writes: a detached JWS (RFC 7515 Appendix F) over the exact body bytes.

Every write to a namespace carries ``DeDi-Signature: {protected}..{signature}``.
The protected header binds the method and path (``htm``/``htu``, as in RFC 9449),
the time (``iat``) and a unique ``jti``, so a signature cannot be moved to another
record, replayed later, or kept for a rainy day. ``kid`` is ``{namespace}#{key id}``.
Only Ed25519 is accepted (an explicit allow-list, as joserfc does).

Pure: ``sign_write`` and ``verify_write`` take bytes and keys, never a socket.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from registry.directory.errors import WriteSignatureInvalid, WriteSignatureMissing

HEADER = "DeDi-Signature"
ALGORITHMS = frozenset({"Ed25519", "EdDSA"})
MAX_SKEW_SECONDS = 300


class Signer(Protocol):
    """Whoever holds the namespace owner's private key (a key custody, an HSM)."""

    @property
    def kid(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class WriteClaims:
    kid: str
    namespace: str
    key_id: str
    method: str
    path: str
    iat: int
    jti: str


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_write(
    signer: Signer, method: str, path: str, body: bytes, now: datetime, jti: str | None = None
) -> str:
    header = {
        "alg": "Ed25519",
        "kid": signer.kid,
        "htm": method.upper(),
        "htu": path,
        "iat": int(now.timestamp()),
        "jti": jti or uuid.uuid4().hex,
    }
    protected = _b64u(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
    signature = signer.sign(protected.encode() + b"." + _b64u(body).encode())
    return f"{protected}..{_b64u(signature)}"


def read_claims(token: str | None) -> WriteClaims:
    """The header's claims, before any key is known (to find the key to check with)."""
    if not token:
        raise WriteSignatureMissing(f"the {HEADER} header is missing")
    parts = token.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise WriteSignatureInvalid("expected a detached compact JWS: header..signature")
    try:
        header = json.loads(_unb64u(parts[0]))
        kid, alg = str(header["kid"]), str(header["alg"])
        claims = (str(header["htm"]), str(header["htu"]), int(header["iat"]), str(header["jti"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise WriteSignatureInvalid("the JWS header is malformed") from exc
    if alg not in ALGORITHMS:
        raise WriteSignatureInvalid(f"alg {alg!r} is not accepted; use Ed25519")
    if header.get("b64") is False or "crit" in header:
        raise WriteSignatureInvalid("unencoded payloads and critical extensions are not accepted")
    namespace, sep, key_id = kid.partition("#")
    if not sep or not namespace or not key_id or not 8 <= len(claims[3]) <= 64:
        raise WriteSignatureInvalid("kid must be {namespace}#{key id}; jti 8-64 characters")
    return WriteClaims(kid, namespace, key_id, *claims)


def verify_write(
    token: str | None,
    method: str,
    path: str,
    body: bytes,
    owner_key: bytes,
    now: datetime,
) -> WriteClaims:
    """The verified claims, or :class:`WriteSignatureInvalid` naming what failed."""
    claims = read_claims(token)
    assert token is not None
    protected, _, signature = token.split(".")
    if claims.method != method.upper() or claims.path != path:
        raise WriteSignatureInvalid(
            f"the signature covers {claims.method} {claims.path}, not {method.upper()} {path}"
        )
    if abs(now.timestamp() - claims.iat) > MAX_SKEW_SECONDS:
        raise WriteSignatureInvalid(f"iat is more than {MAX_SKEW_SECONDS} s from now")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(owner_key).verify(
            _unb64u(signature), protected.encode() + b"." + _b64u(body).encode()
        )
    except (InvalidSignature, ValueError) as exc:
        raise WriteSignatureInvalid(
            f"the signature does not verify with the owner key of {claims.namespace}"
        ) from exc
    return claims
