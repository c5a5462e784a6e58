"""Every credential the stack issues validates against the matching official IES schema
(read from ../shared) and our own, and expands as JSON-LD against the local contexts
with every term defined."""

from __future__ import annotations

import pytest

from credentials.jsonld import expand, undefined_terms
from credentials.proofs import read_jwt
from schemas.credentials import CREDENTIAL_TYPES
from schemas.validation import validate

from .conftest import AUTHORISED, CredStack
from .samples import OFFICIAL, electricity_subjects, official_errors, subjects

FORMATS = ["vc+jwt", "Ed25519Signature2020", "JsonWebSignature2020"]


def _credential(secured: object) -> dict:
    return read_jwt(secured).payload if isinstance(secured, str) else secured  # type: ignore[return-value]


def test_every_type_in_every_format_is_valid_and_verifies(creds: CredStack) -> None:
    for kind, subject in subjects(creds.holder.did).items():
        model = CREDENTIAL_TYPES[kind]
        for proof_format in FORMATS:
            issued = creds.issue(kind, subject, format=proof_format)
            if model.ies and proof_format == "JsonWebSignature2020":
                # IES schemas require proof.proofValue, which a JWS 2020 proof lacks.
                assert issued.status_code == 422, issued.text
                assert issued.json()["type"] == "/problems/credential-format-not-allowed"
                continue
            assert issued.status_code == 201, (kind, proof_format, issued.text)
            credential = _credential(issued.json()["verifiableCredential"])
            if kind in OFFICIAL:
                assert official_errors(kind, credential) == [], (kind, proof_format)
            assert validate(model.schema_id, credential) == []
            assert undefined_terms(expand(credential)) == [], (kind, proof_format)
            verdict = creds.verify(issued.json()["verifiableCredential"])
            if kind in AUTHORISED:
                assert verdict["verified"], (kind, proof_format, verdict["errors"])
            else:
                assert [e.split(":")[0] for e in verdict["errors"]] == ["issuer"]


@pytest.mark.parametrize("variant", ["single", "submetering", "parallel"])
def test_electricity_credential_variants_match_the_official_schema(
    creds: CredStack, variant: str
) -> None:
    issued = creds.issue(
        "ElectricityCredential", electricity_subjects()[variant], algorithm="Ed25519"
    )
    assert issued.status_code == 201, issued.text
    credential = _credential(issued.json()["verifiableCredential"])
    assert official_errors("ElectricityCredential", credential) == []
    assert creds.verify(issued.json()["verifiableCredential"])["verified"]


def test_our_types_carry_dedi_and_bitstring_status_ies_types_only_dedi(creds: CredStack) -> None:
    ours = subjects(creds.holder.did)
    ies = _credential(
        creds.issue("MeterDataCredential", ours["MeterDataCredential"]).json()[
            "verifiableCredential"
        ]
    )
    assert ies["credentialStatus"]["type"] == "dediregistry"
    own = _credential(
        creds.issue("ConsentReceiptCredential", ours["ConsentReceiptCredential"]).json()[
            "verifiableCredential"
        ]
    )
    assert [(s["type"], s["statusPurpose"]) for s in own["credentialStatus"]] == [
        ("dediregistry", "revocation"),
        ("BitstringStatusListEntry", "revocation"),
        ("BitstringStatusListEntry", "suspension"),
    ]


def test_a_subject_that_fails_its_schema_is_refused_with_every_error(creds: CredStack) -> None:
    subject = subjects(creds.holder.did)["P2PTradingPermissionCredential"]
    broken = {
        **subject,
        "tradingPermission": {**subject["tradingPermission"], "state": "MH", "meterIds": []},
    }
    refused = creds.issue("P2PTradingPermissionCredential", broken)
    assert refused.status_code == 422
    paths = {e["path"] for e in refused.json()["errors"]}
    assert paths == {
        "/credentialSubject/tradingPermission/state",
        "/credentialSubject/tradingPermission/meterIds",
    }
