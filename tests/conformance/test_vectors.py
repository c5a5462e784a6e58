"""The published vectors: ours pass every valid one and refuse each invalid one for
the stated reason; the export is deterministic; a vector's expectation is not vacuous."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sandbox.conformance.vectors import all_vectors, build_vectors, check_vector, write_vectors
from sandbox.conformance.vectors_credentials import verify_credential_vector

VECTORS = build_vectors()
CREDENTIALS = [v for v in all_vectors() if v["kind"] == "credential"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_our_verdict_is_the_published_one(vector: dict) -> None:
    verdict, reason = check_vector(vector)
    assert (verdict, reason) == (vector["expected"]["verdict"], vector["expected"]["reason"])


def test_every_kind_of_vector_and_of_refusal_is_published() -> None:
    kinds = {v["kind"] for v in VECTORS}
    assert kinds == {"request", "callback", "ack"}
    reasons = {v["expected"]["reason"] for v in VECTORS if v["expected"]["verdict"] == "invalid"}
    assert len(reasons) >= 10
    assert sum(v["expected"]["verdict"] == "valid" for v in VECTORS) >= 4


def test_export_is_byte_identical_and_self_contained(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in write_vectors(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_vectors(tmp_path / "b")}
    assert first == second
    assert {f"{v['id']}.json" for v in CREDENTIALS} < set(first)
    for raw in first.values():
        vector = json.loads(raw)
        if vector["kind"] == "credential":
            assert vector["credential"]
            assert vector["didDocuments"]
            assert vector["statusLists"]
            assert "privateKeyHex" in vector["keys"][0]
        else:
            assert vector["body"]
            assert "privateKeySeedHex" in vector["keys"][0]
        assert check_vector(vector)[0] == vector["expected"]["verdict"]


def test_a_valid_vector_with_a_foreign_public_key_is_refused() -> None:
    vector = copy.deepcopy(next(v for v in VECTORS if v["id"] == "request-valid"))
    vector["keys"][0]["publicKey"] = vector["keys"][1]["publicKey"]
    assert check_vector(vector) == ("invalid", "beckn-signature-invalid")


def test_the_signing_string_published_is_the_one_signed() -> None:
    import base64

    from cryptography.hazmat.primitives.asymmetric import ed25519

    vector = next(v for v in VECTORS if v["id"] == "request-valid")
    raw = base64.b64decode(vector["keys"][0]["publicKey"])
    key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    signature = vector["headers"]["Authorization"].rsplit('signature="', 1)[1].rstrip('"')
    key.verify(base64.b64decode(signature), vector["signingString"].encode())


# ------------------------------------------------------------------ credential vectors


@pytest.mark.parametrize("vector", CREDENTIALS, ids=[v["id"] for v in CREDENTIALS])
def test_our_credential_verifier_gives_the_published_verdict(vector: dict) -> None:
    """Valid: every check passes. Invalid: exactly the stated check fails, for the
    stated detail; every other check passes, so the vector tests one thing."""
    verdict = verify_credential_vector(vector)
    expected = vector["expected"]
    if expected["verdict"] == "valid":
        assert verdict.verified, verdict.to_dict()["errors"]
        return
    assert [c.name for c in verdict.failures] == [expected["reason"]], verdict.to_dict()
    assert expected["detail"] in verdict.failures[0].reason
    assert check_vector(vector) == ("invalid", expected["reason"])


def test_every_kind_of_credential_refusal_is_published() -> None:
    valid = [v["format"] for v in CREDENTIALS if v["expected"]["verdict"] == "valid"]
    assert set(valid) == {"vc+jwt (ES256)", "vc+jwt (Ed25519)",
                          "Data Integrity (Ed25519Signature2020)"}  # fmt: skip
    reasons = {v["expected"]["reason"] for v in CREDENTIALS}
    assert reasons == {None, "proof", "validity", "status", "format"}


def _credential_vector(vector_id: str) -> dict:
    return copy.deepcopy(next(v for v in CREDENTIALS if v["id"] == vector_id))


def test_a_valid_credential_under_another_did_document_is_refused() -> None:
    """The shipped DID document is what the verifier reads: swap the declared keys'
    material for the rogue key's, and the valid vector no longer verifies."""
    vector = _credential_vector("credential-jwt-es256-valid")
    document = vector["didDocuments"]["did:web:issuer.vectors.ies.example"]
    rogue = next(k for k in vector["keys"] if k["label"] == "rogue-es256")
    declared = next(m for m in document["verificationMethod"] if m["id"].endswith("#es256-1"))
    declared["publicKeyJwk"] = rogue["publicKeyJwk"]
    assert check_vector(vector) == ("invalid", "proof")


def test_the_shipped_status_list_is_what_decides_revocation() -> None:
    """The revoked vector verifies once its status list is replaced by one with the bit
    clear (signed with the issuer's published test key): the list is read, not assumed."""
    from datetime import UTC, datetime

    from credentials.proofs import sign_jwt
    from credentials.statuslist import empty, status_list_credential
    from sandbox.conformance import vectors_credentials as vc

    vector = _credential_vector("credential-jwt-revoked")
    clear = status_list_credential(vc.LIST_URL, vc.ISSUER, "revocation", empty(), vc.ISSUED,
                                   datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip
    vector["statusLists"][vc.LIST_URL] = sign_jwt(clear, vc.ES256_KEY)
    assert check_vector(vector) == ("valid", None)
    vector["statusLists"][vc.LIST_URL] = sign_jwt(clear, vc.ROGUE_ES256)
    assert check_vector(vector) == ("invalid", "status")


def test_the_published_private_keys_make_the_published_public_keys() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    from credentials.did import raw_to_jwk
    from credentials.keys import KeyAlgorithm, raw_public

    for key in CREDENTIALS[0]["keys"]:
        private = bytes.fromhex(key["privateKeyHex"])
        if key["algorithm"] == "Ed25519":
            raw = raw_public(ed25519.Ed25519PrivateKey.from_private_bytes(private))
        else:
            raw = raw_public(ec.derive_private_key(int.from_bytes(private), ec.SECP256R1()))
        assert raw_to_jwk(KeyAlgorithm(key["algorithm"]), raw) == key["publicKeyJwk"]
