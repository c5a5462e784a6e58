"""The directory's token endpoint (private_key_jwt, RFC 7523) and a door that needs its
tokens: each refusal with the right status, and nothing changed behind the door.

The directory is real (namespaces proven, subscriber keys and the operator's
participant_role records written through its signed API); the participants sign their
client assertions with keys in their own custody.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text

from kernel.access import Principal, install_authenticator, requires
from kernel.database import create_db_engine
from kernel.service import create_service_app
from kernel.tokens import (
    ASSERTION_TYPE,
    TOKEN_PATH,
    AccessTokenVerifier,
    bearer_authenticator,
    client_assertion,
    compact_jws,
)
from registry.directory.service import Directory
from registry.directory.tokens import TokenIssuer, token_router
from tests.registry.directory.conftest import (
    Participant,
    Stack,
    make_participant,
    onboard,
    subscriber_details,
)

AUTHORITY = "indiaenergystack.in"
ROLES = "credential-issuers"
DISCOM = "discom-a.example"
BANK = "bank-a.example"
TOKEN_URL = f"http://directory.test{TOKEN_PATH}"


@dataclass
class Net:
    issuer: TokenIssuer
    token_client: TestClient  # the directory's token endpoint
    service: TestClient  # a door needing registry:write, audience = the authority
    things: list[str]
    discom: Participant
    bank: Participant
    directory_key: Ed25519PrivateKey
    anchor: Participant


def _subscribe(stack: Stack, who: Participant, participant_type: str, anchor: Participant) -> None:
    who.new_signing_key("k1")
    assert who.writer.create_registry(who.namespace, "subscribers.beckn.one",
                                      "subscriber").status_code == 201  # fmt: skip
    put = who.writer.put_record(who.namespace, "subscribers.beckn.one", "k1",
                                subscriber_details(who, "k1"))  # fmt: skip
    assert put.status_code == 200, put.text
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    role = {"subscriber_id": who.namespace, "participant_type": participant_type,
            "states": ["IN-MH"], "domains": [], "actions": [], "valid_from": since}  # fmt: skip
    put = anchor.writer.put_record(AUTHORITY, ROLES, who.namespace.split(".")[0], role)
    assert put.status_code == 200, put.text


@pytest.fixture
def net(stack: Stack, tmp_path: Path) -> Iterator[Net]:
    stack.host_map[BANK] = stack.hosts_url
    anchor = make_participant(stack, tmp_path, AUTHORITY)
    onboard(stack, anchor)
    assert anchor.writer.create_registry(AUTHORITY, ROLES, "participant_role").status_code == 201
    discom = make_participant(stack, tmp_path, DISCOM)
    onboard(stack, discom)
    _subscribe(stack, discom, "discom", anchor)
    bank = make_participant(stack, tmp_path, BANK)
    onboard(stack, bank)
    _subscribe(stack, bank, "third_party_app", anchor)
    directory_key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(stack.directory, issuer=AUTHORITY, kid="k1", sign=directory_key.sign,
                         token_urls=frozenset({TOKEN_URL}), authority=AUTHORITY,
                         role_registry=ROLES)  # fmt: skip
    token_app = create_service_app(title="directory", description="t", version="0",
                                   routers=[token_router(issuer)], max_body_bytes=8192)  # fmt: skip
    public = directory_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    things: list[str] = []
    router = APIRouter()

    @router.post("/things", status_code=201)
    def add(body: dict[str, Any], who: Annotated[Principal, requires("registry:write")]) -> Any:
        things.append(f"{who.subject}:{body['name']}")
        return {"added": body["name"]}

    service_app = create_service_app(title="registry", description="t", version="0",
                                     routers=[router], max_body_bytes=8192)  # fmt: skip
    verifier = AccessTokenVerifier(issuer=AUTHORITY, audience=AUTHORITY,
                                   key_for=lambda kid: public if kid == "k1" else None)  # fmt: skip
    install_authenticator(service_app, bearer_authenticator(verifier))
    with TestClient(token_app) as token_client, TestClient(service_app) as service:
        yield Net(issuer, token_client, service, things, discom, bank, directory_key, anchor)


def _assertion(who: Participant, **claims: Any) -> str:
    if not claims:
        return client_assertion(who.namespace, TOKEN_URL, "k1",
                                lambda m: who.custody.sign("k1", m))  # fmt: skip
    now = int(time.time())
    body = {"iss": who.namespace, "sub": who.namespace, "aud": TOKEN_URL, "iat": now,
            "exp": now + 60, "jti": f"jti-{time.monotonic_ns()}", **claims}  # fmt: skip
    return compact_jws({"alg": "Ed25519", "kid": "k1"}, body,
                       lambda m: who.custody.sign("k1", m))  # fmt: skip


def _ask(net: Net, assertion: str, audience: str = AUTHORITY, **form: str) -> Any:
    return net.token_client.post(TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion, "audience": audience, **form})  # fmt: skip


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refused(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == f"/problems/{slug}"


def test_a_registered_discom_gets_a_short_audience_bound_token_and_passes_the_door(
    net: Net,
) -> None:
    answer = _ask(net, _assertion(net.discom))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert "registry:write" in body["scope"].split()
    added = net.service.post("/things", json={"name": "feeder"},
                             headers=_bearer(body["access_token"]))  # fmt: skip
    assert added.status_code == 201, added.text
    assert net.things == [f"{DISCOM}:feeder"]


def test_no_credentials_is_401_with_a_challenge_and_nothing_changes(net: Net) -> None:
    response = net.service.post("/things", json={"name": "x"})
    _refused(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    _refused(net.service.post("/things", json={"name": "x"}, headers={"Authorization": "Bearer"}),
             401, "unauthenticated")  # fmt: skip
    assert net.things == []


def test_an_expired_token_is_401_and_nothing_changes(net: Net) -> None:
    net.issuer.lifetime = -60  # a token that expired a minute ago (beyond the leeway)
    old = _ask(net, _assertion(net.discom))
    assert old.status_code == 200, old.text
    _refused(net.service.post("/things", json={"name": "x"},
                              headers=_bearer(old.json()["access_token"])),
             401, "unauthenticated")  # fmt: skip
    assert net.things == []


def test_a_token_for_another_audience_is_401_and_nothing_changes(net: Net) -> None:
    other = _ask(net, _assertion(net.discom), audience=BANK)
    assert other.status_code == 200, other.text
    response = net.service.post("/things", json={"name": "x"},
                                headers=_bearer(other.json()["access_token"]))  # fmt: skip
    _refused(response, 401, "unauthenticated")
    assert "aud" in response.json()["detail"]
    assert net.things == []


def test_a_token_signed_by_another_key_is_401(net: Net) -> None:
    forged = TokenIssuer(net.issuer.directory, issuer=AUTHORITY, kid="k1",
                         sign=Ed25519PrivateKey.generate().sign, token_urls=net.issuer.token_urls,
                         authority=AUTHORITY, role_registry=ROLES)  # fmt: skip
    token = forged.issue({"grant_type": "client_credentials",
                          "client_assertion_type": ASSERTION_TYPE,
                          "client_assertion": _assertion(net.discom),
                          "audience": AUTHORITY})["access_token"]  # fmt: skip
    _refused(net.service.post("/things", json={"name": "x"}, headers=_bearer(token)),
             401, "unauthenticated")  # fmt: skip
    assert net.things == []


def test_a_role_without_the_scope_is_403_and_nothing_changes(net: Net) -> None:
    answer = _ask(net, _assertion(net.bank))
    assert answer.status_code == 200, answer.text
    assert "registry:write" not in answer.json()["scope"].split()
    response = net.service.post("/things", json={"name": "x"},
                                headers=_bearer(answer.json()["access_token"]))  # fmt: skip
    _refused(response, 403, "forbidden")
    assert net.things == []


def test_asking_for_more_scope_than_the_role_gives_grants_only_the_role(net: Net) -> None:
    answer = _ask(net, _assertion(net.bank), scope="registry:write registry:read")
    assert answer.json()["scope"] == "registry:read"


def test_a_replayed_client_assertion_is_refused(net: Net) -> None:
    assertion = _assertion(net.discom)
    assert _ask(net, assertion).status_code == 200
    again = _ask(net, assertion)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "http://elsewhere.test/oauth/token"}, "aud"),
        ({"exp": int(time.time()) + 3600}, "too long"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 180}, "expired"),
        ({"sub": BANK}, "sub"),
        ({"jti": "short"}, "jti"),
    ],
)
def test_a_bad_client_assertion_is_invalid_client(
    net: Net, claims: dict[str, Any], why: str
) -> None:
    answer = _ask(net, _assertion(net.discom, **claims))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_client"
    assert why in answer.json()["error_description"]


def test_an_assertion_signed_with_another_key_or_for_another_client_is_refused(net: Net) -> None:
    stolen = _assertion(net.discom)
    as_bank = stolen  # the discom's signature, but claiming to be the bank through client_id
    answer = _ask(net, as_bank, client_id=BANK)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    # The bank's claims signed with the discom's key: the bank's registered key refuses it.
    now = int(time.time())
    body = {"iss": BANK, "sub": BANK, "aud": TOKEN_URL, "iat": now, "exp": now + 60,
            "jti": "a-long-enough-jti"}  # fmt: skip
    forged = compact_jws({"alg": "Ed25519", "kid": "k1"}, body,
                         lambda m: net.discom.custody.sign("k1", m))  # fmt: skip
    answer = _ask(net, forged)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_other_grants_and_missing_assertions_are_refused(net: Net) -> None:
    wrong = net.token_client.post(TOKEN_PATH, data={"grant_type": "password"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "unsupported_grant_type"
    bare = net.token_client.post(TOKEN_PATH, data={"grant_type": "client_credentials"})
    assert bare.status_code == 401
    assert bare.json()["error"] == "invalid_client"
    unknown = _ask(net, _assertion(net.discom), audience="nowhere.example")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_target"


def test_the_token_client_fetches_once_reuses_and_renews_after_a_401(net: Net) -> None:
    from kernel.tokens import TokenClient

    calls: list[int] = []
    original = net.issuer.issue

    def counted(form: Any) -> dict[str, Any]:
        calls.append(1)
        return original(form)

    net.issuer.issue = counted  # type: ignore[method-assign]
    auth = TokenClient(TOKEN_URL, DISCOM, "k1", lambda m: net.discom.custody.sign("k1", m),
                       AUTHORITY, http=net.token_client)  # fmt: skip
    for name in ("a", "b", "c"):
        assert net.service.post("/things", json={"name": name}, auth=auth).status_code == 201
    assert len(calls) == 1  # one token for three calls
    auth._token = (auth._token or "")[:-4] + "AAAA"  # a token the service refuses
    assert net.service.post("/things", json={"name": "d"}, auth=auth).status_code == 201
    assert len(calls) == 2  # renewed once, transparently
    assert net.things == [f"{DISCOM}:{n}" for n in "abcd"]


def test_the_replay_cache_holds_an_assertion_id_while_its_assertion_could_verify(
    make_database: Any,
) -> None:
    from kernel.tokens import LEEWAY
    from registry.directory.tokens import ReplayCache

    engine = create_db_engine(make_database("registry:migrations"))
    try:
        cache = ReplayCache(engine)
        assert cache.first_use("c|j1", expires=100.0, now=50.0)
        assert not cache.first_use("c|j1", expires=100.0, now=60.0)
        assert not cache.first_use("c|j1", expires=100.0, now=100.0 + LEEWAY)  # in leeway
        assert cache.first_use("c|j2", expires=100.0, now=60.0)  # another id
        # A row past its time blocks nothing (a new assertion may reuse the id)...
        assert cache.first_use("c|j1", expires=200.0, now=100.0 + LEEWAY + 2)
        assert _jti_rows(engine) == {"c|j1", "c|j2"}  # the first purge was at 50 s
        # ...and is purged by a later call (at most once per purge_every, per process).
        assert not cache.first_use("c|j1", expires=200.0, now=150.0)
        assert _jti_rows(engine) == {"c|j1"}
        assert cache.first_use("c|j3", expires=300.0, now=250.0)
        assert _jti_rows(engine) == {"c|j3"}
    finally:
        engine.dispose()


def _jti_rows(engine: Any) -> set[str]:
    with engine.connect() as connection:
        return {r[0] for r in connection.execute(text("SELECT key FROM registry_dir_token_jti"))}


def _second_directory(net: Net) -> tuple[TokenIssuer, TestClient, Any]:
    """Another directory process over the same database: its own engine, its own
    Directory, its own token endpoint, the same signing key."""
    url = net.issuer.directory.engine.url.render_as_string(hide_password=False)
    engine = create_db_engine(url)
    issuer = TokenIssuer(Directory(engine, {}), issuer=AUTHORITY, kid="k1",
                         sign=net.directory_key.sign, token_urls=frozenset({TOKEN_URL}),
                         authority=AUTHORITY, role_registry=ROLES)  # fmt: skip
    app = create_service_app(title="directory", description="t", version="0",
                             routers=[token_router(issuer)], max_body_bytes=8192)  # fmt: skip
    return issuer, TestClient(app), engine


def test_an_assertion_is_used_once_across_two_directory_processes_and_a_restart(
    net: Net,
) -> None:
    assertion = _assertion(net.discom)
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, "audience": AUTHORITY}  # fmt: skip
    _, other, engine = _second_directory(net)
    try:
        with other:
            assert _ask(net, assertion).status_code == 200
            replayed = other.post(TOKEN_PATH, data=form)  # the other process refuses it
            assert replayed.status_code == 400, replayed.text
            assert replayed.json()["error"] == "invalid_grant"
            # And the other way round, with a fresh assertion first used over there.
            fresh = _assertion(net.discom)
            assert other.post(TOKEN_PATH, data={**form, "client_assertion": fresh}
                              ).status_code == 200  # fmt: skip
            assert _ask(net, fresh).json()["error"] == "invalid_grant"
    finally:
        engine.dispose()
    # A restart: a new process over the same database remembers both.
    _, restarted, engine = _second_directory(net)
    try:
        with restarted:
            for used in (assertion, fresh):
                again = restarted.post(TOKEN_PATH, data={**form, "client_assertion": used})
                assert again.status_code == 400, again.text
                assert again.json()["error"] == "invalid_grant"
    finally:
        engine.dispose()


def test_concurrent_first_uses_of_one_assertion_id_admit_exactly_one(net: Net) -> None:
    from registry.directory.tokens import ReplayCache

    url = net.issuer.directory.engine.url.render_as_string(hide_password=False)
    engines = [create_db_engine(url) for _ in range(2)]
    caches = [ReplayCache(e) for e in engines]
    try:
        now = time.time()

        def use(cache: ReplayCache, key: str, barrier: threading.Barrier,
                results: list[bool]) -> None:  # fmt: skip
            barrier.wait()
            results.append(cache.first_use(key, now + 60, now))

        for n in range(12):
            barrier = threading.Barrier(2)
            results: list[bool] = []
            threads = [threading.Thread(target=use, args=(c, f"c|race-{n}", barrier, results))
                       for c in caches]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(results) == [False, True], (n, results)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_discoms_token_names_the_discoms_of_its_role_record_and_nothing_it_asserts(
    stack: Stack, net: Net
) -> None:
    anchor = net.anchor
    role = {"subscriber_id": DISCOM, "participant_type": "discom", "states": ["IN-MH"],
            "discoms": ["msedcl"], "valid_from": _since()}  # fmt: skip
    put = anchor.writer.put_record(AUTHORITY, ROLES, DISCOM.split(".")[0], role)
    assert put.status_code == 200, put.text
    # The client asserts roles and discoms of its own: they are not copied anywhere.
    answer = _ask(net, _assertion(net.discom, roles=["discom:BESCOM"], discoms=["BESCOM"],
                                  org="bescom.example"))  # fmt: skip
    assert answer.status_code == 200, answer.text
    claims = _claims(answer.json()["access_token"])
    assert claims["roles"] == ["discom", "discom:MSEDCL"]
    assert claims["org"] == DISCOM
    assert "discoms" not in claims
    # The bank's token names no discom.
    bank = _claims(_ask(net, _assertion(net.bank)).json()["access_token"])
    assert bank["roles"] == ["third_party_app"]
    # Who answers for a discom code is a directory query.
    found = stack.http.get(f"/dedi/query/{AUTHORITY}/{ROLES}", params={"discom": "MSEDCL"})
    assert found.status_code == 200, found.text
    assert [r["details"]["subscriber_id"] for r in found.json()["data"]["records"]] == [DISCOM]


def test_only_a_discoms_role_record_may_name_discoms(net: Net) -> None:
    role = {"subscriber_id": BANK, "participant_type": "third_party_app",
            "discoms": ["MSEDCL"], "valid_from": _since()}  # fmt: skip
    put = net.anchor.writer.put_record(AUTHORITY, ROLES, BANK.split(".")[0], role)
    assert put.status_code == 422, put.text
    bank = _claims(_ask(net, _assertion(net.bank)).json()["access_token"])
    assert bank["roles"] == ["third_party_app"]  # its record is as it was


def _since() -> str:
    return (datetime.now(UTC) - timedelta(seconds=5)).isoformat()


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded
