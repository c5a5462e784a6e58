"""Use cases of an issuing and verifying service: issue, change status, publish status
lists and DID documents, deliver to the consumer's wallet, challenge and verify.

Each use case takes the engine (one unit of work each) and the narrow ports it
needs; the HTTP router only translates.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import Engine

from credentials.did import DidDocument, did_document, raw_to_jwk
from credentials.errors import (
    CredentialInvalid,
    CredentialNotFound,
    DeliveryRefused,
    FormatNotAllowed,
    IssuerUnknown,
    StatusChangeRefused,
    StatusListNotFound,
    StatusRegistryFailed,
    UnknownCredentialType,
)
from credentials.keys import KeyAlgorithm, KeyCustody, PublicKeyInfo
from credentials.ports import Unavailable, VerifierPorts
from credentials.proofs import (
    ProofFormat,
    add_proof,
    credential_hash,
    sign_jwt,
    with_suite_context,
)
from credentials.statuslist import PURPOSES, empty, set_bit, status_list_credential
from credentials.store import CredentialStore, IssuedRow, NonceRow, StatusListRow
from credentials.verify import (
    REVOCATION_REGISTRY,
    PresentationVerdict,
    Verdict,
    verify_credential,
    verify_presentation,
)
from kernel.database import from_db, session_scope, to_db
from schemas.credentials import CREDENTIAL_TYPES, VC_V2
from schemas.validation import validate

Status = Literal["active", "suspended", "revoked"]
STATUS_LIST_VALIDITY = timedelta(days=1)
NONCE_LIFETIME = timedelta(minutes=5)
DELIVERY_LIFETIME = timedelta(hours=24)


class RevocationWriter(Protocol):
    """The issuer's ``vc-revocation-registry`` in the directory (``dedi.DediWriter``)."""

    def mark(self, credential_hash: str, purpose: str, reason: str | None) -> None: ...

    def clear(self, credential_hash: str) -> None: ...


@dataclass(frozen=True, slots=True)
class CustodySigner:
    """A :class:`credentials.proofs.Signer` over one key in custody."""

    custody: KeyCustody
    key_id: str
    did: str
    algorithm: KeyAlgorithm

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.key_id}"

    def sign(self, message: bytes) -> bytes:
        return self.custody.sign(self.key_id, message)


@dataclass
class IssuerProfile:
    """One issuer this service signs for: its did:web, its keys in custody, its registry."""

    did: str
    name: str
    custody: KeyCustody
    revocations: RevocationWriter
    directory_url: str  # the directory's public base, for credentialStatus ids
    license_number: str | None = None
    es256_key_id: str = "vc-es256"
    ed25519_key_id: str = "vc-ed25519"
    _signers: dict[KeyAlgorithm, CustodySigner] = field(default_factory=dict, repr=False)

    @property
    def namespace(self) -> str:
        from credentials.verify import namespace_of

        namespace = namespace_of(self.did)
        if namespace is None:
            raise ValueError(f"{self.did} is not a did:web issuer")
        return namespace

    @property
    def host(self) -> str:
        return self.namespace

    def signer(self, algorithm: KeyAlgorithm) -> CustodySigner:
        signer = self._signers.get(algorithm)
        if signer is None:
            key_id = self.es256_key_id if algorithm is KeyAlgorithm.P256 else self.ed25519_key_id
            signer = CustodySigner(self.custody, key_id, self.did, algorithm)
            self._signers[algorithm] = signer
        return signer

    def keys(self) -> list[PublicKeyInfo]:
        return [
            self.custody.public_key(self.es256_key_id),
            self.custody.public_key(self.ed25519_key_id),
        ]

    def did_document(self) -> DidDocument:
        """JsonWebKey2020 (P-256, ES256) and Ed25519VerificationKey2020 methods."""
        return did_document(self.did, self.keys())

    def jwks(self) -> list[tuple[PublicKeyInfo, dict[str, str]]]:
        return [(key, raw_to_jwk(key.algorithm, key.raw)) for key in self.keys()]

    def issuer_object(self) -> dict[str, Any]:
        issuer: dict[str, Any] = {"id": self.did, "name": self.name}
        if self.license_number:
            issuer["licenseNumber"] = self.license_number
        return issuer

    def status_list_url(self, purpose: str) -> str:
        return f"https://{self.host}/credentials/status-lists/{self.namespace}/{purpose}"


def _iso(moment: datetime) -> str:
    # Sub-second precision: the directory's as-of lookups (key registry, trust
    # registry) compare with the instant of their writes.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CredentialService:
    def __init__(
        self,
        engine: Engine,
        issuers: dict[str, IssuerProfile],
        ports: VerifierPorts,
        public_url: str,
    ) -> None:
        self.engine = engine
        self.issuers = issuers
        self.ports = ports
        self.public_url = public_url.rstrip("/")
        self._signed_lists: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ issue

    def issuer(self, did: str) -> IssuerProfile:
        profile = self.issuers.get(did)
        if profile is None:
            raise IssuerUnknown(f"no issuer {did!r} on this service")
        return profile

    def issue(
        self,
        issuer_did: str,
        credential_type: str,
        subject: dict[str, Any],
        *,
        proof_format: ProofFormat = ProofFormat.VC_JWT,
        algorithm: KeyAlgorithm = KeyAlgorithm.P256,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        profile = self.issuer(issuer_did)
        model = CREDENTIAL_TYPES.get(credential_type)
        if model is None:
            raise UnknownCredentialType(
                f"{credential_type!r}; known: {', '.join(CREDENTIAL_TYPES)}"
            )
        if model.ies and proof_format is ProofFormat.JWS_2020:
            raise FormatNotAllowed(f"{credential_type} requires proof.proofValue")
        if proof_format is ProofFormat.ED25519_2020:
            algorithm = KeyAlgorithm.ED25519
        credential: dict[str, Any] = {
            "@context": [VC_V2, model.context_url],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", credential_type],
            "issuer": profile.issuer_object(),
            "validFrom": _iso(valid_from or now),
            "credentialSubject": subject,
        }
        if valid_until is not None:
            credential["validUntil"] = _iso(valid_until)
        if proof_format is not ProofFormat.VC_JWT:
            credential = with_suite_context(credential, proof_format)
        digest = credential_hash(credential)
        namespace = profile.namespace
        dedi = f"{profile.directory_url.rstrip('/')}/dedi/lookup/{namespace}/{REVOCATION_REGISTRY}"
        dedi_entry = {
            "id": f"{dedi}/{digest}",
            "type": "dediregistry",
            "statusPurpose": "revocation",
            "statusListCredential": dedi,
        }
        delivery_token = secrets.token_urlsafe(32)
        with session_scope(self.engine) as session:
            store = CredentialStore(session)
            index: int | None = None
            if model.ies:
                credential["credentialStatus"] = dedi_entry
            else:
                index = self._allocate_index(store, profile, now)
                credential["credentialStatus"] = [dedi_entry] + [
                    {
                        "id": f"{profile.status_list_url(purpose)}#{index}",
                        "type": "BitstringStatusListEntry",
                        "statusPurpose": purpose,
                        "statusListIndex": str(index),
                        "statusListCredential": profile.status_list_url(purpose),
                    }
                    for purpose in PURPOSES
                ]
            errors = validate(model.schema_id, credential)
            if errors:
                raise CredentialInvalid(
                    f"{len(errors)} error(s) against {model.schema_id}",
                    errors=[e.to_dict() for e in errors],
                )
            secured: dict[str, Any] | str
            if proof_format is ProofFormat.VC_JWT:
                secured = sign_jwt(credential, profile.signer(algorithm))
            else:
                secured = add_proof(credential, profile.signer(algorithm), proof_format, now)
            row = IssuedRow(
                id=credential["id"],
                credential_hash=digest,
                issuer=profile.did,
                credential_type=credential_type,
                subject=subject.get("id") if isinstance(subject.get("id"), str) else None,
                proof_format=proof_format.value,
                list_index=index,
                secured=secured if isinstance(secured, str) else _json(secured),
                delivery_id=uuid.uuid4().hex,
                delivery_token_hash=_digest(delivery_token),
                delivery_expires_at=to_db(now + DELIVERY_LIFETIME),
                issued_at=to_db(now),
            )
            store.add(row)
        return {
            "id": credential["id"],
            "type": credential_type,
            "format": proof_format.value,
            "credentialHash": digest,
            "verifiableCredential": secured,
            "delivery": {
                "uri": f"{self.public_url}/credentials/deliveries/{row.delivery_id}",
                "token": delivery_token,
                "expiresAt": _iso(now + DELIVERY_LIFETIME),
            },
        }

    def _allocate_index(self, store: CredentialStore, profile: IssuerProfile, now: datetime) -> int:
        rows = {}
        for purpose in PURPOSES:
            list_id = f"{profile.namespace}/{purpose}"
            row = store.status_list(list_id, lock=True)
            if row is None:
                row = StatusListRow(
                    list_id=list_id,
                    issuer=profile.did,
                    purpose=purpose,
                    bits=empty(),
                    updated_at=to_db(now),
                )
                store.add(row)
            rows[purpose] = row
        # One index per credential across both lists (the revocation list counts).
        counter = rows["revocation"]
        index = counter.next_index
        if index >= len(counter.bits) * 8:
            raise StatusRegistryFailed(f"{profile.did}'s status list is full")
        counter.next_index = index + 1
        return index

    # ------------------------------------------------------------------ status

    def change_status(
        self, credential_id: str, status: Status, reason: str | None, now: datetime | None = None
    ) -> dict[str, Any]:
        """Revoke (for good), suspend, or reinstate a suspended credential: the DeDi
        record first (what every IES verifier reads), then the status list bits."""
        now = now or datetime.now(UTC)
        with session_scope(self.engine) as session:
            store = CredentialStore(session)
            row = store.issued(credential_id)
            if row is None:
                raise CredentialNotFound(f"no credential {credential_id}")
            profile = self.issuer(row.issuer)
            if row.status == "revoked":
                raise StatusChangeRefused(f"{credential_id} is revoked for good")
            if row.status == status:
                return self._status_view(row)
            try:
                if status == "active":
                    profile.revocations.clear(row.credential_hash)
                else:
                    purpose = "revocation" if status == "revoked" else "suspension"
                    profile.revocations.mark(row.credential_hash, purpose, reason)
            except Unavailable as exc:
                raise StatusRegistryFailed(str(exc)) from exc
            if row.list_index is not None:
                for purpose in PURPOSES:
                    lst = store.status_list(f"{profile.namespace}/{purpose}", lock=True)
                    assert lst is not None
                    wanted = (purpose == "revocation" and status == "revoked") or (
                        purpose == "suspension" and status == "suspended"
                    )
                    lst.bits = set_bit(lst.bits, row.list_index, wanted)
                    lst.version += 1
                    lst.updated_at = to_db(now)
                    store.add(lst)
            row.status = status
            row.status_reason = reason
            store.add(row)
            return self._status_view(row)

    @staticmethod
    def _status_view(row: IssuedRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "type": row.credential_type,
            "issuer": row.issuer,
            "status": row.status,
            "reason": row.status_reason,
            "credentialHash": row.credential_hash,
            "format": row.proof_format,
            "issuedAt": _iso(from_db(row.issued_at)),
        }

    def issued(self, credential_id: str, *, holder: str | None = None) -> dict[str, Any]:
        """An issued credential's status; with ``holder``, only if the credential was
        issued to that subject (a holder asking about its own credential), else 404."""
        with session_scope(self.engine) as session:
            row = CredentialStore(session).issued(credential_id)
            if row is None or (holder is not None and row.subject != holder):
                raise CredentialNotFound(f"no credential {credential_id}")
            return self._status_view(row)

    def status_list_jwt(self, namespace: str, purpose: str, now: datetime | None = None) -> str:
        """The signed BitstringStatusListCredential, re-signed only when the list changed."""
        now = now or datetime.now(UTC)
        list_id = f"{namespace}/{purpose}"
        with session_scope(self.engine) as session:
            row = CredentialStore(session).status_list(list_id)
            if row is None:
                raise StatusListNotFound(f"no status list {list_id}")
            version, bits, issuer_did = row.version, row.bits, row.issuer
        cached = self._signed_lists.get(list_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        profile = self.issuer(issuer_did)
        credential = status_list_credential(
            profile.status_list_url(purpose),
            profile.issuer_object(),
            purpose,
            bits,
            now,
            now + STATUS_LIST_VALIDITY,
        )
        token = sign_jwt(credential, profile.signer(KeyAlgorithm.P256))
        with self._lock:
            self._signed_lists[list_id] = (version, token)
        return token

    # ------------------------------------------------------------------ delivery

    def deliver(
        self, delivery_id: str, token: str | None, now: datetime | None = None
    ) -> dict[str, Any] | str:
        """DigiLocker-style pull: the consumer's wallet fetches its credential once, with
        the one-time token handed to the consumer at issuance (never to anyone else)."""
        now = now or datetime.now(UTC)
        with session_scope(self.engine) as session:
            store = CredentialStore(session)
            row = store.by_delivery(delivery_id)
            if (
                row is None
                or token is None
                or not hmac.compare_digest(row.delivery_token_hash, _digest(token))
            ):
                raise DeliveryRefused("unknown delivery or wrong token")
            if row.delivered_at is not None:
                raise DeliveryRefused("this credential was already collected")
            if now >= from_db(row.delivery_expires_at):
                raise DeliveryRefused("the pull token expired")
            row.delivered_at = to_db(now)
            store.add(row)
            secured = row.secured
        if secured.startswith("{"):
            import json

            loaded: dict[str, Any] = json.loads(secured)
            return loaded
        return secured

    # ------------------------------------------------------------------ verify

    def new_challenge(self, domain: str, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        challenge = secrets.token_urlsafe(24)
        with session_scope(self.engine) as session:
            CredentialStore(session).add(
                NonceRow(challenge=challenge, domain=domain, expires_at=to_db(now + NONCE_LIFETIME))
            )
        return {"challenge": challenge, "domain": domain, "expiresAt": _iso(now + NONCE_LIFETIME)}

    def consume(self, challenge: str, domain: str, now: datetime) -> str | None:
        """The :class:`credentials.ports.Nonces` port over the nonce table."""
        with session_scope(self.engine) as session:
            store = CredentialStore(session)
            row = store.nonce(challenge)
            if row is None:
                return "unknown challenge (never issued by this verifier)"
            if row.domain != domain:
                return f"the challenge was issued for {row.domain}, not {domain}"
            if now >= from_db(row.expires_at):
                return "the challenge expired"
            if not store.use_nonce(challenge, now):
                return "the challenge was already used: a replayed presentation"
        return None

    def verify(self, presented: Any, now: datetime | None = None) -> Verdict:
        return verify_credential(presented, self.ports, now)

    def verify_presentation(
        self, presentation: Any, domain: str, now: datetime | None = None
    ) -> PresentationVerdict:
        return verify_presentation(presentation, self.ports, self, domain, now)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
