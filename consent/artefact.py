"""The consent artefact: what the consumer approved, signed by the consent manager.

A compact JWS (``typ: ies-consent-artefact+jwt``, Ed25519, ``kid`` = the consent
manager's ``subscriber|key``) whose payload carries the Account Aggregator fields under
``consent`` and the ISO/IEC TS 27560 consent-record fields under ``record``. The
artefact is immutable: status changes after approval are served live by the consent
manager (and notified), never by re-issuing, so a copy that says ACTIVE proves only
that consent was once given; the data path asks for the status on every fetch.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from consent import jws
from consent.errors import ArtefactInvalid
from consent.models import PURPOSES, Scope
from registry.directory.keys import KeyLookup, SigningKey

TYP = "ies-consent-artefact+jwt"
VERSION = "ies-consent/1.0"
RECORD_SCHEMA = "ISO/IEC TS 27560:2023"

# W3C DPV personal-data categories of our data types (dpv-pd).
PII_CATEGORIES = {
    "interval_consumption": "dpv-pd:EnergyConsumption",
    "net_export": "dpv-pd:EnergyGeneration",
    "billing": "dpv-pd:Billing",
    "events": "dpv-pd:DeviceBased",
}


class Claims(BaseModel):
    """The artefact's consent block as the data path reads it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    version: str
    purpose: str
    data_consumer: str
    data_provider: str
    data_principal: str
    consent_manager: str
    jurisdiction: str
    scope: Scope
    created_at: datetime
    approved_at: datetime


def digest(token: str) -> str:
    """What a MeterDataRequest's ``consumerConsent`` may carry instead of the id."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def payload(
    *,
    consent_id: str,
    consent_manager: str,
    app: str,
    provider: str,
    consumer: str,
    jurisdiction: str,
    purpose: str,
    scope: Scope,
    created_at: datetime,
    approved_at: datetime,
    notice_digest: str,
    notice_languages: list[str],
    policy: list[dict[str, Any]],
) -> dict[str, Any]:
    known = PURPOSES[purpose]
    scope_json = scope.model_dump(mode="json", by_alias=True)
    return {
        "iss": consent_manager,
        "sub": consumer,
        "aud": [app, provider],
        "jti": consent_id,
        "iat": int(approved_at.timestamp()),
        "exp": int(scope.expires_at.timestamp()),
        "consent": {
            "id": consent_id,
            "version": VERSION,
            "status": "ACTIVE",
            "purpose": purpose,
            "data_consumer": app,
            "data_provider": provider,
            "data_principal": consumer,
            "consent_manager": consent_manager,
            "jurisdiction": jurisdiction,
            "scope": scope_json,
            "created_at": created_at.isoformat(),
            "approved_at": approved_at.isoformat(),
        },
        "record": {
            "schema_version": RECORD_SCHEMA,
            "record_id": consent_id,
            "pii_principal_id": consumer,
            "consent_status": "given",
            "controllers": [{"id": app, "role": "data fiduciary"}],
            "processing": [
                {
                    "purpose": {"code": purpose, "category": known.category,
                                "description": known.text["en"]},
                    "pii_categories": [PII_CATEGORIES[t.value] for t in scope.data_types],
                    "pii_source": provider,
                    "processing_operations": ["dpv:Collect", "dpv:Store", "dpv:Use"],
                    "legal_basis": "dpv:Consent (DPDP Act 2023 s.6)",
                    "storage_duration": f"P{scope.data_life_days}D",
                    "recipients": [app],
                }
            ],
            "notice": {"digest": notice_digest, "languages": notice_languages},
            "events": [
                {"type": "requested", "time": created_at.isoformat(), "actor": app},
                {"type": "given", "time": approved_at.isoformat(), "actor": consumer,
                 "method": "explicit, digital, through the consent manager"},
            ],
            "validity": {"from": approved_at.isoformat(), "until": scope.expires_at.isoformat()},
            "withdrawal": "one call to the consent manager; as easy as giving it (DPDP s.6(4))",
            "jurisdiction": "IN",
            "applicable_law": ["Digital Personal Data Protection Act, 2023"],
            "consent_manager": consent_manager,
            "policy": policy,
        },
    }  # fmt: skip


def sign(document: dict[str, Any], *, kid: str, signer: jws.Signer) -> str:
    return jws.sign_compact(document, kid=kid, typ=TYP, signer=signer)


def verify(
    token: str,
    keys: KeyLookup,
    trusted_consent_managers: frozenset[str],
) -> Claims:
    """The claims of a genuine artefact, or :class:`ArtefactInvalid`.

    Genuine means: a well-formed compact JWS of our type, signed with a key the
    directory publishes for a consent manager this provider trusts, whose ``iss``
    is that same consent manager. Any registered participant can sign; only a
    trusted consent manager's signature makes an artefact.
    """
    try:
        parsed = jws.parse_compact(token)
        if parsed.header.get("typ") != TYP:
            raise jws.BadSignature("not a consent artefact")
        subscriber, _, key_id = parsed.kid.rpartition("|")
        if subscriber not in trusted_consent_managers:
            raise jws.BadSignature(f"{subscriber or parsed.kid!r} is not a trusted consent manager")
        document = jws.json_payload(parsed)
        iat = document.get("iat")
        if not isinstance(iat, int):
            raise jws.BadSignature("no iat")
        found = keys.lookup_signing_key(subscriber, key_id, datetime.fromtimestamp(iat, UTC))
        if not isinstance(found, SigningKey):
            raise jws.BadSignature(found.detail)
        jws.check(parsed, found.public_key)
        if document.get("iss") != subscriber:
            raise jws.BadSignature("iss is not the signer")
        claims = Claims.model_validate(document.get("consent"), strict=False)
    except (jws.BadSignature, ValidationError) as exc:
        raise ArtefactInvalid(str(exc).splitlines()[0]) from None
    return claims


class ReceiptIssuer(Protocol):
    """Issues a consent receipt credential (``credentials`` implements it: VC-JWT or Data
    Integrity); it receives the unsigned VC 2.0 document and returns the issued one."""

    def issue(self, credential: dict[str, Any]) -> str: ...


def receipt_credential(token: str, issuer_did: str) -> dict[str, Any]:
    """An unsigned W3C VC 2.0 consent receipt for the consumer, built from the artefact.

    The subject is the data principal; the claims are the artefact's consent and
    ISO/IEC TS 27560 record blocks, plus the artefact's digest so the receipt and the
    artefact prove each other.
    """
    document = jws.json_payload(jws.parse_compact(token))
    consent = document["consent"]
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ConsentReceiptCredential"],
        "issuer": issuer_did,
        "validFrom": consent["approved_at"],
        "validUntil": consent["scope"]["expires_at"],
        "credentialSubject": {
            "id": consent["data_principal"],
            "consent": consent,
            "record": document["record"],
            "artefactDigest": digest(token),
        },
    }
