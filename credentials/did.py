"""DIDs: did:web <-> URL mapping, did:key codec, DID documents, and a resolver.

did:web (W3C CCG did:web method, §3.2 "Read"): ``did:web:example.com`` is read
from ``https://example.com/.well-known/did.json``; ``did:web:example.com:user:alice``
from ``https://example.com/user/alice/did.json``; a port is written percent-encoded,
``did:web:localhost%3A8443``. The sandbox never reaches the internet: the resolver
maps each host to a loopback base URL (a DNS of its own) and sends the DID's host in
the ``Host`` header, exactly as a virtual-hosted server would receive it. Redirects
are refused (IES: "a did.json is served with no redirect").

did:key (W3C CCG did:key): ``did:key:z…`` is multibase base58btc of a multicodec
prefix and the raw public key; its document is derived, never fetched.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from credentials.keys import InvalidPublicKey, KeyAlgorithm, PublicKeyInfo, load_public
from kernel.problems import Problem


class DidProblem(Problem):
    """Root of DID failures."""


class InvalidDid(DidProblem):
    slug = "did-invalid"
    title = "The DID is malformed"
    status = 400
    beckn_code = "40010"
    description = "Not a did:web or did:key this resolver understands."


class DidNotFound(DidProblem):
    slug = "did-not-found"
    title = "The DID does not resolve"
    status = 404
    beckn_code = "40410"
    description = "The DID's host has no document for it, or the host is not one we may reach."


class DidResolutionFailed(DidProblem):
    slug = "did-resolution-failed"
    title = "The DID document could not be used"
    status = 502
    beckn_code = "50210"
    description = (
        "The host answered with a redirect, an error, or a document that is not valid or "
        "names another DID."
    )


# ---------------------------------------------------------------------------- did:web

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~\-%]+$")


@dataclass(frozen=True, slots=True)
class WebDidLocation:
    """Where a did:web document lives: the host (with port) and the URL path."""

    host: str  # "example.com" or "127.0.0.1:8443"
    segments: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        if not self.segments:
            return "/.well-known/did.json"
        return "/" + "/".join(quote(s, safe="") for s in self.segments) + "/did.json"

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"

    @property
    def did(self) -> str:
        parts = [self.host.replace(":", "%3A"), *(quote(s, safe="") for s in self.segments)]
        return "did:web:" + ":".join(parts)


def parse_did_web(did: str) -> WebDidLocation:
    if not did.startswith("did:web:"):
        raise InvalidDid(f"{did!r} is not a did:web")
    host_part, *path_parts = did[len("did:web:") :].split(":")
    host = unquote(host_part)
    if not _HOST.match(host) or "%" in host:
        raise InvalidDid(f"{did!r}: {host!r} is not a host name")
    if any(not p or not _SEGMENT.match(p) for p in path_parts):
        raise InvalidDid(f"{did!r}: empty or malformed path segment")
    segments = tuple(unquote(p) for p in path_parts)
    if any(s in {".", "..", ".well-known"} or "/" in s for s in segments):
        raise InvalidDid(f"{did!r}: a path segment may not be '.', '..', '.well-known' or hold /")
    return WebDidLocation(host.lower(), segments)


def did_web_from_url(url: str) -> str:
    """The did:web a document URL belongs to (the inverse of ``parse_did_web(d).url``)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise InvalidDid(f"{url!r} is not an https did.json URL")
    path = parts.path
    if path == "/.well-known/did.json":
        return WebDidLocation(parts.netloc.lower()).did
    if not path.endswith("/did.json"):
        raise InvalidDid(f"{url!r} does not end in /did.json")
    segments = tuple(unquote(s) for s in path[1 : -len("/did.json")].split("/"))
    location = WebDidLocation(parts.netloc.lower(), segments)
    return parse_did_web(location.did).did


def did_web_for(host: str, path: Sequence[str] = ()) -> str:
    """``did_web_for("127.0.0.1:8101")`` -> ``did:web:127.0.0.1%3A8101``."""
    return parse_did_web(WebDidLocation(host.lower(), tuple(path)).did).did


# ---------------------------------------------------------------------------- did:key

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}

# multicodec table: ed25519-pub 0xed, x25519-pub 0xec, p256-pub 0x1200 (as varints)
_MULTICODEC: dict[KeyAlgorithm, bytes] = {
    KeyAlgorithm.ED25519: b"\xed\x01",
    KeyAlgorithm.X25519: b"\xec\x01",
    KeyAlgorithm.P256: b"\x80\x24",
}


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not base58btc")
        number = number * 58 + _B58_INDEX[char]
    pad = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * pad + body


def multibase_key(algorithm: KeyAlgorithm, raw: bytes) -> str:
    """``z`` + base58btc(multicodec || key); P-256 keys are compressed first."""
    if algorithm is KeyAlgorithm.P256:
        raw = _compress_p256(raw)
    return "z" + b58encode(_MULTICODEC[algorithm] + raw)


def parse_multibase_key(text: str) -> tuple[KeyAlgorithm, bytes]:
    if not text.startswith("z"):
        raise InvalidPublicKey("only base58btc multibase ('z…') keys are understood")
    try:
        data = b58decode(text[1:])
    except ValueError as exc:
        raise InvalidPublicKey(str(exc)) from exc
    for algorithm, prefix in _MULTICODEC.items():
        if data.startswith(prefix):
            raw = data[len(prefix) :]
            if algorithm is KeyAlgorithm.P256:
                raw = _uncompress_p256(raw)
            load_public(algorithm, raw)
            return algorithm, raw
    raise InvalidPublicKey("unknown multicodec key type")


def _compress_p256(raw: bytes) -> bytes:
    if len(raw) == 33:
        return raw
    x, y = raw[1:33], raw[33:]
    return bytes([2 + (y[-1] & 1)]) + x


def _uncompress_p256(raw: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidPublicKey(str(exc)) from exc
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def did_key_for(algorithm: KeyAlgorithm, raw: bytes) -> str:
    return "did:key:" + multibase_key(algorithm, raw)


# ---------------------------------------------------------------------------- documents

DID_CONTEXTS = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "https://w3id.org/security/suites/x25519-2020/v1",
    "https://w3id.org/security/suites/jws-2020/v1",
]

_VM_TYPES: dict[KeyAlgorithm, str] = {
    KeyAlgorithm.ED25519: "Ed25519VerificationKey2020",
    KeyAlgorithm.X25519: "X25519KeyAgreementKey2020",
    KeyAlgorithm.P256: "JsonWebKey2020",
}


class VerificationMethod(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    type: str
    controller: str
    public_key_multibase: str | None = Field(default=None, alias="publicKeyMultibase")
    public_key_jwk: dict[str, Any] | None = Field(default=None, alias="publicKeyJwk")


class DidDocument(BaseModel):
    """The parts of a DID document (DID Core §5) that verification needs."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    context: list[str] | str = Field(default_factory=lambda: list(DID_CONTEXTS), alias="@context")
    id: str
    controller: str | None = None
    verification_method: list[VerificationMethod] = Field(
        default_factory=list, alias="verificationMethod"
    )
    authentication: list[str] = Field(default_factory=list)
    assertion_method: list[str] = Field(default_factory=list, alias="assertionMethod")
    key_agreement: list[str] = Field(default_factory=list, alias="keyAgreement")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def public_key(self, method_id: str) -> PublicKeyInfo:
        """The key of one verification method (``did#key`` or just ``key``)."""
        wanted = method_id if "#" in method_id else f"{self.id}#{method_id}"
        for method in self.verification_method:
            if method.id == wanted or (method.id.startswith("#") and self.id + method.id == wanted):
                return method_key(method)
        raise DidNotFound(f"{self.id} declares no verification method {method_id!r}")


def method_key(method: VerificationMethod) -> PublicKeyInfo:
    key_id = method.id.rsplit("#", 1)[-1]
    if method.public_key_multibase is not None:
        algorithm, raw = parse_multibase_key(method.public_key_multibase)
        return PublicKeyInfo(key_id, algorithm, raw)
    if method.public_key_jwk is not None:
        algorithm, raw = jwk_to_raw(method.public_key_jwk)
        return PublicKeyInfo(key_id, algorithm, raw)
    raise InvalidPublicKey(f"{method.id} carries neither publicKeyMultibase nor publicKeyJwk")


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_to_jwk(algorithm: KeyAlgorithm, raw: bytes) -> dict[str, str]:
    if algorithm is KeyAlgorithm.P256:
        return {"kty": "EC", "crv": "P-256", "x": _b64u(raw[1:33]), "y": _b64u(raw[33:])}
    return {"kty": "OKP", "crv": algorithm.value, "x": _b64u(raw)}


def jwk_to_raw(jwk: Mapping[str, Any]) -> tuple[KeyAlgorithm, bytes]:
    try:
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            raw = b"\x04" + _unb64u(str(jwk["x"])) + _unb64u(str(jwk["y"]))
            algorithm = KeyAlgorithm.P256
        elif jwk.get("kty") == "OKP" and jwk.get("crv") in {"Ed25519", "X25519"}:
            algorithm = KeyAlgorithm(str(jwk["crv"]))
            raw = _unb64u(str(jwk["x"]))
        else:
            raise InvalidPublicKey(f"unsupported JWK {jwk.get('kty')}/{jwk.get('crv')}")
    except (KeyError, ValueError) as exc:
        raise InvalidPublicKey(f"malformed JWK: {exc}") from exc
    load_public(algorithm, raw)
    return algorithm, raw


def verification_method(did: str, key: PublicKeyInfo) -> VerificationMethod:
    method: dict[str, Any] = {
        "id": f"{did}#{key.key_id}",
        "type": _VM_TYPES[key.algorithm],
        "controller": did,
    }
    if key.algorithm is KeyAlgorithm.P256:
        method["publicKeyJwk"] = raw_to_jwk(key.algorithm, key.raw)
    else:
        method["publicKeyMultibase"] = multibase_key(key.algorithm, key.raw)
    return VerificationMethod.model_validate(method)


def did_document(did: str, keys: Sequence[PublicKeyInfo]) -> DidDocument:
    """A DID document declaring ``keys``: signing keys for authentication and
    assertion (Beckn signatures, credential proofs), X25519 keys for key agreement."""
    methods = [verification_method(did, key) for key in keys]
    signing = [m.id for m, k in zip(methods, keys, strict=True) if k.algorithm.can_sign]
    agreeing = [m.id for m, k in zip(methods, keys, strict=True) if not k.algorithm.can_sign]
    return DidDocument.model_validate(
        {
            "@context": list(DID_CONTEXTS),
            "id": did,
            "verificationMethod": [m.model_dump(by_alias=True, exclude_none=True) for m in methods],
            "authentication": signing,
            "assertionMethod": signing,
            "keyAgreement": agreeing,
        }
    )


def did_key_document(did: str) -> DidDocument:
    if not did.startswith("did:key:"):
        raise InvalidDid(f"{did!r} is not a did:key")
    fingerprint = did[len("did:key:") :]
    try:
        algorithm, raw = parse_multibase_key(fingerprint)
    except InvalidPublicKey as exc:
        raise InvalidDid(f"{did!r}: {exc}") from exc
    return did_document(did, [PublicKeyInfo(fingerprint, algorithm, raw)])


# ---------------------------------------------------------------------------- resolver


class DidResolver:
    """Resolves did:key locally and did:web against the sandbox's own hosts.

    ``hosts`` maps a DID's host (``discom-a.example`` or ``127.0.0.1:8101``) to the
    base URL that serves it (``http://127.0.0.1:8101``); a host not in the map is
    not resolved, so no lookup ever leaves the machine.
    """

    max_document_bytes: ClassVar[int] = 256 * 1024

    def __init__(self, hosts: Mapping[str, str], client: httpx.Client) -> None:
        self.hosts = {host.lower(): base.rstrip("/") for host, base in hosts.items()}
        self.client = client

    def resolve(self, did: str) -> DidDocument:
        if did.startswith("did:key:"):
            return did_key_document(did)
        location = parse_did_web(did)
        base = self.hosts.get(location.host)
        if base is None:
            raise DidNotFound(f"{location.host} is not a host this sandbox knows")
        try:
            response = self.client.get(
                base + location.path,
                headers={"Host": location.host, "Accept": "application/did+json"},
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise DidResolutionFailed(f"{location.host}: {exc}") from exc
        if response.is_redirect:
            raise DidResolutionFailed(f"{location.url} answered with a redirect; refused")
        if response.status_code == 404:
            raise DidNotFound(f"{location.url} has no DID document")
        if response.status_code != 200:
            raise DidResolutionFailed(f"{location.url} answered {response.status_code}")
        if len(response.content) > self.max_document_bytes:
            raise DidResolutionFailed(f"{location.url}: the document is too large")
        try:
            document = DidDocument.model_validate_json(response.content)
        except ValidationError as exc:
            raise DidResolutionFailed(f"{location.url}: not a DID document") from exc
        if document.id != did:
            # DID Core §7.1: the resolved document's id must be the DID asked for.
            raise DidResolutionFailed(f"{location.url} holds the document of {document.id}")
        return document
