"""did:web identifiers and the DID documents the directory serves (pure).

The registry hosts participants' did:web documents; ``credentials`` resolves
them. The two building blocks are independent (DESIGN.md layering), so the
directory writes documents from its own few lines here and the tests prove that
``credentials.did`` reads back exactly what was written.

W3C CCG did:web §3.2: ``did:web:example.com`` -> ``/.well-known/did.json``;
``did:web:example.com:a:b`` -> ``/a/b/did.json``; a port is written ``%3A``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.\-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~\-]+$")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as a varint
X25519_PUB = b"\xec\x01"  # multicodec x25519-pub

DID_CONTEXTS = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "https://w3id.org/security/suites/x25519-2020/v1",
]


class InvalidKey(ValueError):
    """Bytes that are not the public key they claim to be."""


def decode_public_key(text: str, *, agreement: bool = False) -> bytes:
    """Base64 (standard or url-safe) of a raw 32-byte Ed25519 (or X25519) public key."""
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        if agreement:
            x25519.X25519PublicKey.from_public_bytes(raw)
        else:
            ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        kind = "X25519" if agreement else "Ed25519"
        raise InvalidKey(f"not base64 of a raw 32-byte {kind} public key") from exc
    return raw


@dataclass(frozen=True, slots=True)
class WebDid:
    host: str
    segments: tuple[str, ...] = ()

    @property
    def did(self) -> str:
        return "did:web:" + ":".join(
            [self.host.replace(":", "%3A"), *(quote(s, safe="") for s in self.segments)]
        )

    @property
    def path(self) -> str:
        if not self.segments:
            return "/.well-known/did.json"
        return "/" + "/".join(self.segments) + "/did.json"


def parse_web_did(did: str) -> WebDid:
    if not did.startswith("did:web:"):
        raise ValueError(f"{did!r} is not a did:web")
    host_part, *path = did[len("did:web:") :].split(":")
    host = unquote(host_part).lower()
    if not _HOST.match(host):
        raise ValueError(f"{did!r}: {host!r} is not a host")
    segments = tuple(unquote(p) for p in path)
    if any(not _SEGMENT.match(s) or s in {".", "..", ".well-known"} for s in segments):
        raise ValueError(f"{did!r}: malformed path segment")
    return WebDid(host, segments)


def web_did_at(host: str, path: str) -> WebDid:
    """The did:web a request for ``path`` on ``host`` asks for (the served side)."""
    host = host.lower()
    if not _HOST.match(host):
        raise ValueError(f"{host!r} is not a host")
    if path == "/.well-known/did.json":
        return WebDid(host)
    if not path.startswith("/") or not path.endswith("/did.json"):
        raise ValueError(f"{path!r} is not a did.json path")
    segments = tuple(path[1 : -len("/did.json")].split("/"))
    return parse_web_did(WebDid(host, segments).did)


def did_of(subscriber_id: str) -> str:
    """The did:web a Beckn subscriber id stands for (it may already be a DID).

    ``discom-a.example`` -> ``did:web:discom-a.example``;
    ``127.0.0.1:8101/bpp`` -> ``did:web:127.0.0.1%3A8101:bpp``.
    """
    if subscriber_id.startswith("did:"):
        if subscriber_id.startswith("did:web:"):
            return parse_web_did(subscriber_id).did
        return subscriber_id
    host, _, rest = subscriber_id.partition("/")
    segments = tuple(s for s in rest.split("/") if s) if rest else ()
    return parse_web_did(WebDid(host.lower(), segments).did).did


def host_of(subscriber_id: str) -> str:
    return parse_web_did(did_of(subscriber_id)).host


def _b58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58[rem])
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + "".join(reversed(out))


def multibase(prefix: bytes, raw: bytes) -> str:
    return "z" + _b58(prefix + raw)


@dataclass(frozen=True, slots=True)
class DeclaredKey:
    """A key a DID document declares: signing (Ed25519) or key agreement (X25519)."""

    key_id: str
    raw: bytes
    agreement: bool = False


def did_document(did: str, keys: Sequence[DeclaredKey]) -> dict[str, Any]:
    """DID Core §5 document: Ed25519VerificationKey2020 for signing keys (Beckn and
    Data Integrity), X25519KeyAgreementKey2020 for encryption keys. A P-256
    JsonWebKey2020 issuer key is a method of the same list, added by its issuer."""
    methods = []
    signing: list[str] = []
    agreeing: list[str] = []
    for key in keys:
        method_id = f"{did}#{key.key_id}"
        methods.append(
            {
                "id": method_id,
                "type": "X25519KeyAgreementKey2020"
                if key.agreement
                else "Ed25519VerificationKey2020",
                "controller": did,
                "publicKeyMultibase": multibase(
                    X25519_PUB if key.agreement else ED25519_PUB, key.raw
                ),
            }
        )
        (agreeing if key.agreement else signing).append(method_id)
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": methods,
        "authentication": signing,
        "assertionMethod": signing,
        "keyAgreement": agreeing,
    }
