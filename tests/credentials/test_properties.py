"""Properties: any change to a signed credential fails verification; status list bits
set and clear round-trip through the encoding; the JSON-LD handling of the IES
examples' own form."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials.jsonld import JsonLdInvalid, UnknownContext, expand, undefined_terms
from credentials.keys import KeyAlgorithm, PublicKeyInfo, generate, raw_public, sign_with
from credentials.proofs import (
    ProofFormat,
    ProofInvalid,
    add_proof,
    sign_jwt,
    verify_jwt,
    verify_proof,
)
from credentials.statuslist import (
    MIN_BITS,
    StatusListInvalid,
    decode,
    empty,
    encode,
    get_bit,
    set_bit,
)
from credentials.store import metadata
from kernel.database import create_db_engine
from kernel.migrations import pending_differences

from .samples import IES, official_example, subjects

ISSUER = "did:web:discom-a.example"


@dataclass
class KeySigner:
    key: Any
    algorithm: KeyAlgorithm
    verification_method: str = f"{ISSUER}#k"

    def sign(self, message: bytes) -> bytes:
        return sign_with(self.key, message)

    @property
    def public(self) -> PublicKeyInfo:
        return PublicKeyInfo("k", self.algorithm, raw_public(self.key))


ED = KeySigner(generate(KeyAlgorithm.ED25519), KeyAlgorithm.ED25519)
P256 = KeySigner(generate(KeyAlgorithm.P256), KeyAlgorithm.P256)


def _credential() -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://ies-stack.org/schemas/P2PTradingPermissionCredential/v1.0/context.jsonld",
        ],
        "id": "urn:uuid:0b7cdf2e-5c3e-4a63-9f11-2a4a6c1f0c01",
        "type": ["VerifiableCredential", "P2PTradingPermissionCredential"],
        "issuer": {"id": ISSUER, "name": "Discom A"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": subjects("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp")[
            "P2PTradingPermissionCredential"
        ],
    }


SIGNED = {
    ProofFormat.ED25519_2020: add_proof(
        _credential(), ED, ProofFormat.ED25519_2020, datetime(2026, 1, 1, tzinfo=UTC)
    ),
    ProofFormat.JWS_2020: add_proof(
        _credential(), P256, ProofFormat.JWS_2020, datetime(2026, 1, 1, tzinfo=UTC)
    ),
}


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


def _mutate(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


@pytest.mark.parametrize("proof_format", list(SIGNED))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_change_to_a_signed_credential_fails_its_proof(
    proof_format: ProofFormat, data: st.DataObject
) -> None:
    signed = SIGNED[proof_format]
    key = ED.public if proof_format is ProofFormat.ED25519_2020 else P256.public
    verify_proof(signed, key)
    paths = [p for p in _leaves(signed) if p[0] not in ("proof", "@context")]
    path = data.draw(st.sampled_from(paths))
    old = signed
    for part in path:
        old = old[part]
    new = data.draw(
        st.one_of(st.text(min_size=1, max_size=8), st.integers(), st.booleans()).filter(
            lambda v: bool(v != old and str(v) != str(old))  # type: ignore[arg-type]
        )
    )
    # Refused as a bad signature, or (a value JSON-LD cannot hold, e.g. id: 0) as invalid.
    with pytest.raises((ProofInvalid, JsonLdInvalid)):
        verify_proof(_mutate(signed, path, new), key)


@settings(max_examples=60, deadline=None)
@given(
    payload=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=4),
    flip=st.integers(0, 10_000),
)
def test_any_change_to_a_vc_jwt_fails(payload: dict[str, str], flip: int) -> None:
    from credentials.codecs import unb64u

    for signer in (ED, P256):
        token = sign_jwt({**payload, "id": "urn:x"}, signer)  # payload may hold "id" too
        assert verify_jwt(token, signer.public).payload["id"] == "urn:x"
        position = flip % len(token)
        if token[position] == ".":
            continue
        tampered = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        try:
            verify_jwt(tampered, signer.public)
        except ProofInvalid:
            continue
        # Accepted only when it decodes to the very same bytes (a base64url final
        # character's unused bits): then it is the same signed credential.
        assert [unb64u(x) for x in tampered.split(".")] == [unb64u(x) for x in token.split(".")]


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(0, MIN_BITS - 1), max_size=50), st.integers(0, MIN_BITS - 1))
def test_status_list_bits_set_and_clear_round_trip(indexes: set[int], probe: int) -> None:
    bits = empty()
    for index in indexes:
        bits = set_bit(bits, index, True)
    decoded = decode(encode(bits))
    assert decoded == bits
    assert get_bit(decoded, probe) == (probe in indexes)
    for index in indexes:
        decoded = set_bit(decoded, index, False)
    assert decoded == empty()


def test_status_lists_refuse_zip_bombs_and_short_lists() -> None:
    import gzip

    from credentials.codecs import b64u

    with pytest.raises(StatusListInvalid, match="beyond"):
        decode("u" + b64u(gzip.compress(bytes(17 * 1024 * 1024))))
    with pytest.raises(StatusListInvalid, match="shorter"):
        decode("u" + b64u(gzip.compress(bytes(10))))
    with pytest.raises(StatusListInvalid):
        decode("zabc")
    assert get_bit(set_bit(empty(), 0, True), 0)
    assert decode(encode(empty()))[0] == 0


@pytest.mark.parametrize(
    "example",
    sorted(
        str(p.relative_to(IES))
        for folder in (
            "ElectricityCredential/v1.2",
            "MeterDataCredential/v0.6",
            "MeterDataRequestCredential/v0.1",
        )
        for p in (IES / folder / "examples").glob("*.json")
    ),
)
def test_the_ies_examples_expand_against_our_contexts_without_the_suite_context(
    example: str,
) -> None:
    document = official_example(example)
    document.pop("_comment", None)
    # The examples cite the IES context URLs and no Ed25519Signature2020 context.
    assert "https://w3id.org/security/suites/ed25519-2020/v1" not in document["@context"]
    assert undefined_terms(expand(document)) == []


def test_a_data_integrity_credential_in_the_ies_examples_form_verifies() -> None:
    # Signed without the suite context in @context (as the IES examples are): accepted.
    document = _credential()
    proof = add_proof(document, ED, ProofFormat.ED25519_2020, datetime(2026, 1, 1, tzinfo=UTC))[
        "proof"
    ]
    signed_without_suite = {**document, "proof": proof}
    with pytest.raises(ProofInvalid):
        verify_proof(signed_without_suite, ED.public)  # a proof made over another @context
    from credentials import proofs

    data = proofs._signed_data(document, {k: v for k, v in proof.items() if k != "proofValue"})
    from credentials.codecs import b58encode

    examples_form = {**document, "proof": {**proof, "proofValue": "z" + b58encode(ED.sign(data))}}
    assert verify_proof(examples_form, ED.public)["type"] == "Ed25519Signature2020"


def test_the_shipped_contexts_are_the_only_ones() -> None:
    with pytest.raises(UnknownContext):
        expand({"@context": ["https://www.w3.org/2018/credentials/examples/v1"], "x": 1})


def test_migrations_match_the_models(make_database) -> None:
    engine = create_db_engine(make_database("credentials:migrations"))
    try:
        assert pending_differences(engine, metadata, "credentials_alembic_version") == []
    finally:
        engine.dispose()
