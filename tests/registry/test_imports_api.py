"""Bulk import: streamed, idempotent, a per-row report, and nothing half-done."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from registry.app import RegistrySettings, create_app
from tests.registry.conftest import assert_problem
from tests.tokens import authorise_registry

HEADER = (
    "type,legacy_scheme,legacy_scope,legacy_id,state,discom,pincode,"
    "attr.category,attr.sanctioned_load_kw,attr.capacity_kva,parent.feeder,"
    "parent.distribution_transformer,parent.connection,personal.name\n"
)
GOOD = [
    "feeder,scada_tag,MSEDCL,PUNE-F11,IN-MH,MSEDCL,,,,,,,,",
    "distribution_transformer,gis_asset,MSEDCL,DT-0001,IN-MH,MSEDCL,,,,100,scada_tag:MSEDCL:PUNE-F11,,,",
    "consumer,discom_consumer_number,MSEDCL,C-170010012345,IN-MH,MSEDCL,411001,,,,,,,Asha Patil",
    "connection,sap_isu_installation,MSEDCL,4000123,IN-MH,MSEDCL,411001,domestic,5,,,gis_asset:MSEDCL:DT-0001,,",
    "meter,meter_serial,SECURE,SM0001,IN-MH,MSEDCL,411001,,,,,,sap_isu_installation:MSEDCL:4000123,",
]
BROKEN = [
    "meter,meter_serial,SECURE,SM0002,IN-ZZ,MSEDCL,,,,,,,,",  # unknown state
    # a negative sanctioned load:
    "connection,sap_isu_installation,MSEDCL,4000999,IN-MH,MSEDCL,,domestic,-1,,,,,",
    # a parent that is nowhere:
    "meter,meter_serial,SECURE,SM0003,IN-MH,MSEDCL,,,,,,,sap_isu_installation:MSEDCL:NOPE,",
    "windmill,gis_asset,MSEDCL,W1,IN-MH,,,,,,,,,",  # unknown type
    "meter,meter_serial,SECURE,SM0004,IN-MH,MSEDCL,,,,,,,,Ravi",  # personal data on a meter
]


def post_csv(client, text, **params):
    return client.post(
        "/imports", content=text.encode(), headers={"content-type": "text/csv"}, params=params
    )


def open_parents(client, ies_id):
    relations = client.get(f"/identities/{ies_id}/relations").json()
    return sorted((r["parent"], r["parent_type"]) for r in relations if r["valid_to"] is None)


def count(client, **params):
    return len(client.get("/identities", params={"limit": 1000, **params}).json()["items"])


def test_a_file_with_broken_rows_keeps_the_good_ones_and_reports_each_bad_one(client):
    text = HEADER + "\n".join(GOOD[:3] + BROKEN + GOOD[3:]) + "\n"
    report = post_csv(client, text)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["created"], body["failed"]) == (10, 5, 5)
    assert [e["line"] for e in body["errors"]] == [5, 6, 7, 8, 9]
    reasons = " | ".join(e["reason"] for e in body["errors"])
    assert "IN-ZZ" in reasons
    assert "greater than 0" in reasons
    assert "not mapped" in reasons
    assert "windmill" in reasons
    assert "consumers" in reasons
    assert count(client) == 5
    meter = client.get(
        "/resolve", params={"scheme": "meter_serial", "scope": "SECURE", "value": "SM0001"}
    )
    connection = client.get(
        "/resolve", params={"scheme": "sap_isu_installation", "scope": "MSEDCL", "value": "4000123"}
    )
    relations = client.get(f"/identities/{meter.json()['ies_id']}/relations").json()
    assert relations[0]["parent"] == connection.json()["ies_id"]


def test_re_running_the_same_file_changes_nothing(client):
    text = HEADER + "\n".join(GOOD) + "\n"
    first = post_csv(client, text).json()
    ids = sorted(i["id"] for i in client.get("/identities").json()["items"])
    second = post_csv(client, text).json()
    assert first["created"] == 5
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 5)
    assert sorted(i["id"] for i in client.get("/identities").json()["items"]) == ids


def test_a_changed_row_on_re_run_updates_the_identity_in_place(client):
    post_csv(client, HEADER + "\n".join(GOOD) + "\n")
    changed = GOOD[3].replace(",domestic,5,", ",commercial,7.5,")
    body = post_csv(client, HEADER + changed + "\n").json()
    assert (body["updated"], body["created"]) == (1, 0)
    ies_id = client.get(
        "/resolve", params={"scheme": "sap_isu_installation", "scope": "MSEDCL", "value": "4000123"}
    ).json()["ies_id"]
    attributes = client.get(f"/identities/{ies_id}").json()["attributes"]
    assert attributes == {"category": "commercial", "sanctioned_load_kw": 7.5}


def test_an_atomic_import_with_one_broken_row_writes_nothing(client):
    text = HEADER + "\n".join(GOOD + BROKEN[:1]) + "\n"
    response = post_csv(client, text, atomic="true")
    body = assert_problem(response, 422, "import-rejected")
    assert body["report"]["failed"] == 1
    assert body["report"]["created"] == 0
    assert count(client) == 0


def test_wrong_columns_are_refused_before_any_row(client):
    assert_problem(post_csv(client, "kind,serial\nmeter,1\n"), 400, "import-format-error")
    assert_problem(
        post_csv(client, "type,aadhaar\nconsumer,234123412346\n"), 400, "import-format-error"
    )
    assert_problem(post_csv(client, "type,colour\nmeter,red\n"), 400, "import-format-error")
    assert count(client) == 0


def test_a_file_that_is_not_utf8_is_refused_whole(client):
    payload = (
        HEADER + "\n".join(GOOD) + "\n"
    ).encode() + b"meter,meter_serial,X,\xff\xfe,,,,,,,,,,\n"
    response = client.post("/imports", content=payload, headers={"content-type": "text/csv"})
    assert_problem(response, 400, "import-format-error")
    assert count(client) == 0


def test_an_unknown_content_type_is_refused(client):
    assert_problem(
        client.post("/imports", content=b"{}", headers={"content-type": "application/json"}),
        400,
        "import-format-error",
    )


def test_ndjson_import_reports_lines_that_are_not_objects(client):
    lines = [
        {"type": "feeder", "legacy_scheme": "scada_tag", "legacy_scope": "D", "legacy_id": "F1"},
        "not json",
        [1, 2],
        {
            "type": "feeder",
            "legacy_scheme": "scada_tag",
            "legacy_scope": "D",
            "legacy_id": "F2",
            "x": 1,
        },
        {"type": "feeder", "legacy_scheme": "scada_tag", "legacy_scope": "D", "legacy_id": "F3"},
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    response = client.post(
        "/imports", content=text, headers={"content-type": "application/x-ndjson"}
    )
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 3)
    assert [e["line"] for e in body["errors"]] == [2, 3, 4]


def test_export_re_imports_into_another_registry_with_the_same_identifiers(client, make_database):
    post_csv(client, HEADER + "\n".join(GOOD) + "\n")
    exported = client.get("/export").text
    original = {i["id"]: i for i in client.get("/identities").json()["items"]}
    other_app = create_app(
        RegistrySettings(database_url=make_database("registry:migrations"), migrate_on_start=False)
    )
    with TestClient(other_app) as other:
        authorise_registry(other_app, other)
        report = other.post(
            "/imports", content=exported, headers={"content-type": "application/x-ndjson"}
        ).json()
        assert report["failed"] == 0, report["errors"]
        copied = {i["id"]: i for i in other.get("/identities").json()["items"]}
        assert copied.keys() == original.keys()
        for ies_id, identity in original.items():
            assert copied[ies_id]["address"] == identity["address"]
            assert copied[ies_id]["attributes"] == identity["attributes"]
            assert open_parents(other, ies_id) == open_parents(client, ies_id)
    other_app.state.engine.dispose()


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_export_formats_stream(client, fmt):
    post_csv(client, HEADER + "\n".join(GOOD) + "\n")
    response = client.get("/export", params={"format": fmt, "type": "meter"})
    assert response.status_code == 200
    lines = [line for line in response.text.splitlines() if line]
    assert len(lines) == (2 if fmt == "csv" else 1)


def test_a_row_that_only_relates_an_entity_keeps_its_address_and_attributes(client):
    post_csv(client, HEADER + "\n".join(GOOD) + "\n")
    link = (
        "type,legacy_scheme,legacy_scope,legacy_id,parent.distribution_transformer\n"
        "connection,sap_isu_installation,MSEDCL,4000123,gis_asset:MSEDCL:DT-0001\n"
    )
    feeder2 = "type,legacy_scheme,legacy_scope,legacy_id\nfeeder,scada_tag,MSEDCL,PUNE-F12\n"
    post_csv(client, feeder2)
    move = (
        "type,legacy_scheme,legacy_scope,legacy_id,parent.feeder,valid_from\n"
        "distribution_transformer,gis_asset,MSEDCL,DT-0001,scada_tag:MSEDCL:PUNE-F12,"
        "2099-01-01T00:00:00+05:30\n"
    )
    assert post_csv(client, link).json()["unchanged"] == 1  # already under that DT
    body = post_csv(client, move).json()
    assert body["updated"] == 1, body
    dt = client.get(
        "/resolve", params={"scheme": "gis_asset", "scope": "MSEDCL", "value": "DT-0001"}
    ).json()["ies_id"]
    identity = client.get(f"/identities/{dt}").json()
    assert identity["attributes"] == {"capacity_kva": 100}
    assert identity["address"]["state"] == "IN-MH"
    assert [r["valid_to"] is None for r in client.get(f"/identities/{dt}/relations").json()] == [
        False,
        True,
    ]


def test_an_import_can_date_rows_that_carry_no_date(client):
    since = "2015-04-01T00:00:00+05:30"
    post_csv(client, HEADER + "\n".join(GOOD) + "\n", valid_from=since)
    meter = client.get(
        "/resolve", params={"scheme": "meter_serial", "scope": "SECURE", "value": "SM0001"}
    ).json()
    assert meter["valid_from"] == "2015-03-31T18:30:00Z"
    relations = client.get(f"/identities/{meter['ies_id']}/relations").json()
    assert relations[0]["valid_from"] == "2015-03-31T18:30:00Z"
    connection = relations[0]["parent"]
    on_day = client.get(
        "/identities", params={"under": connection, "type": "meter", "on": "2020-01-01"}
    )
    assert [i["id"] for i in on_day.json()["items"]] == [meter["ies_id"]]
