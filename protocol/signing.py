"""Beckn HTTP signatures, sans-I/O: digests, signing strings, headers, sign and verify.

Beckn v2 ``Signature`` (draft-cavage-http-signatures-12 as profiled by BECKN-006)::

    Signature keyId="{subscriberId}|{uniqueKeyId}|ed25519",algorithm="ed25519",
      created="{unix}",expires="{unix}",headers="(created) (expires) digest",signature="…"

over the signing string ``(created): …\\n(expires): …\\ndigest: BLAKE-512={b64}``, the
digest being BLAKE2b-512 of the *exact* body bytes (never a re-serialisation).

Three signing strings are in use (``headers`` says which one a header covers):

* requests and unsolicited callbacks: ``(created) (expires) digest``;
* ONIX's signed ACK/NACK and solicited ``on_*`` callbacks add
  ``request-signature: {the caller's raw signature value}`` (INTEROP.md);
* the v2.0.0 ``CounterSignature`` in the Ack body adds ``(request-digest)`` and
  ``(message-id)`` (docs/protocol.md explains which bytes its ``digest`` covers).

Nothing here does I/O: keys come through a :class:`Signer` (a key custody signs, the
caller never sees a private key) and a :class:`~registry.directory.keys.KeyLookup`.
The parser is strict and raises :class:`~protocol.errors.SignatureMalformed` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from protocol.errors import (
    DirectoryUnreachable,
    KeyNotValid,
    KeyRevoked,
    KeyUnknown,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SignedHeadersWrong,
)
from registry.directory.keys import KeyLookup, Refusal, RefusalReason, SigningKey

ALGORITHM = "ed25519"
DIGEST_LABEL = "BLAKE-512"  # what ONIX emits and accepts
# The NFH-007 signing draft spells it BLAKE2b-512; accepting it when verifying is harmless.
ACCEPTED_DIGEST_LABELS = (DIGEST_LABEL, "BLAKE2b-512")

REQUEST_HEADERS: tuple[str, ...] = ("(created)", "(expires)", "digest")
RESPONSE_HEADERS: tuple[str, ...] = (*REQUEST_HEADERS, "request-signature")
COUNTER_HEADERS: tuple[str, ...] = (*REQUEST_HEADERS, "(request-digest)", "(message-id)")
_KNOWN_HEADERS = frozenset(RESPONSE_HEADERS + COUNTER_HEADERS)
_PARAMETERS = ("keyId", "algorithm", "created", "expires", "headers", "signature")
MAX_HEADER_LENGTH = 2048

# A parameter: a token name, '=', a quoted value of printable ASCII without '"' or '\'.
_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9-]{0,31})="([\x20\x21\x23-\x5b\x5d-\x7e]*)"')
_UNIX = re.compile(r"[0-9]{1,12}")
_B64_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")
_KEY_PART = re.compile(r"[\x21-\x7b\x7d\x7e]{1,255}")  # printable, no space, no '|'


# ------------------------------------------------------------------ digests


def blake512(body: bytes) -> str:
    """Base64 of the BLAKE2b-512 digest of ``body``."""
    return base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode()


def digest_value(body: bytes, label: str = DIGEST_LABEL) -> str:
    """``BLAKE-512={b64}``: the digest line's value and ``requestDigest.digest``."""
    return f"{label}={blake512(body)}"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) for the JSON an Ack holds: objects, arrays, strings, integers,
    booleans and null; keys sorted, no insignificant whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


# ------------------------------------------------------------------ the header


@dataclass(frozen=True, slots=True)
class SignatureParams:
    """A parsed signature header: who signed, when, over which lines, and the value."""

    subscriber_id: str
    key_id: str
    created: int
    expires: int
    headers: tuple[str, ...]
    signature: str  # base64, exactly as sent (the next hop's request-signature)

    @property
    def key_ref(self) -> str:
        return f"{self.subscriber_id}|{self.key_id}|{ALGORITHM}"

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created, UTC)


def format_signature(params: SignatureParams) -> str:
    """The header value, parameters in the order the v2.0.0 ``Signature`` pattern has."""
    return (
        f'Signature keyId="{params.key_ref}",algorithm="{ALGORITHM}",'
        f'created="{params.created}",expires="{params.expires}",'
        f'headers="{" ".join(params.headers)}",signature="{params.signature}"'
    )


def parse_signature(text: object) -> SignatureParams:
    """The parameters of a ``Signature …`` header; :class:`SignatureMalformed` otherwise.

    Strict on purpose: every parameter exactly once, none unknown (a
    ``request-signature`` sent as a parameter instead of a signing-string line is a
    known field bug and is refused here), keyId ``subscriber|key|ed25519``, only ed25519,
    unix times as digits, a 64-byte signature in standard base64.
    """
    if not isinstance(text, str):
        raise SignatureMalformed("the signature header is not text")
    if len(text) > MAX_HEADER_LENGTH:
        raise SignatureMalformed(f"the signature header is longer than {MAX_HEADER_LENGTH}")
    if not text.startswith("Signature "):
        raise SignatureMalformed('the header must start with "Signature "')
    rest = text[len("Signature ") :]
    values: dict[str, str] = {}
    position = 0
    while True:
        match = _PARAM.match(rest, position)
        if match is None:
            raise SignatureMalformed(f'expected name="value" at character {position}')
        name, value = match.groups()
        if name not in _PARAMETERS:
            raise SignatureMalformed(f"unknown signature parameter {name!r}")
        if name in values:
            raise SignatureMalformed(f"signature parameter {name!r} is repeated")
        values[name] = value
        position = match.end()
        if position == len(rest):
            break
        if rest[position] != ",":
            raise SignatureMalformed(f"expected ',' at character {position}")
        position += 1
        if position < len(rest) and rest[position] == " ":
            position += 1
    missing = [name for name in _PARAMETERS if name not in values]
    if missing:
        raise SignatureMalformed(f"signature parameter(s) missing: {', '.join(missing)}")
    parts = values["keyId"].split("|")
    if len(parts) != 3 or not all(_KEY_PART.fullmatch(part) for part in parts):
        raise SignatureMalformed('keyId must be "{subscriberId}|{uniqueKeyId}|ed25519"')
    if parts[2] != ALGORITHM or values["algorithm"] != ALGORITHM:
        raise SignatureMalformed("only ed25519 is accepted")
    if not _UNIX.fullmatch(values["created"]) or not _UNIX.fullmatch(values["expires"]):
        raise SignatureMalformed("created and expires must be unix times in digits")
    headers = tuple(values["headers"].split(" "))
    if not all(h in _KNOWN_HEADERS for h in headers) or len(set(headers)) != len(headers):
        raise SignatureMalformed(f"headers {values['headers']!r} names unknown or repeated lines")
    if not _B64_SIGNATURE.fullmatch(values["signature"]):
        raise SignatureMalformed("signature must be 64 bytes in standard base64")
    return SignatureParams(
        subscriber_id=parts[0],
        key_id=parts[1],
        created=int(values["created"]),
        expires=int(values["expires"]),
        headers=headers,
        signature=values["signature"],
    )


# ------------------------------------------------------------------ signing string


@dataclass(frozen=True, slots=True)
class Binding:
    """What a signature binds besides the times and the body's digest."""

    request_signature: str | None = None  # ONIX ACK / solicited callback
    request_digest: str | None = None  # CounterSignature: BLAKE-512 of the request body
    message_id: str | None = None  # CounterSignature


def signing_string(
    headers: tuple[str, ...], created: int, expires: int, digest: str, binding: Binding = Binding()
) -> bytes:
    """The lines ``headers`` names, in that order, joined by ``\\n`` (no trailing newline)."""
    lines: list[str] = []
    for header in headers:
        if header == "(created)":
            lines.append(f"(created): {created}")
        elif header == "(expires)":
            lines.append(f"(expires): {expires}")
        elif header == "digest":
            lines.append(f"digest: {digest}")
        elif header == "request-signature" and binding.request_signature is not None:
            lines.append(f"request-signature: {binding.request_signature}")
        elif header == "(request-digest)" and binding.request_digest is not None:
            lines.append(f"(request-digest): {binding.request_digest}")
        elif header == "(message-id)" and binding.message_id is not None:
            lines.append(f"(message-id): {binding.message_id}")
        else:
            raise ValueError(f"no value to sign for {header!r}")
    return "\n".join(lines).encode()


def headers_for(binding: Binding) -> tuple[str, ...]:
    if binding.request_digest is not None or binding.message_id is not None:
        return COUNTER_HEADERS
    if binding.request_signature is not None:
        return RESPONSE_HEADERS
    return REQUEST_HEADERS


# ------------------------------------------------------------------ sign


class Signer(Protocol):
    """Whoever holds a subscriber's Ed25519 key; callers never see the private key."""

    @property
    def subscriber_id(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class Custody(Protocol):
    def sign(self, key_id: str, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class CustodySigner:
    """A :class:`Signer` over a key custody (``credentials.keys.KeyCustody``, an HSM)."""

    custody: Custody
    subscriber_id: str
    key_id: str

    def sign(self, message: bytes) -> bytes:
        return self.custody.sign(self.key_id, message)


def sign(
    body: bytes,
    signer: Signer,
    created: int,
    expires: int,
    binding: Binding = Binding(),
    *,
    digest: str | None = None,
) -> str:
    """The ``Signature …`` header value for ``body`` (``digest`` if already computed)."""
    headers = headers_for(binding)
    value = digest if digest is not None else digest_value(body)
    raw = signer.sign(signing_string(headers, created, expires, value, binding))
    params = SignatureParams(
        signer.subscriber_id,
        signer.key_id,
        created,
        expires,
        headers,
        base64.b64encode(raw).decode(),
    )
    return format_signature(params)


# ------------------------------------------------------------------ verify


@dataclass(frozen=True, slots=True)
class Verdict:
    """A signature that verified: what it said and the directory key that checked it."""

    params: SignatureParams
    key: SigningKey


@lru_cache(maxsize=8192)
def _public_key(raw: bytes) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


_REFUSALS = {
    RefusalReason.UNKNOWN: KeyUnknown,
    RefusalReason.REVOKED: KeyRevoked,
    RefusalReason.UNSUBSCRIBED: KeyRevoked,
    RefusalReason.EXPIRED: KeyNotValid,
    RefusalReason.NOT_YET_VALID: KeyNotValid,
    RefusalReason.UNREACHABLE: DirectoryUnreachable,
}


def verify(
    header: str | None,
    body: bytes,
    lookup: KeyLookup,
    *,
    expect: tuple[str, ...] = REQUEST_HEADERS,
    binding: Binding = Binding(),
    digest: str | None = None,
) -> Verdict:
    """Check ``header`` over ``body``; the :class:`Verdict`, or the precise refusal.

    ``expect`` is the signing string this kind of message must use: a callback that
    answers one of our requests must bind our request's signature, so a callback
    signed with the three-line string is refused (a known field bug).
    """
    if not header:
        raise SignatureMissing("the Authorization header is missing")
    params = parse_signature(header)
    if params.headers != expect:
        raise SignedHeadersWrong(
            f'headers="{" ".join(params.headers)}"; this message must sign "{" ".join(expect)}"'
        )
    found = lookup.lookup_signing_key(params.subscriber_id, params.key_id, params.created_at)
    if isinstance(found, Refusal):
        raise _REFUSALS[found.reason](found.detail, key_id=params.key_ref)
    raw = base64.b64decode(params.signature)
    public = _public_key(found.public_key)
    digest_b64 = digest.partition("=")[2] if digest is not None else blake512(body)
    for label in ACCEPTED_DIGEST_LABELS:
        message = signing_string(
            params.headers, params.created, params.expires, f"{label}={digest_b64}", binding
        )
        try:
            public.verify(raw, message)
        except InvalidSignature:
            continue
        return Verdict(params, found)
    raise SignatureInvalid(
        f"the signature of {params.key_ref} does not verify over this body",
        key_id=params.key_ref,
    )


def decode_signature(value: str) -> bytes:
    """The raw 64 bytes of a base64 signature value (for tests and logs)."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMalformed("not base64") from exc
