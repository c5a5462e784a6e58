"""The policy service's machine door (issue 15): logging a decision needs a machine
token with policy:evaluate for this service; each refusal logs nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.policy_packs.test_api import _trade
from tests.tokens import TestIssuer

AUDIENCE = "regulator.test"
BODY = {"jurisdiction": "IN-KA", "domain": "p2p_trade", "input": _trade(5.0),
        "as_of": "2025-06-01", "reference": "door-test"}  # fmt: skip


def _logged(client: TestClient) -> int:
    return len(client.get("/policy/decisions", params={"reference": "door-test"}).json()["items"])


def _problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{slug}"


def test_deciding_needs_a_valid_token_with_the_scope(client: TestClient) -> None:
    token: TestIssuer = client.app.state.test_token_issuer  # type: ignore[attr-defined]
    refusals = [
        ({"Authorization": ""}, 401, "unauthenticated"),
        (token.headers(AUDIENCE, ["policy:evaluate"], lifetime=-60), 401, "unauthenticated"),
        (token.headers("registry.test", ["policy:evaluate"]), 401, "unauthenticated"),
        (token.headers(AUDIENCE, ["registry:read"], roles=("third_party_app",)), 403, "forbidden"),
    ]
    for headers, status, slug in refusals:
        _problem(client.post("/policy/decisions", json=BODY, headers=headers), status, slug)
    assert _logged(client) == 0
    assert client.post("/policy/decisions", json=BODY).status_code == 200
    assert _logged(client) == 1
