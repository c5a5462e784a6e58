"""JWS for consent: compact artefacts signed by the consent manager, detached signatures
over the exact body bytes of requests and notifications (RFC 7515 §7.1 and Appendix F).

Pure: the signer is a callable (a :class:`credentials.keys.KeyCustody` bound to a key id,
so the private key never leaves custody), verification takes the raw public key. Only
Ed25519 is accepted (joserfc's allow-list idiom: nothing negotiated from the header).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALGORITHM = "Ed25519"
Signer = Callable[[bytes], bytes]


class BadSignature(ValueError):
    """The token is malformed, uses another algorithm, or does not verify."""


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise BadSignature("not base64url") from exc


def canonical(payload: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes a payload is signed and hashed as."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _header(kid: str, typ: str, extra: Mapping[str, Any] | None = None) -> str:
    header: dict[str, Any] = {"alg": ALGORITHM, "kid": kid, "typ": typ}
    if extra:
        header.update(extra)
    return b64u(canonical(header))


def sign_compact(payload: Mapping[str, Any], *, kid: str, typ: str, signer: Signer) -> str:
    protected = _header(kid, typ)
    body = b64u(canonical(payload))
    signature = signer(f"{protected}.{body}".encode())
    return f"{protected}.{body}.{b64u(signature)}"


def sign_detached(
    body: bytes, *, kid: str, typ: str, signer: Signer, iat: int | None = None
) -> str:
    """``header..signature``: the payload is the body, sent beside the header."""
    protected = _header(kid, typ, {"iat": iat} if iat is not None else None)
    signature = signer(f"{protected}.{b64u(body)}".encode())
    return f"{protected}..{b64u(signature)}"


@dataclass(frozen=True, slots=True)
class Parsed:
    header: dict[str, Any]
    signing_input: bytes
    signature: bytes
    payload: bytes

    @property
    def kid(self) -> str:
        return str(self.header["kid"])


def _parse_header(protected: str) -> dict[str, Any]:
    try:
        header = json.loads(unb64u(protected))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadSignature("the protected header is not JSON") from exc
    if not isinstance(header, dict):
        raise BadSignature("the protected header is not an object")
    if header.get("alg") != ALGORITHM:
        raise BadSignature(f"only {ALGORITHM} is accepted, not {header.get('alg')!r}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise BadSignature("the header names no key (kid)")
    if "crit" in header:
        raise BadSignature("no critical extensions are understood")
    return header


def parse_compact(token: str) -> Parsed:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        raise BadSignature("not a compact JWS with a payload")
    header = _parse_header(parts[0])
    return Parsed(header, f"{parts[0]}.{parts[1]}".encode(), unb64u(parts[2]), unb64u(parts[1]))


def parse_detached(token: str, body: bytes) -> Parsed:
    parts = token.split(".")
    if len(parts) != 3 or parts[1]:
        raise BadSignature("not a detached JWS (header..signature)")
    header = _parse_header(parts[0])
    return Parsed(header, f"{parts[0]}.{b64u(body)}".encode(), unb64u(parts[2]), body)


def check(parsed: Parsed, public_key: bytes) -> None:
    """Raise :class:`BadSignature` unless ``public_key`` made the signature."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            parsed.signature, parsed.signing_input
        )
    except (InvalidSignature, ValueError) as exc:
        raise BadSignature("the signature does not verify") from exc


def json_payload(parsed: Parsed) -> dict[str, Any]:
    try:
        payload = json.loads(parsed.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadSignature("the payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadSignature("the payload is not an object")
    return payload
