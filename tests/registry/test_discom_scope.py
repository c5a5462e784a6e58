"""Registry writes are scoped per discom (issue 15 review): every discom holds
``registry:write``, and each may write only its own records. Each test performs the
attack (BESCOM's token against MSEDCL's consumers, meters and topology, through every
write door and the bulk import), expects a 403 ``foreign-discom`` problem (or, in a
non-atomic import, the row refused in the report), and proves nothing changed: the
registry's whole export, personal data included, is byte for byte what it was. The
same writes by MSEDCL itself succeed, so a refusal is never an accident."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.registry.conftest import assert_problem
from tests.tokens import DISCOM_REGISTRY, TestIssuer, discom_writer

AUDIENCE = "registry.test"
MH = {"state": "IN-MH", "discom": "MSEDCL"}
KA = {"state": "IN-KA", "discom": "BESCOM"}


@pytest.fixture
def issuer(client: TestClient) -> TestIssuer:
    token: TestIssuer = client.app.state.test_token_issuer  # type: ignore[attr-defined]
    return token


@pytest.fixture
def msedcl(issuer: TestIssuer) -> dict[str, str]:
    return discom_writer(issuer, AUDIENCE, "MSEDCL")


@pytest.fixture
def bescom(issuer: TestIssuer) -> dict[str, str]:
    return discom_writer(issuer, AUDIENCE, "BESCOM")


def _make(client: TestClient, who: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/identities", json=body, headers=who)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def grids(client: TestClient, msedcl: dict[str, str], bescom: dict[str, str]) -> dict[str, str]:
    """Each discom's DT, consumer, connection and meter, each made by that discom."""
    ids: dict[str, str] = {}
    for code, who, address in (("mh", msedcl, MH), ("ka", bescom, KA)):
        dt = _make(client, who, type="distribution_transformer", address=address,
                   legacy_ids=[{"scheme": "gis_asset", "scope": address["discom"],
                                "value": f"DT-{code}"}])  # fmt: skip
        consumer = _make(
            client, who, type="consumer", address=address, personal={"name": f"Consumer {code}"},
            legacy_ids=[{"scheme": "discom_consumer_number", "scope": address["discom"],
                         "value": f"C-{code}"}],
        )  # fmt: skip
        connection = _make(client, who, type="connection", address=address,
                           legacy_ids=[{"scheme": "sap_isu_installation",
                                        "scope": address["discom"], "value": f"I-{code}"}],
                           parents={"distribution_transformer": {"id": dt["id"]},
                                    "consumer": {"id": consumer["id"]}})  # fmt: skip
        meter = _make(client, who, type="meter", address=address,
                      parents={"connection": {"id": connection["id"]}})  # fmt: skip
        ids.update({
            f"{code}_dt": dt["id"], f"{code}_consumer": consumer["id"],
            f"{code}_connection": connection["id"], f"{code}_meter": meter["id"],
        })  # fmt: skip
    return ids


def _snapshot(client: TestClient, ids: dict[str, str]) -> tuple[str, list[Any]]:
    """Everything the registry holds (the operator's export) and every audit trail."""
    export = client.get("/export")
    assert export.status_code == 200, export.text
    trails = [client.get(f"/identities/{i}/history").json() for i in sorted(ids.values())]
    return export.text, trails


def _refused(response: Any) -> dict[str, Any]:
    return assert_problem(response, 403, "foreign-discom")


def test_another_discom_cannot_create_patch_retire_map_relate_or_set_personal_data(
    client: TestClient, grids: dict[str, str], bescom: dict[str, str]
) -> None:
    before = _snapshot(client, grids)
    mh_consumer, mh_meter = grids["mh_consumer"], grids["mh_meter"]
    attacks = [
        client.post("/identities", json={"type": "meter", "address": MH}, headers=bescom),
        client.patch(f"/identities/{mh_meter}", json={"attributes": {"phase": 3}},
                     headers=bescom),
        client.patch(f"/identities/{mh_meter}", json={"address": KA}, headers=bescom),
        client.delete(f"/identities/{mh_meter}", headers=bescom),
        client.post(f"/identities/{mh_meter}/legacy-ids",
                    json={"scheme": "meter_serial", "scope": "SECURE", "value": "X1"},
                    headers=bescom),
        # BESCOM's own meter under MSEDCL's connection, and MSEDCL's meter under BESCOM's.
        client.post(f"/identities/{grids['ka_meter']}/relations",
                    json={"parent": grids["mh_connection"]}, headers=bescom),
        client.post(f"/identities/{mh_meter}/relations",
                    json={"parent": grids["ka_connection"]}, headers=bescom),
        client.put(f"/identities/{mh_consumer}/personal", json={"name": "Someone Else"},
                   headers=bescom),
        # Its own identity handed over to MSEDCL, or made a record of no discom.
        client.patch(f"/identities/{grids['ka_meter']}", json={"address": MH}, headers=bescom),
        client.patch(f"/identities/{grids['ka_meter']}", json={"address": {"state": "IN-KA"}},
                     headers=bescom),
    ]  # fmt: skip
    for n, response in enumerate(attacks):
        body = _refused(response)
        assert "BESCOM" in body["detail"], (n, body)
    # A new identity that names no discom is nobody's: a scoped writer may not make it.
    body = _refused(client.post("/identities", json={"type": "feeder"}, headers=bescom))
    assert "names no discom" in body["detail"]
    assert _snapshot(client, grids) == before
    assert client.get(f"/identities/{mh_consumer}/personal").json()["name"] == "Consumer mh"


def test_the_owner_may_do_what_the_other_discom_may_not(
    client: TestClient, grids: dict[str, str], msedcl: dict[str, str]
) -> None:
    mh_meter = grids["mh_meter"]
    ok = [
        client.post("/identities", json={"type": "meter", "address": MH}, headers=msedcl),
        client.patch(f"/identities/{mh_meter}", json={"attributes": {"phase": 3}},
                     headers=msedcl),
        client.post(f"/identities/{mh_meter}/legacy-ids",
                    json={"scheme": "meter_serial", "scope": "SECURE", "value": "X1"},
                    headers=msedcl),
        client.put(f"/identities/{grids['mh_consumer']}/personal", json={"name": "Asha"},
                   headers=msedcl),
        client.delete(f"/identities/{mh_meter}", headers=msedcl),
    ]  # fmt: skip
    assert [r.status_code for r in ok] == [201, 200, 201, 200, 200], [r.text for r in ok]


def test_a_replayed_idempotency_key_gives_another_discom_nothing(
    client: TestClient, grids: dict[str, str], msedcl: dict[str, str], bescom: dict[str, str]
) -> None:
    body = {"type": "meter", "address": MH}
    first = client.post("/identities", json=body, headers={**msedcl, "Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    before = _snapshot(client, grids)
    _refused(client.post("/identities", json=body, headers={**bescom, "Idempotency-Key": "k-1"}))
    assert _snapshot(client, grids) == before


def test_a_writer_tied_to_no_discom_writes_nothing(
    client: TestClient, grids: dict[str, str], issuer: TestIssuer
) -> None:
    before = _snapshot(client, grids)
    untied = issuer.headers(AUDIENCE, DISCOM_REGISTRY, roles=("discom",))
    for response in (
        client.post("/identities", json={"type": "meter", "address": MH}, headers=untied),
        client.delete(f"/identities/{grids['mh_meter']}", headers=untied),
        _post_rows(client, [{"type": "meter", **MH}], untied),
    ):
        assert_problem(response, 403, "forbidden")
    assert _snapshot(client, grids) == before


def _post_rows(
    client: TestClient, rows: list[dict[str, Any]], who: dict[str, str], **params: Any
) -> Any:
    body = "".join(json.dumps(row) + "\n" for row in rows)
    return client.post("/imports", content=body.encode(), params=params,
                       headers={**who, "content-type": "application/x-ndjson"})  # fmt: skip


FOREIGN_ROWS = [
    # sync of MSEDCL's consumer (found by its legacy number) with a new attribute
    {"type": "consumer", "legacy_scheme": "discom_consumer_number", "legacy_scope": "MSEDCL",
     "legacy_id": "C-mh", "attr.kind": "organisation"},
    # a new MSEDCL meter made by BESCOM
    {"type": "meter", "legacy_scheme": "meter_serial", "legacy_scope": "SECURE",
     "legacy_id": "FOREIGN-1", "state": "IN-MH", "discom": "MSEDCL"},
    # a BESCOM meter put under MSEDCL's connection
    {"type": "meter", "legacy_scheme": "meter_serial", "legacy_scope": "SECURE",
     "legacy_id": "FOREIGN-2", "parent.connection": "sap_isu_installation:MSEDCL:I-mh",
     "state": "IN-KA", "discom": "BESCOM"},
]  # fmt: skip
OWN_ROWS = [
    {"type": "meter", "legacy_scheme": "meter_serial", "legacy_scope": "SECURE",
     "legacy_id": f"KA-{n}", "parent.connection": "sap_isu_installation:BESCOM:I-ka",
     "state": "IN-KA", "discom": "BESCOM"}
    for n in range(3)
]  # fmt: skip


def _meters(client: TestClient, discom: str) -> int:
    page = client.get("/identities", params={"type": "meter", "discom": discom, "limit": 100})
    return len(page.json()["items"])


def test_an_import_refuses_each_foreign_row_and_keeps_only_its_own(
    client: TestClient, grids: dict[str, str], bescom: dict[str, str], msedcl: dict[str, str]
) -> None:
    """Non-atomic (the default): as with any bad row, each foreign row is reported by
    line with the reason ``foreign-discom`` (field ``discom``) and not written; the
    writer's own rows are kept."""
    mh = client.get(f"/identities/{grids['mh_consumer']}").json()
    rows = [OWN_ROWS[0], *FOREIGN_ROWS, *OWN_ROWS[1:]]
    report = _post_rows(client, rows, bescom)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["created"], body["failed"]) == (6, 3, 3)
    assert [(e["line"], e.get("field")) for e in body["errors"]] == [
        (2, "discom"), (3, "discom"), (4, "discom")]  # fmt: skip
    assert all("BESCOM" in e["reason"] for e in body["errors"])
    assert client.get(f"/identities/{grids['mh_consumer']}").json() == mh
    assert _meters(client, "MSEDCL") == 1
    assert _meters(client, "BESCOM") == 4
    children = client.get(f"/identities/{grids['mh_connection']}/children").json()
    assert [c["child"] for c in children] == [grids["mh_meter"]]
    # The report is BESCOM's: MSEDCL may not read it.
    job = body["job_id"]
    assert client.get(f"/imports/{job}", headers=bescom).status_code == 200
    _refused(client.get(f"/imports/{job}", headers=msedcl))


def test_an_atomic_import_with_one_foreign_row_is_rejected_whole(
    client: TestClient, grids: dict[str, str], bescom: dict[str, str]
) -> None:
    before = _snapshot(client, grids)
    for foreign in FOREIGN_ROWS:
        response = _post_rows(client, [*OWN_ROWS, foreign], bescom, atomic="true")
        body = assert_problem(response, 422, "import-rejected")
        assert [(e["line"], e.get("field")) for e in body["report"]["errors"]] == [(4, "discom")]
    assert _snapshot(client, grids) == before
    # Without the foreign row the same file goes in whole.
    assert _post_rows(client, OWN_ROWS, bescom, atomic="true").json()["created"] == 3
