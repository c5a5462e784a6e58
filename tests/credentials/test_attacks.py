"""Attacks, each refused with its reason: altered claim, wrong issuer key, issuer not
authorised for the type, expired, back-dated, suspended, revoked, replayed
presentation, a presentation for another verifier, unknown context."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from credentials.codecs import b64u
from credentials.keys import KeyAlgorithm, generate, sign_with
from credentials.proofs import ProofFormat, add_proof, read_jwt, sign_jwt
from schemas.credentials import VC_V2

from .conftest import ISSUER, CredStack
from .samples import subjects


def _errors(verdict: dict) -> dict[str, str]:
    return {c["check"]: c["reason"] for c in verdict["checks"] if not c["ok"]}


def _issue(creds: CredStack, kind: str = "ElectricityCredential", **options: object) -> dict:
    issued = creds.issue(kind, subjects(creds.holder.did)[kind], **options)
    assert issued.status_code == 201, issued.text
    return issued.json()


def test_an_altered_claim_fails_the_proof_in_every_format(creds: CredStack) -> None:
    for proof_format in ("vc+jwt", "Ed25519Signature2020"):
        secured = _issue(creds, format=proof_format)["verifiableCredential"]
        if isinstance(secured, str):
            header, _payload, signature = secured.split(".")
            claims = read_jwt(secured).payload
            claims["credentialSubject"]["customerProfile"]["customerNumber"] = "SOMEONE-ELSE"
            tampered: object = ".".join([header, b64u(json.dumps(claims).encode()), signature])
        else:
            tampered = copy.deepcopy(secured)
            tampered["credentialSubject"]["customerProfile"]["customerNumber"] = "SOMEONE-ELSE"  # type: ignore[index]
        errors = _errors(creds.verify(tampered))
        assert set(errors) == {"proof", "status"}, errors  # the hash in the status entry moved too
        assert "does not verify" in errors["proof"]


def test_a_credential_signed_with_a_key_the_issuer_never_declared_is_refused(
    creds: CredStack,
) -> None:
    credential = read_jwt(_issue(creds)["verifiableCredential"]).payload
    rogue = generate(KeyAlgorithm.P256)

    @dataclass
    class Rogue:
        verification_method: str
        algorithm: KeyAlgorithm = KeyAlgorithm.P256

        def sign(self, message: bytes) -> bytes:
            return sign_with(rogue, message)

    # Same kid as the issuer's real key: the signature does not verify with it.
    forged = sign_jwt(credential, Rogue(f"{ISSUER}#vc-es256"))
    assert "does not verify" in _errors(creds.verify(forged))["proof"]
    # A kid of the attacker's choosing: the issuer's DID document does not declare it.
    forged = sign_jwt(credential, Rogue(f"{ISSUER}#attacker"))
    assert "attacker" in _errors(creds.verify(forged))["proof"]
    # Signed by someone else entirely, claiming to be the issuer.
    forged = sign_jwt(credential, Rogue("did:web:attacker.example#k"))
    assert "not a key of the issuer" in _errors(creds.verify(forged))["proof"]


def test_an_issuer_not_authorised_for_the_type_is_refused(creds: CredStack) -> None:
    secured = _issue(creds, "InstallerLicenceCredential")["verifiableCredential"]
    errors = _errors(creds.verify(secured))
    assert errors == {
        "issuer": f"{ISSUER} is not authorised to issue InstallerLicenceCredential (trust registry)"
    }


def test_an_expired_credential_is_refused(creds: CredStack) -> None:
    now = datetime.now(UTC)
    secured = _issue(creds, validUntil=(now + timedelta(days=1)).isoformat())[
        "verifiableCredential"
    ]
    assert creds.service.verify(secured, now=now + timedelta(hours=1)).verified
    verdict = creds.service.verify(secured, now=now + timedelta(days=2))
    assert [(c.name, c.reason.split(" at ")[0]) for c in verdict.failures] == [
        ("validity", "expired")
    ]


def test_a_credential_back_dated_before_the_issuers_key_existed_is_refused(
    creds: CredStack,
) -> None:
    issued = _issue(creds, validFrom=(datetime.now(UTC) - timedelta(days=30)).isoformat())
    errors = _errors(creds.verify(issued["verifiableCredential"]))
    assert "not in discom-a.example's key registry" in errors["proof"]
    assert "not authorised" in errors["issuer"]


@pytest.mark.parametrize("proof_format", ["vc+jwt", "JsonWebSignature2020"])
def test_suspend_then_reinstate_and_revoke_for_good(creds: CredStack, proof_format: str) -> None:
    issued = _issue(creds, "P2PTradingPermissionCredential", format=proof_format)
    secured, credential_id = issued["verifiableCredential"], issued["id"]

    def status(value: str) -> int:
        return creds.http.post(
            "/credentials/status",
            json={"credentialId": credential_id, "status": value, "reason": "audit"},
        ).status_code

    assert status("suspended") == 200
    reason = _errors(creds.verify(secured))["status"]
    assert "suspended in discom-a.example/vc-revocation-registry (audit)" in reason
    assert "suspended (status list" in reason  # the bitstring says so too
    assert status("active") == 200
    assert creds.verify(secured)["verified"]
    assert status("revoked") == 200
    reason = _errors(creds.verify(secured))["status"]
    assert "revoked in discom-a.example" in reason
    assert "revoked (status list" in reason
    assert status("active") == 409  # revoked stays revoked


def test_an_unknown_context_is_an_error_never_a_fetch(creds: CredStack) -> None:
    secured = _issue(creds, format="Ed25519Signature2020")["verifiableCredential"]
    secured["@context"] = [*secured["@context"], "https://attacker.example/context.jsonld"]
    errors = _errors(creds.verify(secured))
    assert "unknown JSON-LD context 'https://attacker.example/context.jsonld'" in errors["jsonld"]
    assert "unknown JSON-LD context" in errors["proof"]


@dataclass
class HolderSigner:
    did: str
    creds: CredStack
    algorithm: KeyAlgorithm = KeyAlgorithm.ED25519

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"

    def sign(self, message: bytes) -> bytes:
        return self.creds.holder.custody.sign(self.creds.holder.key_id, message)


def _present(creds: CredStack, items: list, challenge: str, domain: str) -> dict:
    presentation = {
        "@context": [VC_V2],
        "type": ["VerifiablePresentation"],
        "holder": creds.holder.did,
        "verifiableCredential": items,
    }
    return add_proof(
        presentation,
        HolderSigner(creds.holder.did, creds),
        ProofFormat.ED25519_2020,
        datetime.now(UTC),
        purpose="authentication",
        challenge=challenge,
        domain=domain,
    )


def test_a_presentation_of_several_credentials_verifies_once_and_its_replay_is_refused(
    creds: CredStack,
) -> None:
    jwt = _issue(creds)["verifiableCredential"]
    di = _issue(creds, "ConsentReceiptCredential", format="Ed25519Signature2020")[
        "verifiableCredential"
    ]
    enveloped = {
        "@context": VC_V2,
        "type": "EnvelopedVerifiableCredential",
        "id": f"data:application/vc+jwt,{jwt}",
    }
    challenge = creds.http.post("/presentations/challenges", json={"domain": "bank.example"}).json()
    presentation = _present(creds, [enveloped, di], challenge["challenge"], "bank.example")
    first = creds.http.post(
        "/presentations/verify", json={"presentation": presentation, "domain": "bank.example"}
    )
    assert first.json()["verified"], first.json()["errors"]
    assert len(first.json()["credentials"]) == 2
    replay = creds.http.post(
        "/presentations/verify", json={"presentation": presentation, "domain": "bank.example"}
    )
    assert replay.json()["errors"] == [
        "challenge: the challenge was already used: a replayed presentation"
    ]


def test_a_presentation_made_for_another_verifier_or_another_holder_is_refused(
    creds: CredStack,
) -> None:
    jwt = _issue(creds)["verifiableCredential"]
    enveloped = {
        "@context": VC_V2,
        "type": "EnvelopedVerifiableCredential",
        "id": f"data:application/vc+jwt,{jwt}",
    }
    challenge = creds.http.post(
        "/presentations/challenges", json={"domain": "other.example"}
    ).json()
    presentation = _present(creds, [enveloped], challenge["challenge"], "other.example")
    verdict = creds.http.post(
        "/presentations/verify", json={"presentation": presentation, "domain": "bank.example"}
    ).json()
    assert "domain: made for domain 'other.example', not 'bank.example'" in verdict["errors"]
    assert any(
        e.startswith("challenge: the challenge was issued for other.example")
        for e in verdict["errors"]
    )
    # Someone else's credential in my presentation: the holder binding fails.
    installer = _issue(creds, "AssetCertificationCredential")["verifiableCredential"]
    fresh = creds.http.post("/presentations/challenges", json={"domain": "bank.example"}).json()
    presentation = _present(creds, [installer], fresh["challenge"], "bank.example")
    verdict = creds.http.post(
        "/presentations/verify", json={"presentation": presentation, "domain": "bank.example"}
    ).json()
    assert verdict["errors"] == [
        "credential 0: holder-binding: the subject "
        "did:web:discom-a.example:assets:inverter:INV-0042 "
        f"is not the holder {creds.holder.did}"
    ]


def test_the_wallet_pulls_its_credential_once_with_its_token(creds: CredStack) -> None:
    issued = _issue(creds)
    uri = issued["delivery"]["uri"].removeprefix(creds.url)
    assert creds.http.get(uri).status_code == 403
    assert creds.http.get(uri, headers={"Authorization": "Bearer wrong"}).status_code == 403
    pulled = creds.http.get(uri, headers={"Authorization": f"Bearer {issued['delivery']['token']}"})
    assert pulled.status_code == 200
    assert pulled.headers["content-type"].startswith("application/vc+jwt")
    assert pulled.text == issued["verifiableCredential"]
    again = creds.http.get(uri, headers={"Authorization": f"Bearer {issued['delivery']['token']}"})
    assert again.status_code == 403
    assert "already collected" in again.json()["detail"]
