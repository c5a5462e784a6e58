"""The HTTP API: decide and log, ask the log why, list and read packs; problem details."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import assert_problem


def _trade(price: float) -> dict[str, Any]:
    return {
        "seller": {
            "connection_category": "domestic",
            "sanctioned_load_kw": 10,
            "der_capacity_kw": 5,
            "metering_scheme": "none",
        },
        "buyer": {"connection_category": "commercial"},
        "trade": {
            "block": {"date": "2025-06-01", "number": 48, "minutes": 15},
            "quantity_kwh": 1,
            "price_inr_per_kwh": price,
        },
    }


def _decide(client, price: float, reference: str | None = None, **extra) -> dict[str, Any]:
    body = {
        "jurisdiction": "IN-KA",
        "domain": "p2p_trade",
        "input": _trade(price),
        "as_of": "2025-06-01",
        **extra,
    }
    if reference:
        body["reference"] = reference
    response = client.post("/policy/decisions", json=body)
    assert response.status_code == 200, response.text
    decided: dict[str, Any] = response.json()
    return decided


def test_a_refused_trade_can_be_explained_later_by_its_reference(client):
    decided = _decide(client, 9.0, reference="trade-42")
    assert decided["allow"] is False
    assert decided["pack"]["id"] == "in-ka"
    assert decided["pack"]["digest"].startswith("sha256:")
    [violation] = decided["violations"]
    assert violation["code"] == "P2P-008"
    assert "ceiling" in violation["message"]
    assert violation["clause"]
    assert violation["intent"]

    page = client.get("/policy/decisions", params={"reference": "trade-42"}).json()
    assert [item["id"] for item in page["items"]] == [decided["id"]]
    why = client.get(f"/policy/decisions/{decided['id']}").json()
    assert why == decided


def test_an_allowed_decision_is_logged_too(client):
    decided = _decide(client, 5.0)
    assert decided["allow"] is True
    assert decided["violations"] == []
    log = client.get("/policy/decisions", params={"allow": "true"}).json()["items"]
    assert [item["id"] for item in log] == [decided["id"]]
    by_digest = client.get("/policy/decisions", params={"input_digest": decided["input_digest"]})
    assert [item["id"] for item in by_digest.json()["items"]] == [decided["id"]]


def test_the_log_pages_newest_first_with_cursors_bound_to_their_query(client):
    made = [_decide(client, 5.0 + index / 10)["id"] for index in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "domain": "p2p_trade"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/policy/decisions", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == list(reversed(made))
    first = client.get("/policy/decisions", params={"limit": 2, "domain": "p2p_trade"}).json()
    other_query = client.get(
        "/policy/decisions",
        params={"limit": 2, "domain": "consent", "cursor": first["next_cursor"]},
    )
    assert_problem(other_query, 400, "invalid-cursor")
    assert_problem(
        client.get("/policy/decisions", params={"cursor": "garbage!"}), 400, "invalid-cursor"
    )


def test_no_pack_in_force_is_a_problem_and_logs_nothing(client):
    response = client.post(
        "/policy/decisions",
        json={"jurisdiction": "IN-MH", "domain": "consent", "input": {}, "as_of": "2020-01-01"},
    )
    body = assert_problem(response, 404, "policy-no-pack-in-force")
    assert body["jurisdiction"] == "IN-MH"
    assert client.get("/policy/decisions").json()["items"] == []


@pytest.mark.parametrize(
    "change",
    [
        {"as_of": 20250601},
        {"as_of": "2025-02-30"},
        {"input": "not an object"},
        {"domain": "lottery"},
        {"jurisdiction": "Maharashtra"},
        {"unexpected": True},
        {"input": {"connection": {"arrears_inr": 2**70}}},
        {"reference": "trade\x00-42"},
    ],
)
def test_malformed_requests_are_refused_and_log_nothing(client, change):
    body = {"jurisdiction": "IN-MH", "domain": "onboarding", "input": {}, "as_of": "2025-06-01"}
    response = client.post("/policy/decisions", json=body | change)
    # A NUL is refused at every service's edge (400 nul-in-text); the rest by validation.
    expected = 400 if any("\x00" in str(v) for v in change.values()) else 422
    assert response.status_code == expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/policy/decisions").json()["items"] == []


def test_log_filters_refuse_text_the_database_cannot_hold(client):
    """PostgreSQL text cannot hold NUL: refused at the edge, not a 500 from the driver."""
    response = client.get("/policy/decisions", params={"reference": "trade\x00"})
    assert_problem(response, 400, "nul-in-text")
    assert_problem(
        client.get("/policy/decisions", params={"pack_id": "IN MH"}), 422, "invalid-request"
    )


def test_an_unknown_decision_is_a_problem(client):
    assert_problem(client.get(f"/policy/decisions/{'0' * 32}"), 404, "policy-decision-not-found")


def test_packs_in_force_follow_the_date(client):
    def keys(as_of: str) -> set[str]:
        packs = client.get("/policy/packs", params={"as_of": as_of}).json()
        return {f"{p['id']}@{p['version']}" for p in packs}

    assert "in-mh@1.0.0" in keys("2025-03-31")
    assert "in-mh@2.0.0" not in keys("2025-03-31")
    assert "in-mh@2.0.0" in keys("2025-04-01")
    assert "in-mh@1.0.0" not in keys("2025-04-01")
    every = client.get("/policy/packs", params={"all": "true"}).json()
    assert {"in-mh@1.0.0", "in-mh@2.0.0", "in-national@1.0.0"} <= {
        f"{p['id']}@{p['version']}" for p in every
    }


def test_a_pack_shows_every_rules_intent_and_citation(client, catalogue):
    body = client.get("/policy/packs/in-up/1.0.0").json()
    pack = catalogue.get("in-up", "1.0.0")
    assert body["digest"] == pack.digest
    assert body["signed_by"] == pack.manifest.author
    rules = {rule["code"]: rule for rule in body["manifest"]["rules"]}
    assert set(rules) == {rule.code for rule in pack.manifest.rules}
    assert all(rule["intent"] and rule["cites"] for rule in rules.values())
    assert_problem(client.get("/policy/packs/in-up/9.9.9"), 404, "policy-pack-not-found")


def test_the_opa_data_api_answers_as_opa_does(client, catalogue, engine):
    pack = catalogue.get("in-ka", "1.0.0")
    trade = _trade(9.0)
    response = client.post("/v1/data/ies/ka/v1/p2p_trade/decision", json={"input": trade})
    assert response.status_code == 200
    assert response.json() == {
        "result": engine.document(pack, "ies.ka.v1.p2p_trade.decision", trade)[1]
    }
    assert client.post("/v1/data/ies/nowhere/decision", json={"input": {}}).json() == {}
    limits = client.get("/v1/data/ies/ka/v1/params/p2p_trade/price_ceiling_inr_per_kwh").json()
    assert limits == {"result": pack.data["params"]["p2p_trade"]["price_ceiling_inr_per_kwh"]}
