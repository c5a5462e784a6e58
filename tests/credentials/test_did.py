"""did:web <-> URL mapping, did:key, documents, and resolution over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from credentials.did import (
    DidNotFound,
    DidResolutionFailed,
    DidResolver,
    InvalidDid,
    b58decode,
    b58encode,
    did_document,
    did_key_document,
    did_key_for,
    did_web_for,
    did_web_from_url,
    parse_did_web,
)
from credentials.keys import KeyAlgorithm, PublicKeyInfo, generate, raw_public
from registry.directory import didweb
from tests.registry.directory.conftest import serve

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.builds(
    lambda labels, port: ".".join(labels) + (f":{port}" if port else ""),
    st.lists(label, min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(1, 65535)),
)
segments = st.lists(st.from_regex(r"[A-Za-z0-9_~-]{1,12}", fullmatch=True), max_size=4)


@given(hosts, segments)
def test_did_web_and_its_url_map_both_ways(host, path):
    did = did_web_for(host, path)
    location = parse_did_web(did)
    assert did_web_from_url(location.url) == did
    assert location.host == host
    assert ":" not in did[len("did:web:") :].split(":")[0] or "%3A" in did
    # The directory's own (independent) mapping agrees on the DID and the served path.
    served = didweb.web_did_at(host, location.path)
    assert served.did == did
    assert served.path == location.path


def test_did_web_examples_from_the_spec():
    assert parse_did_web("did:web:w3c-ccg.github.io").url == (
        "https://w3c-ccg.github.io/.well-known/did.json"
    )
    assert parse_did_web("did:web:w3c-ccg.github.io:user:alice").url == (
        "https://w3c-ccg.github.io/user/alice/did.json"
    )
    assert parse_did_web("did:web:example.com%3A3000:user:alice").url == (
        "https://example.com:3000/user/alice/did.json"
    )
    for bad in [
        "did:web:",
        "did:web:exa mple.com",
        "did:web:a.com::x",
        "did:web:a.com:..",
        "did:key:z",
    ]:
        with pytest.raises(InvalidDid):
            parse_did_web(bad)


@given(st.binary(max_size=40))
def test_base58_round_trips(data):
    assert b58decode(b58encode(data)) == data


def test_did_key_round_trips_for_every_algorithm():
    # The did:key spec's Ed25519 test vector.
    known = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    assert did_key_document(known).verification_method[0].type == "Ed25519VerificationKey2020"
    for algorithm in KeyAlgorithm:
        raw = raw_public(generate(algorithm))
        did = did_key_for(algorithm, raw)
        document = did_key_document(did)
        assert document.public_key(document.verification_method[0].id).raw == raw


def test_the_directory_documents_read_back_through_credentials():
    raw = raw_public(generate(KeyAlgorithm.ED25519))
    enc = raw_public(generate(KeyAlgorithm.X25519))
    served = didweb.did_document(
        "did:web:a.example",
        [didweb.DeclaredKey("k1", raw), didweb.DeclaredKey("k1-x25519", enc, agreement=True)],
    )
    from credentials.did import DidDocument

    document = DidDocument.model_validate(served)
    assert document.public_key("k1") == PublicKeyInfo("k1", KeyAlgorithm.ED25519, raw)
    assert document.public_key("k1-x25519").raw == enc
    assert document.key_agreement == ["did:web:a.example#k1-x25519"]
    issuer = raw_public(generate(KeyAlgorithm.P256))
    with_issuer = did_document(
        "did:web:a.example", [PublicKeyInfo("es256", KeyAlgorithm.P256, issuer)]
    )
    assert with_issuer.verification_method[0].type == "JsonWebKey2020"
    assert with_issuer.public_key("es256").raw == issuer


def test_resolution_goes_to_the_mapped_host_and_refuses_redirects_and_impostors():
    raw = raw_public(generate(KeyAlgorithm.ED25519))

    async def document(request: Request):
        host = request.headers["host"]
        did = "did:web:" + host.replace(":", "%3A")
        if host == "moved.example":
            return RedirectResponse("https://elsewhere.example/.well-known/did.json")
        if host == "liar.example":
            did = "did:web:someone-else.example"
        return JSONResponse(
            did_document(did, [PublicKeyInfo("k1", KeyAlgorithm.ED25519, raw)]).to_json()
        )

    app = Starlette(routes=[Route("/.well-known/did.json", document)])
    with serve(app) as base, httpx.Client(timeout=5) as client:
        names = ["good.example", "moved.example", "liar.example", "127.0.0.1:9"]
        resolver = DidResolver(dict.fromkeys(names, base), client)
        assert resolver.resolve("did:web:good.example").public_key("k1").raw == raw
        assert resolver.resolve("did:web:127.0.0.1%3A9").id == "did:web:127.0.0.1%3A9"
        with pytest.raises(DidResolutionFailed, match="redirect"):
            resolver.resolve("did:web:moved.example")
        with pytest.raises(DidResolutionFailed, match="someone-else"):
            resolver.resolve("did:web:liar.example")
        with pytest.raises(DidNotFound):
            resolver.resolve("did:web:not-in-the-map.example")
