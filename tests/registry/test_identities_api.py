"""Issuing, reading, changing and retiring identities over the HTTP API."""

from __future__ import annotations

from registry.identifiers import EntityType, new_id
from tests.registry.conftest import assert_problem, create


def test_an_identity_is_issued_read_and_listed(client):
    meter = create(
        client,
        type="meter",
        address={"state": "in-mh", "discom": "MSEDCL", "pincode": "411001"},
        attributes={"manufacturer": "L&T", "phase": 3, "kind": "smart"},
    )
    assert meter["id"].startswith("MTR-")
    assert meter["address"]["state"] == "IN-MH"
    fetched = client.get(f"/identities/{meter['id'].lower().replace('-', '')}")
    assert fetched.status_code == 200
    assert fetched.json() == meter
    listed = client.get("/identities", params={"type": "meter", "state": "IN-MH"}).json()
    assert [i["id"] for i in listed["items"]] == [meter["id"]]


def test_malformed_identifier_is_refused_before_lookup(client):
    good = str(new_id(EntityType.METER))
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert_problem(client.get(f"/identities/{typo}"), 400, "invalid-identifier")
    assert_problem(client.get("/identities/not-an-id"), 400, "invalid-identifier")
    assert_problem(client.get(f"/identities/XYZ{good[4:]}"), 400, "unknown-entity-type")
    assert_problem(client.get(f"/identities/{good}"), 404, "identity-not-found")


def test_unknown_type_and_wrong_attributes_are_refused_and_nothing_is_written(client):
    assert_problem(client.post("/identities", json={"type": "windmill"}), 422, "invalid-request")
    body = assert_problem(
        client.post(
            "/identities",
            json={"type": "meter", "attributes": {"phase": 2, "colour": "blue"}},
        ),
        422,
        "invalid-attributes",
    )
    assert {e["location"] for e in body["errors"]} == {"phase", "colour"}
    assert client.get("/identities").json()["items"] == []


def test_personal_data_never_enters_identities(client):
    response = client.post(
        "/identities",
        json={"type": "connection", "address": {"circle": "Call 9876543210"}},
    )
    assert_problem(response, 422, "invalid-request")
    response = client.post(
        "/identities",
        json={
            "type": "meter",
            "legacy_ids": [{"scheme": "aadhaar", "scope": "UIDAI", "value": "234123412346"}],
        },
    )
    assert_problem(response, 422, "invalid-request")
    assert client.get("/identities").json()["items"] == []


def test_personal_record_is_kept_apart_and_only_for_consumers(client):
    consumer = create(
        client, type="consumer", personal={"name": "Asha Patil", "phone": "+91 98765 43210"}
    )
    assert "personal" not in consumer
    assert "Asha" not in str(consumer)
    assert client.get(f"/identities/{consumer['id']}").json() == consumer
    personal = client.get(f"/identities/{consumer['id']}/personal").json()
    assert personal["name"] == "Asha Patil"
    meter = create(client, type="meter")
    assert_problem(
        client.put(f"/identities/{meter['id']}/personal", json={"name": "X"}),
        404,
        "identity-not-found",
    )
    assert_problem(
        client.post("/identities", json={"type": "meter", "personal": {"name": "Y"}}),
        422,
        "invalid-request",
    )


def test_idempotency_key_returns_the_first_answer_and_refuses_a_different_body(client):
    body = {"type": "feeder", "attributes": {"voltage_kv": 11}}
    first = client.post("/identities", json=body, headers={"Idempotency-Key": "k-1"})
    again = client.post("/identities", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(client.get("/identities").json()["items"]) == 1
    other = client.post("/identities", json={"type": "feeder"}, headers={"Idempotency-Key": "k-1"})
    assert_problem(other, 409, "idempotency-key-reused")
    assert len(client.get("/identities").json()["items"]) == 1


def test_a_move_changes_the_address_not_the_identifier(client):
    consumer = create(client, type="consumer", address={"state": "IN-MH", "pincode": "411001"})
    moved = client.patch(
        f"/identities/{consumer['id']}", json={"address": {"state": "IN-KA", "pincode": "560001"}}
    )
    assert moved.status_code == 200
    assert moved.json()["id"] == consumer["id"]
    assert moved.json()["address"]["state"] == "IN-KA"
    history = client.get(f"/identities/{consumer['id']}/history").json()["items"]
    assert [e["kind"] for e in history] == ["created", "updated"]


def test_a_retired_identity_is_kept_and_takes_no_new_relations(client):
    feeder = create(client, type="feeder")
    dt = create(client, type="distribution_transformer")
    retired = client.delete(f"/identities/{feeder['id']}")
    assert retired.json()["status"] == "retired"
    assert client.get(f"/identities/{feeder['id']}").json()["status"] == "retired"
    assert_problem(
        client.post(f"/identities/{dt['id']}/relations", json={"parent": feeder["id"]}),
        409,
        "identity-retired",
    )
    assert client.get(f"/identities/{dt['id']}/relations").json() == []


def test_pagination_walks_every_identity_once(client):
    created = {create(client, type="meter")["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"type": "meter", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/identities", params=params).json()
        seen.extend(i["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_a_cursor_cannot_be_reused_for_another_query_or_forged(client):
    for _ in range(3):
        create(client, type="meter")
    cursor = client.get("/identities", params={"type": "meter", "limit": 1}).json()["next_cursor"]
    assert_problem(
        client.get("/identities", params={"type": "feeder", "cursor": cursor}),
        400,
        "invalid-cursor",
    )
    assert_problem(client.get("/identities", params={"cursor": "garbage!"}), 400, "invalid-cursor")


def test_every_problem_type_is_documented_by_the_service(client):
    listed = {p["type"] for p in client.get("/problems").json()}
    assert "/problems/invalid-identifier" in listed
    doc = client.get("/problems/duplicate-legacy-id").json()
    assert doc["status"] == 409
    assert doc["description"]
