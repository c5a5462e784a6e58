"""The registry's machine doors (issue 15): writes need registry:write, personal data
registry:personal, from a token of the directory for this registry; each refusal is a
problem with the right status, and the registry is unchanged after it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.registry.conftest import assert_problem, create
from tests.tokens import TestIssuer

AUDIENCE = "registry.test"


@pytest.fixture
def issuer(client: TestClient) -> TestIssuer:
    """The registry's token issuer (the directory's stand-in): each test mints tokens
    with exactly the scopes and claims it needs."""
    token: TestIssuer = client.app.state.test_token_issuer  # type: ignore[attr-defined]
    return token


def _count(client: TestClient) -> int:
    return len(client.get("/identities", params={"limit": 500}).json()["items"])


def test_writes_without_a_token_are_401_and_change_nothing(client: TestClient) -> None:
    feeder = create(client, type="feeder")
    before = _count(client)
    client.headers.pop("Authorization")
    assert_problem(client.post("/identities", json={"type": "feeder"}), 401, "unauthenticated")
    assert_problem(client.patch(f"/identities/{feeder['id']}", json={"attributes": {"a": 1}}),
                   401, "unauthenticated")  # fmt: skip
    assert_problem(client.delete(f"/identities/{feeder['id']}"), 401, "unauthenticated")
    assert_problem(client.get(f"/identities/{feeder['id']}/personal"), 401, "unauthenticated")
    assert _count(client) == before
    assert client.get(f"/identities/{feeder['id']}").json() == feeder


def test_expired_and_wrong_audience_tokens_are_401(client: TestClient, issuer: TestIssuer) -> None:
    before = _count(client)
    scopes = ["registry:write"]
    for token in (issuer.token(audience=AUDIENCE, scopes=scopes, lifetime=-60),
                  issuer.token(audience="consent.test", scopes=scopes)):  # fmt: skip
        response = client.post("/identities", json={"type": "feeder"},
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert_problem(response, 401, "unauthenticated")
    assert _count(client) == before


def test_a_reader_may_not_write_nor_read_personal_data(
    client: TestClient, issuer: TestIssuer
) -> None:
    consumer = create(client, type="consumer")
    client.put(f"/identities/{consumer['id']}/personal", json={"name": "A. Kumar"})
    before = _count(client)
    reader = issuer.headers(AUDIENCE, ["registry:read"], roles=("third_party_app",))
    assert_problem(client.post("/identities", json={"type": "feeder"}, headers=reader),
                   403, "forbidden")  # fmt: skip
    assert_problem(client.put(f"/identities/{consumer['id']}/personal",
                              json={"name": "Someone Else"}, headers=reader),
                   403, "forbidden")  # fmt: skip
    assert_problem(client.get(f"/identities/{consumer['id']}/personal", headers=reader),
                   403, "forbidden")  # fmt: skip
    assert _count(client) == before
    assert client.get(f"/identities/{consumer['id']}/personal").json()["name"] == "A. Kumar"


def test_a_writer_without_the_personal_scope_may_not_read_personal_data(
    client: TestClient, issuer: TestIssuer
) -> None:
    consumer = create(client, type="consumer")
    writer = issuer.headers(AUDIENCE, ["registry:write"])
    assert_problem(client.get(f"/identities/{consumer['id']}/personal", headers=writer),
                   403, "forbidden")  # fmt: skip
    assert_problem(client.get("/export", headers=writer), 403, "forbidden")
