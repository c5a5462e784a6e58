"""Securing credentials: Data Integrity proofs and VC-JOSE (pure; no I/O, no private keys).

Signing goes through a :class:`Signer` (a key custody behind it): nothing here
ever holds a private key.

* Ed25519Signature2020 (W3C CCG suite, the IES examples' proof): the signed data
  is ``SHA-256(canon(proof options)) || SHA-256(canon(document without proof))``,
  canonicalised with URDNA2015; ``proofValue`` is base58btc multibase (``z…``).
* JsonWebSignature2020 (W3C CCG suite): the same data, signed as a detached JWS
  with an unencoded payload (RFC 7797: ``b64: false``, ``crit: ["b64"]``); ES256
  with a P-256 key, EdDSA with an Ed25519 key.
* VC-JOSE (W3C VC-JOSE-COSE §3.1.1): the credential itself is the JWS payload,
  ``typ: vc+jwt`` (``vp+jwt`` for presentations), ``cty: vc``; ES256 by default, or
  Ed25519. Verified through joserfc with an explicit algorithm allow-list.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from credentials.codecs import b58decode, b58encode, raw_to_jwk
from credentials.jsonld import canonical_hash
from credentials.keys import KeyAlgorithm, PublicKeyInfo, verify_with
from schemas.credentials import ED25519_2020, JWS_2020


class ProofFormat(StrEnum):
    """How a credential is secured (the ``format`` the issue API takes)."""

    VC_JWT = "vc+jwt"
    ED25519_2020 = "Ed25519Signature2020"
    JWS_2020 = "JsonWebSignature2020"


SUITE_CONTEXTS = {
    ProofFormat.ED25519_2020: ED25519_2020,
    ProofFormat.JWS_2020: JWS_2020,
}
JOSE_ALGORITHMS = {KeyAlgorithm.P256: "ES256", KeyAlgorithm.ED25519: "Ed25519"}


class ProofInvalid(Exception):
    """The proof is malformed or its signature does not verify; the message says which."""


class Signer(Protocol):
    """Signs with one issuer key kept in custody; the verification method names it."""

    @property
    def verification_method(self) -> str: ...

    @property
    def algorithm(self) -> KeyAlgorithm: ...

    def sign(self, message: bytes) -> bytes: ...


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64u(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ProofInvalid("not base64url") from exc


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ Data Integrity


def _signed_data(document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {"@context": document.get("@context"), **options}
    return canonical_hash(config) + canonical_hash(unsecured)


def with_suite_context(document: Mapping[str, Any], proof_format: ProofFormat) -> dict[str, Any]:
    """The document with its suite's context appended (INTEROP: include it in what we issue)."""
    contexts = list(document.get("@context") or [])
    suite = SUITE_CONTEXTS[proof_format]
    if suite not in contexts:
        contexts.append(suite)
    return {**document, "@context": contexts}


def add_proof(
    document: Mapping[str, Any],
    signer: Signer,
    proof_format: ProofFormat,
    created: datetime,
    *,
    purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """The document secured with a Data Integrity proof of ``proof_format``."""
    secured = with_suite_context(document, proof_format)
    options: dict[str, Any] = {
        "type": proof_format.value,
        "created": _iso(created),
        "verificationMethod": signer.verification_method,
        "proofPurpose": purpose,
    }
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    data = _signed_data(secured, options)
    if proof_format is ProofFormat.ED25519_2020:
        if signer.algorithm is not KeyAlgorithm.ED25519:
            raise ValueError("Ed25519Signature2020 needs an Ed25519 key")
        proof = {**options, "proofValue": "z" + b58encode(signer.sign(data))}
    elif proof_format is ProofFormat.JWS_2020:
        alg = "ES256" if signer.algorithm is KeyAlgorithm.P256 else "EdDSA"
        header = _b64u(_compact_json({"alg": alg, "b64": False, "crit": ["b64"]}))
        signature = signer.sign(header.encode() + b"." + data)
        proof = {**options, "jws": f"{header}..{_b64u(signature)}"}
    else:
        raise ValueError(f"{proof_format} is not a Data Integrity proof")
    return {**secured, "proof": proof}


def data_integrity_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise ProofInvalid("the credential carries no single proof object")
    return proof


def verify_proof(document: Mapping[str, Any], key: PublicKeyInfo) -> dict[str, Any]:
    """Check the Data Integrity proof with ``key``; the proof, or :class:`ProofInvalid`."""
    proof = data_integrity_proof(document)
    kind = proof.get("type")
    options = {k: v for k, v in proof.items() if k not in ("proofValue", "jws")}
    data = _signed_data(document, options)
    if kind == ProofFormat.ED25519_2020.value:
        value = proof.get("proofValue")
        if not isinstance(value, str) or not value.startswith("z"):
            raise ProofInvalid("proofValue must be base58btc multibase ('z…')")
        if key.algorithm is not KeyAlgorithm.ED25519:
            raise ProofInvalid("an Ed25519Signature2020 proof needs an Ed25519 key")
        try:
            signature = b58decode(value[1:])
        except ValueError as exc:
            raise ProofInvalid("proofValue is not base58btc") from exc
        if not verify_with(key.algorithm, key.raw, signature, data):
            raise ProofInvalid("the Ed25519Signature2020 signature does not verify")
    elif kind == ProofFormat.JWS_2020.value:
        token = proof.get("jws")
        if not isinstance(token, str) or token.count(".") != 2 or token.split(".")[1]:
            raise ProofInvalid("jws must be a detached JWS (header..signature)")
        header_b64, _, signature_b64 = token.split(".")
        try:
            header = json.loads(_unb64u(header_b64))
        except ValueError as exc:
            raise ProofInvalid("the JWS header is not JSON") from exc
        expected = {KeyAlgorithm.P256: {"ES256"}, KeyAlgorithm.ED25519: {"EdDSA", "Ed25519"}}
        if header.get("alg") not in expected.get(key.algorithm, set()):
            raise ProofInvalid(f"alg {header.get('alg')!r} does not fit a {key.algorithm} key")
        if header.get("b64") is not False or header.get("crit") != ["b64"]:
            raise ProofInvalid("JsonWebSignature2020 signs an unencoded payload (b64: false)")
        signing_input = header_b64.encode() + b"." + data
        if not verify_with(key.algorithm, key.raw, _unb64u(signature_b64), signing_input):
            raise ProofInvalid("the JsonWebSignature2020 signature does not verify")
    else:
        raise ProofInvalid(f"proof type {kind!r} is not one this verifier accepts")
    return proof


# ------------------------------------------------------------------ VC-JOSE


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sign_jwt(payload: Mapping[str, Any], signer: Signer, typ: str = "vc+jwt") -> str:
    """A compact JWS whose payload is the credential (or presentation) itself."""
    header = {
        "alg": JOSE_ALGORITHMS[signer.algorithm],
        "kid": signer.verification_method,
        "typ": typ,
        "cty": typ.split("+")[0],
    }
    signing_input = _b64u(_compact_json(header)) + "." + _b64u(_compact_json(payload))
    signature = signer.sign(signing_input.encode())
    return f"{signing_input}.{_b64u(signature)}"


@dataclass(frozen=True, slots=True)
class JwtParts:
    header: dict[str, Any]
    payload: dict[str, Any]


def read_jwt(token: str) -> JwtParts:
    """Header and payload before any key is known (to find the key to check with)."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ProofInvalid("not a compact JWS (header.payload.signature)")
    try:
        header = json.loads(_unb64u(parts[0]))
        payload = json.loads(_unb64u(parts[1]))
    except ValueError as exc:
        raise ProofInvalid("the JWS header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ProofInvalid("the JWS header and payload must be JSON objects")
    return JwtParts(header, payload)


@lru_cache(maxsize=1024)
def _jose_key(algorithm: KeyAlgorithm, raw: bytes) -> ECKey | OKPKey:
    # Importing a JWK costs more than the verification; a verifier sees few issuers.
    jwk: dict[str, str | list[str]] = dict(raw_to_jwk(algorithm, raw))
    if algorithm is KeyAlgorithm.P256:
        return ECKey.import_key(jwk)
    return OKPKey.import_key(jwk)


def verify_jwt(token: str, key: PublicKeyInfo, typ: str = "vc+jwt") -> JwtParts:
    """Verify a VC-JOSE token with ``key`` (alg allow-list from the key's type)."""
    algorithm = JOSE_ALGORITHMS.get(key.algorithm)
    if algorithm is None:
        raise ProofInvalid(f"a {key.algorithm} key does not sign")
    try:
        # An Ed25519 key may sign as "Ed25519" (RFC 9864) or the older "EdDSA".
        allowed = [algorithm, "EdDSA"] if algorithm == "Ed25519" else [algorithm]
        verified = jws.deserialize_compact(
            token, _jose_key(key.algorithm, key.raw), algorithms=allowed
        )
    except (JoseError, ValueError) as exc:
        raise ProofInvalid(f"the {typ} signature does not verify: {exc}") from exc
    header = dict(verified.protected)
    if header.get("typ") != typ:
        raise ProofInvalid(f"typ is {header.get('typ')!r}, not {typ!r}")
    try:
        payload = json.loads(verified.payload)
    except ValueError as exc:
        raise ProofInvalid("the payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise ProofInvalid("the payload is not a JSON object")
    return JwtParts(header, payload)


def credential_hash(credential: Mapping[str, Any]) -> str:
    """The name of a credential's record in the issuer's ``vc-revocation-registry``:
    SHA-256 (hex) of its JCS-style canonical JSON without ``proof`` and
    ``credentialStatus`` (which holds this very hash)."""
    core = {k: v for k, v in credential.items() if k not in ("proof", "credentialStatus")}
    canonical = json.dumps(core, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
