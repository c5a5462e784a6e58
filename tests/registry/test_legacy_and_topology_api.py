"""Legacy identifiers resolve both ways; the topology answers questions about the past."""

from __future__ import annotations

from tests.registry.conftest import assert_problem, create


def legacy(scheme, scope, value):
    return {"scheme": scheme, "scope": scope, "value": value}


def test_many_legacy_identifiers_resolve_to_one_identity_and_back(client):
    connection = create(
        client,
        type="connection",
        legacy_ids=[
            legacy("discom_consumer_number", "MSEDCL", "170010012345"),
            legacy("sap_isu_installation", "MSEDCL", "4000123"),
        ],
    )
    for scheme, value in [
        ("discom_consumer_number", "170010012345"),
        ("sap_isu_installation", "4000123"),
    ]:
        found = client.get("/resolve", params={"scheme": scheme, "scope": "msedcl", "value": value})
        assert found.status_code == 200
        assert found.json()["ies_id"] == connection["id"]
    back = client.get(f"/identities/{connection['id']}/legacy-ids").json()
    assert {m["legacy"]["value"] for m in back} == {"170010012345", "4000123"}


def test_a_legacy_identifier_maps_to_one_identity_and_a_duplicate_changes_nothing(client):
    meter = create(client, type="meter", legacy_ids=[legacy("meter_serial", "SECURE", "SM123")])
    response = client.post(
        "/identities",
        json={"type": "meter", "legacy_ids": [legacy("meter_serial", "secure", "sm123")]},
    )
    body = assert_problem(response, 409, "duplicate-legacy-id")
    assert body["existing"] == meter["id"]
    other = create(client, type="meter")
    assert_problem(
        client.post(
            f"/identities/{other['id']}/legacy-ids", json=legacy("meter_serial", "SECURE", "SM123")
        ),
        409,
        "duplicate-legacy-id",
    )
    assert client.get(f"/identities/{other['id']}/legacy-ids").json() == []
    assert len(client.get("/identities").json()["items"]) == 2


def test_unmapped_legacy_identifier_is_not_found(client):
    assert_problem(
        client.get("/resolve", params={"scheme": "meter_serial", "scope": "X", "value": "Y"}),
        404,
        "legacy-id-not-found",
    )


def test_relations_follow_the_network(client):
    meter = create(client, type="meter")
    feeder = create(client, type="feeder")
    assert_problem(
        client.post(f"/identities/{meter['id']}/relations", json={"parent": feeder["id"]}),
        422,
        "invalid-topology",
    )


def test_which_meters_were_on_a_feeder_on_a_given_day(client):
    substation = create(client, type="substation")
    since = "2025-06-01T00:00:00+05:30"
    f1 = create(
        client, type="feeder", parents={"substation": {"id": substation["id"]}}, valid_from=since
    )
    f2 = create(
        client, type="feeder", parents={"substation": {"id": substation["id"]}}, valid_from=since
    )
    dt = create(
        client,
        type="distribution_transformer",
        parents={"feeder": {"id": f1["id"]}},
        valid_from="2026-01-01T00:00:00+05:30",
    )
    conn = create(
        client,
        type="connection",
        parents={"distribution_transformer": {"id": dt["id"]}},
        valid_from="2026-01-01T00:00:00+05:30",
    )
    meter = create(
        client,
        type="meter",
        parents={"connection": {"id": conn["id"]}},
        valid_from="2026-01-01T00:00:00+05:30",
    )
    # The DT is re-fed from feeder 2 on 1 March: a reconfiguration, no identifier changes.
    moved = client.post(
        f"/identities/{dt['id']}/relations",
        json={"parent": f2["id"], "valid_from": "2026-03-01T00:00:00+05:30"},
    )
    assert moved.status_code == 201, moved.text

    def meters_on(feeder, day):
        page = client.get("/identities", params={"under": feeder["id"], "type": "meter", "on": day})
        assert page.status_code == 200, page.text
        return [i["id"] for i in page.json()["items"]]

    assert meters_on(f1, "2026-02-15") == [meter["id"]]
    assert meters_on(f2, "2026-02-15") == []
    assert meters_on(f1, "2026-03-05") == []
    assert meters_on(f2, "2026-03-05") == [meter["id"]]
    assert meters_on(f1, "2026-03-01") == []  # the move happened at the start of that day
    assert meters_on(f1, "2025-12-31") == []  # before anything was connected
    history = client.get(f"/identities/{dt['id']}/relations").json()
    assert [(r["parent"], r["valid_to"] is None) for r in history] == [
        (f1["id"], False),
        (f2["id"], True),
    ]
    assert meters_on(substation, "2026-02-15") == [meter["id"]]


def test_a_relation_cannot_be_moved_to_before_it_began(client):
    f1 = create(client, type="feeder")
    f2 = create(client, type="feeder")
    dt = create(
        client,
        type="distribution_transformer",
        parents={"feeder": {"id": f1["id"]}},
        valid_from="2026-05-01T00:00:00+00:00",
    )
    response = client.post(
        f"/identities/{dt['id']}/relations",
        json={"parent": f2["id"], "valid_from": "2026-04-01T00:00:00+00:00"},
    )
    assert_problem(response, 422, "invalid-topology")
    assert len(client.get(f"/identities/{dt['id']}/relations").json()) == 1


def test_naive_timestamps_are_refused(client):
    response = client.post(
        "/identities", json={"type": "feeder", "valid_from": "2026-01-01T00:00:00"}
    )
    assert_problem(response, 422, "invalid-request")


def test_one_consumer_number_may_name_the_holder_and_the_connection(client):
    # MSEDCL prints one consumer number that names both the account and the connection.
    number = legacy("discom_consumer_number", "MSEDCL", "170010012345")
    consumer = create(client, type="consumer", legacy_ids=[number])
    connection = create(client, type="connection", legacy_ids=[number])
    params = {"scheme": "discom_consumer_number", "scope": "MSEDCL", "value": "170010012345"}
    body = assert_problem(client.get("/resolve", params=params), 409, "ambiguous-legacy-id")
    assert body["candidates"] == sorted([consumer["id"], connection["id"]])
    for identity in (consumer, connection):
        found = client.get("/resolve", params={**params, "type": identity["type"]}).json()
        assert found["ies_id"] == identity["id"]
    assert_problem(
        client.post("/identities", json={"type": "connection", "legacy_ids": [number]}),
        409,
        "duplicate-legacy-id",
    )


def test_a_day_at_the_edge_of_the_calendar_is_refused_not_a_500(client):
    # Found by the OpenAPI fuzzer: 0001-01-01 in India is still year 0 in UTC.
    feeder = create(client, type="feeder", address={"state": "IN-MH", "discom": "MSEDCL"})
    for query in ({"on": "0001-01-01"}, {"at": "0001-01-01T00:00:00+05:30"}):
        response = client.get(f"/identities/{feeder['id']}/children", params=query)
        assert_problem(response, 422, "invalid-request")
