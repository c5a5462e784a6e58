"""``kernel.access``, ``kernel.tokens`` and ``kernel.ratelimit`` at one door: who may
knock, what each refusal answers, and that a refused request changes nothing."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.access import Principal, Unauthenticated, install_authenticator, requires
from kernel.ratelimit import RateLimit, TokenBuckets, install_rate_limits
from kernel.service import create_service_app
from kernel.tokens import ALGORITHMS, unverified_header
from tests.tokens import TestIssuer

AUDIENCE = "registry.test"


def door(*, per_participant: RateLimit | None = None, per_address: RateLimit | None = None,
         ) -> tuple[TestClient, list[str], TestIssuer]:  # fmt: skip
    """A service with one write door (``registry:write``) that records what it did."""
    done: list[str] = []
    router = APIRouter()

    @router.post("/things", status_code=201)
    def add(body: dict[str, Any], who: Annotated[Principal, requires("registry:write")]) -> Any:
        done.append(f"{who.organisation}:{body['name']}")
        return {"by": who.subject}

    app = create_service_app(title="t", description="t", version="0", routers=[router],
                             max_body_bytes=4096)  # fmt: skip
    issuer = TestIssuer()
    issuer.install(app, AUDIENCE)
    install_rate_limits(app, per_address=per_address, per_participant=per_participant)
    return TestClient(app), done, issuer


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


def test_a_valid_token_with_the_scope_passes() -> None:
    client, done, issuer = door()
    answer = client.post("/things", json={"name": "a"},
                         headers=issuer.headers(AUDIENCE, ["registry:write"]))  # fmt: skip
    assert answer.status_code == 201
    assert done == ["discom.test:a"]


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "needs credentials"),
        ({"Authorization": "Bearer not-a-token"}, "malformed"),
        ({"Authorization": "Bearer a.b.c"}, "malformed"),
    ],
)
def test_no_or_garbage_credentials_are_401(headers: dict[str, str], why: str) -> None:
    client, done, _ = door()
    body = _problem(client.post("/things", json={"name": "a"}, headers=headers), 401,
                    "unauthenticated")  # fmt: skip
    assert why in body["detail"]
    assert done == []


def test_expired_wrong_audience_wrong_issuer_and_forged_tokens_are_401() -> None:
    client, done, issuer = door()
    scopes = ["registry:write"]
    expired = issuer.token(audience=AUDIENCE, scopes=scopes, lifetime=-60)
    elsewhere = issuer.token(audience="consent.test", scopes=scopes)
    stranger = issuer.token(audience=AUDIENCE, scopes=scopes, issuer="evil.test")
    forged = TestIssuer().token(audience=AUDIENCE, scopes=scopes)  # another key, same kid
    for token, why in ((expired, "expired"), (elsewhere, "aud"), (stranger, "iss"),
                       (forged, "")):  # fmt: skip
        response = client.post("/things", json={"name": "a"},
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert why in _problem(response, 401, "unauthenticated")["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert done == []


def test_a_token_without_the_scope_is_403() -> None:
    client, done, issuer = door()
    headers = issuer.headers(AUDIENCE, ["registry:read"])
    body = _problem(client.post("/things", json={"name": "a"}, headers=headers), 403, "forbidden")
    assert body["required_scope"] == "registry:write"
    assert done == []


def test_a_person_at_a_machine_door_is_403() -> None:
    client, done, _ = door()

    def as_consumer(request: Request) -> Principal | None:
        if request.headers.get("x-test-consumer"):
            return Principal("consumer", "c-1", "discom.test", scopes=frozenset({"registry:write"}),
                             via="session")  # fmt: skip
        return None

    install_authenticator(client.app, as_consumer)  # type: ignore[arg-type]
    response = client.post("/things", json={"name": "a"}, headers={"x-test-consumer": "1"})
    _problem(response, 403, "forbidden")
    assert done == []


def test_the_participant_budget_answers_429_with_retry_after_and_changes_nothing() -> None:
    client, done, issuer = door(per_participant=RateLimit(rate=0.01, burst=2))
    headers = issuer.headers(AUDIENCE, ["registry:write"])
    assert client.post("/things", json={"name": "1"}, headers=headers).status_code == 201
    assert client.post("/things", json={"name": "2"}, headers=headers).status_code == 201
    refused = client.post("/things", json={"name": "3"}, headers=headers)
    body = _problem(refused, 429, "rate-limited")
    assert int(refused.headers["retry-after"]) >= 1
    assert body["retry_after"] == int(refused.headers["retry-after"])
    assert done == ["discom.test:1", "discom.test:2"]
    # Another participant has its own budget.
    other = issuer.headers(AUDIENCE, ["registry:write"], subject="other.test")
    assert client.post("/things", json={"name": "4"}, headers=other).status_code == 201


def test_the_address_budget_answers_429_before_any_work() -> None:
    client, done, issuer = door(per_address=RateLimit(rate=0.01, burst=1))
    headers = issuer.headers(AUDIENCE, ["registry:write"])
    assert client.post("/things", json={"name": "1"}, headers=headers).status_code == 201
    refused = client.post("/things", json={"name": "2"}, headers=headers)
    _problem(refused, 429, "rate-limited")
    assert refused.headers["retry-after"]
    assert done == ["discom.test:1"]


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(RateLimit(rate=2.0, burst=2), clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0  # its own bucket


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_the_token_parser_refuses_garbage_with_value_error_only(text: str) -> None:
    """Any text: a ValueError, or a header that names an accepted alg and a kid."""
    try:
        header = unverified_header(text)
    except ValueError:
        return
    assert header["alg"] in ALGORITHMS
    assert isinstance(header["kid"], str)
    assert header["kid"]


def _b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@settings(max_examples=200, deadline=None)
@given(
    header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit"]),
                           st.one_of(st.none(), st.integers(), st.text(max_size=20),
                                     st.sampled_from(["Ed25519", "EdDSA", "HS256", "none"]))),
    claims=st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=20))),
    signature=st.binary(max_size=80),
)  # fmt: skip
def test_any_well_formed_but_unsigned_token_is_refused_as_unauthenticated(
    header: dict[str, Any], claims: dict[str, Any], signature: bytes
) -> None:
    """No header/claims combination without the issuer's signature gets through, and the
    verifier never fails with anything but a 401 problem."""
    issuer = TestIssuer()
    verifier = issuer.verifier(AUDIENCE)
    token = f"{_b64(header)}.{_b64(claims)}.{_b64(signature)}"
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


def test_a_service_configured_with_the_directory_key_accepts_its_tokens() -> None:
    """Outside the sandbox a service is given the directory's published key by its
    settings (IES_TOKEN_ISSUER, IES_TOKEN_AUDIENCE, IES_TOKEN_KEYS)."""
    from kernel.settings import ServiceSettings
    from kernel.tokens import install_token_settings

    issuer = TestIssuer(issuer="directory.example")
    done: list[str] = []
    router = APIRouter()

    @router.post("/things", status_code=201)
    def add(who: Annotated[Principal, requires("registry:write")]) -> Any:
        done.append(who.subject)
        return {}

    app = create_service_app(title="t", description="t", version="0", routers=[router],
                             max_body_bytes=4096)  # fmt: skip
    raw = base64.urlsafe_b64encode(issuer.public).rstrip(b"=").decode()
    install_token_settings(app, ServiceSettings(token_issuer="directory.example",
                                                token_audience=AUDIENCE,
                                                token_keys={"k1": raw}))  # fmt: skip
    client = TestClient(app)
    assert client.post("/things").status_code == 401
    ok = client.post("/things", headers=issuer.headers(AUDIENCE, ["registry:write"]))
    assert ok.status_code == 201
    assert done == ["discom.test"]
