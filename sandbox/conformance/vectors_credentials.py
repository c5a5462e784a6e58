"""Published credential vectors: VC-JOSE and Data Integrity credentials with fixed keys.

Each vector is one JSON file that holds everything a verifier needs, so none reaches a
network: the presented credential (a compact ``vc+jwt`` or a Data Integrity object),
the issuer's DID document (``didDocuments``, keyed by DID), the signed Bitstring
Status List credentials its ``credentialStatus`` names (``statusLists``, keyed by
URL), the trust-registry entries (``trustRegistry``), the test keys (public and, being
test keys, private), the instant to verify at, and the expected verdict with the
verifier check that refuses it (``reason``: ``format``, ``proof``, ``validity`` or
``status``, the check names of ``credentials.verify``).

Keys are derived deterministically (Ed25519 seed, or P-256 scalar, from SHA-256 of
``ies-conformance-vectors/{label}``) and ES256 signs with RFC 6979 deterministic
nonces, so an export is byte-identical every time.

:func:`check_credential_vector` runs the stack's real verifier
(``credentials.verify.verify_credential``) with its real did:web resolver, issuer-key
port and status-list port (``DidResolver``, ``DidIssuerKeys``, ``HttpStatusLists``)
over an in-memory transport that serves the vector's shipped documents, and an
in-memory trust registry read from the vector.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from credentials.dedi import HttpStatusLists
from credentials.did import DidResolver, did_document, parse_did_web, raw_to_jwk
from credentials.keys import KeyAlgorithm, PublicKeyInfo, raw_public
from credentials.ports import Authorisation, StatusRecord, Unavailable, VerifierPorts
from credentials.proofs import ProofFormat, add_proof, sign_jwt
from credentials.resolution import DidIssuerKeys
from credentials.statuslist import empty, set_bit, status_list_credential
from credentials.verify import Verdict, parse_instant, verify_credential
from schemas.credentials import VC_V2, InstallerLicenceCredential

HOST = "issuer.vectors.ies.example"
ISSUER_DID = f"did:web:{HOST}"
ISSUER = {"id": ISSUER_DID, "name": "Vectors Electrical Inspectorate"}
CREDENTIAL_TYPE = InstallerLicenceCredential.credential_type
LIST_URL = f"https://{HOST}/credentials/status-lists/{HOST}/revocation"
REVOKED_INDEX = 42
ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
VERIFY_AT = "2026-06-01T00:00:00Z"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"ies-conformance-vectors/{label}".encode()).digest()


@dataclass(frozen=True)
class CredentialKey:
    """A test signing key of the issuer (or a rogue one), fixed by its label."""

    label: str
    key_id: str
    algorithm: KeyAlgorithm

    def _private(self) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
        seed = _seed(self.label)
        if self.algorithm is KeyAlgorithm.ED25519:
            return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        scalar = int.from_bytes(seed) % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())

    @property
    def verification_method(self) -> str:
        return f"{ISSUER_DID}#{self.key_id}"

    def sign(self, message: bytes) -> bytes:
        key = self._private()
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(message)
        # RFC 6979: the same message always signs to the same bytes (re-export is identical).
        der = key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    @property
    def public(self) -> PublicKeyInfo:
        return PublicKeyInfo(self.key_id, self.algorithm, raw_public(self._private()))

    def to_json(self, declared: bool) -> dict[str, Any]:
        key = self._private()
        if isinstance(key, ed25519.Ed25519PrivateKey):
            private = key.private_bytes(serialization.Encoding.Raw,
                                        serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption()).hex()  # fmt: skip
        else:
            private = f"{key.private_numbers().private_value:064x}"
        return {"label": self.label, "verificationMethod": self.verification_method,
                "algorithm": self.algorithm.value,
                "publicKeyJwk": raw_to_jwk(self.algorithm, self.public.raw),
                "privateKeyHex": private, "inIssuerDidDocument": declared}  # fmt: skip


ES256_KEY = CredentialKey("issuer-es256", "es256-1", KeyAlgorithm.P256)
ED25519_KEY = CredentialKey("issuer-ed25519", "ed25519-1", KeyAlgorithm.ED25519)
ROGUE_ES256 = CredentialKey("rogue-es256", "es256-1", KeyAlgorithm.P256)  # claims es256-1
ROGUE_ED25519 = CredentialKey("rogue-ed25519", "rogue-1", KeyAlgorithm.ED25519)  # undeclared
DECLARED = (ES256_KEY, ED25519_KEY)


def issuer_did_document() -> dict[str, Any]:
    return did_document(ISSUER_DID, [k.public for k in DECLARED]).to_json()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _status_list_token() -> str:
    bits = set_bit(empty(), REVOKED_INDEX, True)
    listed = status_list_credential(LIST_URL, ISSUER, "revocation", bits, ISSUED,
                                    datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip
    return sign_jwt(listed, ES256_KEY)


def _credential(number: int, *, valid_from: str = "2026-01-01T00:00:00Z",
                valid_until: str = "2027-01-01T00:00:00Z",
                index: int = 7) -> dict[str, Any]:  # fmt: skip
    return {
        "@context": [VC_V2, InstallerLicenceCredential.context_url],
        "id": f"urn:uuid:6f1c2c3e-0000-4000-8000-{number:012d}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": ISSUER,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": {
            "id": "did:web:installer.vectors.ies.example",
            "installerLicence": {
                "licenceNumber": "MH-EI-2026-0099",
                "holderName": "Surya Installers Pvt Ltd",
                "licenceClass": "Electrical contractor class A",
                "assetTypes": ["SOLAR_PV", "INVERTER"],
                "states": ["IN-MH"],
                "issuingAuthority": "Electrical Inspectorate, Maharashtra",
            },
        },
        "credentialStatus": [{
            "id": f"{LIST_URL}#{index}", "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation", "statusListIndex": str(index),
            "statusListCredential": LIST_URL,
        }],
    }  # fmt: skip


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _alter_subject(document: dict[str, Any]) -> dict[str, Any]:
    altered: dict[str, Any] = json.loads(json.dumps(document))
    altered["credentialSubject"]["installerLicence"]["states"] = ["IN-MH", "IN-GJ"]
    return altered


def _jwt_with_payload(token: str, payload: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64u(_compact(payload))}.{signature}"


def _di(document: dict[str, Any], key: CredentialKey) -> dict[str, Any]:
    return add_proof(document, key, ProofFormat.ED25519_2020, ISSUED)


def _vector(vector_id: str, description: str, presented: Any, reason: str | None,
            detail: str | None = None) -> dict[str, Any]:  # fmt: skip
    if isinstance(presented, str):
        header = json.loads(base64.urlsafe_b64decode(presented.split(".")[0] + "=="))
        form = f"vc+jwt ({header.get('alg')})"
    else:
        form = f"Data Integrity ({presented.get('proof', {}).get('type')})"
    rogue = (ROGUE_ES256, ROGUE_ED25519)
    return {
        "id": vector_id,
        "description": description,
        "kind": "credential",
        "format": form,
        "credential": presented,
        "verifyAt": VERIFY_AT,
        "didDocuments": {ISSUER_DID: issuer_did_document()},
        "statusLists": {LIST_URL: _status_list_token()},
        "trustRegistry": [
            {
                "issuer": ISSUER_DID,
                "credentialType": CREDENTIAL_TYPE,
                "validFrom": "2025-01-01T00:00:00Z",
            }
        ],
        "keys": [k.to_json(True) for k in DECLARED] + [k.to_json(False) for k in rogue],
        "expected": {
            "verdict": "valid" if reason is None else "invalid",
            "reason": reason,
            "detail": detail,
        },
    }


def build_credential_vectors() -> list[dict[str, Any]]:
    """The published credential vectors: three valid, and one per kind of refusal."""
    es256 = sign_jwt(_credential(1), ES256_KEY)
    di = _di(_credential(3), ED25519_KEY)
    none_header = {"alg": "none", "kid": ES256_KEY.verification_method, "typ": "vc+jwt",
                   "cty": "vc"}  # fmt: skip
    unsecured = f"{_b64u(_compact(none_header))}.{_b64u(_compact(_credential(9)))}."
    unknown_type = json.loads(json.dumps(_di(_credential(10), ED25519_KEY)))
    unknown_type["proof"]["type"] = "RsaSignature2018"
    return [
        _vector("credential-jwt-es256-valid", "VC-JOSE, ES256 with the issuer's P-256 key",
                es256, None),
        _vector("credential-jwt-ed25519-valid",
                "VC-JOSE, Ed25519 (alg Ed25519, RFC 9864) with the issuer's Ed25519 key",
                sign_jwt(_credential(2), ED25519_KEY), None),
        _vector("credential-di-ed25519-valid",
                "Data Integrity Ed25519Signature2020 (URDNA2015) with the issuer's Ed25519 key",
                di, None),
        _vector("credential-jwt-subject-altered",
                "the credentialSubject changed after signing (payload re-encoded, same signature)",
                _jwt_with_payload(es256, _alter_subject(_credential(1))), "proof",
                "signature does not verify"),
        _vector("credential-di-subject-altered",
                "the credentialSubject changed after the Data Integrity proof was made",
                _alter_subject(di), "proof", "signature does not verify"),
        _vector("credential-jwt-wrong-key",
                "kid names the issuer's es256-1, but another P-256 key signed",
                sign_jwt(_credential(4), ROGUE_ES256), "proof", "signature does not verify"),
        _vector("credential-di-undeclared-key",
                "signed by a key the issuer's DID document does not declare (#rogue-1)",
                _di(_credential(5), ROGUE_ED25519), "proof", "does not declare rogue-1"),
        _vector("credential-jwt-expired", "validUntil is before the verification instant",
                sign_jwt(_credential(6, valid_until="2026-03-01T00:00:00Z"), ES256_KEY),
                "validity", "expired at 2026-03-01T00:00:00Z"),
        _vector("credential-jwt-not-yet-valid", "validFrom is after the verification instant",
                sign_jwt(_credential(7, valid_from="2026-09-01T00:00:00Z"), ES256_KEY),
                "validity", "not valid before 2026-09-01T00:00:00Z"),
        _vector("credential-jwt-revoked",
                f"its revocation status list entry (index {REVOKED_INDEX}) is set",
                sign_jwt(_credential(8, index=REVOKED_INDEX), ES256_KEY), "status",
                f"revoked (status list {LIST_URL}, index {REVOKED_INDEX})"),
        _vector("credential-jwt-alg-none", "an unsecured JWS: alg none, empty signature",
                unsecured, "format", "not a compact JWS"),
        _vector("credential-di-unknown-proof-type", "proof type RsaSignature2018",
                unknown_type, "format", "'RsaSignature2018' is not accepted"),
    ]  # fmt: skip


# ------------------------------------------------------------------ checking a vector


class _ShippedTrust:
    """The trust registry as the vector ships it."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries

    def authorisation(self, issuer: str, credential_type: str,
                      at: datetime) -> Authorisation | None:  # fmt: skip
        for entry in self.entries:
            since = parse_instant(entry.get("validFrom"))
            until = parse_instant(entry.get("validUntil"))
            if (entry.get("issuer"), entry.get("credentialType")) != (issuer, credential_type):
                continue
            if (since is None or since <= at) and (until is None or at < until):
                return Authorisation(issuer, credential_type, "vector trustRegistry",
                                     since, until)  # fmt: skip
        return None


class _NoDediRegistry:
    """The vectors ship no DeDi revocation registry: an entry naming one cannot pass."""

    def status_record(self, namespace: str, credential_hash: str) -> StatusRecord | None:
        raise Unavailable("the vector ships no DeDi revocation registry")


def _shipped_transport(vector: dict[str, Any]) -> httpx.MockTransport:
    """Serves the vector's DID documents and status lists at the URLs they belong to."""
    served: dict[tuple[str, str], tuple[str, bytes]] = {}
    for did, document in vector.get("didDocuments", {}).items():
        location = parse_did_web(did)
        served[(location.host, location.path)] = ("application/did+json", _compact(document))
    for url, token in vector.get("statusLists", {}).items():
        parts = urlsplit(url)
        served[(parts.netloc.lower(), parts.path)] = ("application/vc+jwt", token.encode())

    def handle(request: httpx.Request) -> httpx.Response:
        found = served.get((request.headers.get("host", "").lower(), request.url.path))
        if found is None:
            return httpx.Response(404)
        return httpx.Response(200, content=found[1], headers={"content-type": found[0]})

    return httpx.MockTransport(handle)


def _hosts(vector: dict[str, Any]) -> dict[str, str]:
    hosts = {parse_did_web(did).host for did in vector.get("didDocuments", {})}
    hosts |= {urlsplit(url).netloc.lower() for url in vector.get("statusLists", {})}
    return dict.fromkeys(hosts, "http://vector.invalid")


def verify_credential_vector(vector: dict[str, Any]) -> Verdict:
    """The stack's verifier over the vector, its world being what the vector ships."""
    at = parse_instant(vector["verifyAt"])
    if at is None:
        raise ValueError("verifyAt must be a date-time with offset")
    hosts = _hosts(vector)
    with httpx.Client(transport=_shipped_transport(vector)) as client:
        keys = DidIssuerKeys(DidResolver(hosts, client), None, ttl=0.0)
        lists = HttpStatusLists(hosts, client, keys, ttl=0.0, clock=lambda: at)
        ports = VerifierPorts(keys, _ShippedTrust(vector.get("trustRegistry", [])),
                              _NoDediRegistry(), lists)  # fmt: skip
        return verify_credential(vector["credential"], ports, at)


def check_credential_vector(vector: dict[str, Any]) -> tuple[str, str | None]:
    """("valid", None), or ("invalid", the first failing check's name)."""
    verdict = verify_credential_vector(vector)
    if verdict.verified:
        return "valid", None
    return "invalid", verdict.failures[0].name if verdict.failures else "format"
