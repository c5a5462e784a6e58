"""Legacy billing/CIS extracts become registry bulk-import rows, mapped by config."""

# ruff: noqa: E501 - extract lines are kept whole, as the discoms write them

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters import cis
from adapters.errors import CisColumnsMissing
from registry import rows as registry_rows

MAPPINGS = Path(cis.__file__).parent / "mappings"

CSV = """CONSUMER_NO,CONSUMER_NAME,MOBILE_NO,TARIFF_CATEGORY,SANCTIONED_LOAD_KW,METER_SERIAL,METER_MAKE,PHASE,CIRCLE,DIVISION,SUBDIVISION,PINCODE
170010012345,Asha Patil,9800000001,LT-I(A),3,GNS1234567,Genus,1,Pune Urban,Rastapeth,Shivajinagar,411005
170010012346,Ravi Kulkarni,,LT-II(A),7.5,LNG7654321,L&G,3,Pune Urban,Rastapeth,Shivajinagar,411005
170010012347,Bad Row,,LT-99,3,HPL0000001,HPL,1,Pune Urban,Rastapeth,Shivajinagar,411005
170010012348,Another,,LT-I(A),three,HPL0000002,HPL,1,Pune Urban,Rastapeth,Shivajinagar,411005
"""

SAP = """ANLAGE;VERTRAG;VKONTO;NAME_ORG1;TEL_NUMBER;SMTP_ADDR;TARIFTYP;ZZ_SANC_LOAD;EINZDAT;SERNR;HERST;ZZ_MTR_TYPE;ZZ_SUBDIV;POST_CODE1;ZZ_LAT;ZZ_LON
4000123456;5000123456;110012345678;Meena R;9900000002;meena@example.in;LT2A;4000;20190401;SEC0001;Secure;SM;Jayanagar;560041;12.925;77.593
4000123457;5000123457;110012345678;Meena R;9900000002;meena@example.in;LT7;7400;20240115;SEC0002;Secure;NM;Jayanagar;560041;12.925;77.594
"""


def _import(text: str, mapping: str, tmp_path: Path) -> cis.CisImport:
    path = tmp_path / "extract.csv"
    path.write_text(text, encoding="utf-8")
    return cis.import_file(path, cis.load_mapping(MAPPINGS / mapping))


def test_plain_csv_gives_consumer_connection_and_meter_rows(tmp_path: Path) -> None:
    result = _import(CSV, "msedcl-csv.yaml", tmp_path)
    consumer, connection, meter = result.rows[:3]
    assert consumer == {
        "type": "consumer",
        "legacy_scheme": "discom_consumer_number",
        "legacy_scope": "MSEDCL",
        "legacy_id": "170010012345",
        "state": "IN-MH",
        "discom": "MSEDCL",
        "circle": "Pune Urban",
        "division": "Rastapeth",
        "subdivision": "Shivajinagar",
        "pincode": "411005",
        "personal.name": "Asha Patil",
        "personal.phone": "9800000001",
    }
    assert connection["attr.category"] == "domestic"
    assert connection["attr.sanctioned_load_kw"] == "3"
    assert connection["parent.consumer"] == "discom_consumer_number:MSEDCL:170010012345"
    assert "personal.name" not in connection
    assert (meter["legacy_scope"], meter["parent_type"], meter["parent_legacy_id"]) == (
        "Genus",
        "connection",
        "170010012345",
    )


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_imported(tmp_path: Path) -> None:
    result = _import(CSV, "msedcl-csv.yaml", tmp_path)
    assert len(result.rows) == 6
    assert [(e.extensions["line"], e.extensions["column"]) for e in result.errors] == [
        (4, "TARIFF_CATEGORY"),
        (5, "SANCTIONED_LOAD_KW"),
    ]
    assert "extract.csv:4" in result.errors[0].detail


def test_wrong_columns_are_refused_before_any_row(tmp_path: Path) -> None:
    wrong = CSV.replace("METER_SERIAL", "METER_NO", 1)
    with pytest.raises(CisColumnsMissing) as caught:
        _import(wrong, "msedcl-csv.yaml", tmp_path)
    assert caught.value.extensions["missing"] == ["METER_SERIAL"]
    assert caught.value.extensions["line"] == 1


def test_sap_isu_extract_maps_installation_contract_and_units(tmp_path: Path) -> None:
    result = _import(SAP, "bescom-sap-isu.yaml", tmp_path)
    assert result.errors == []
    types = [r["type"] for r in result.rows]
    assert types == ["consumer", "connection", "meter", "connection", "meter"]  # one consumer
    connection = result.rows[3]
    assert connection["legacy_scheme"] == "sap_isu_installation"
    assert connection["attr.sanctioned_load_kw"] == "7.4"  # W in the extract
    assert connection["attr.category"] == "ev_charging"
    assert connection["also_known_as"] == "sap_isu_contract:BESCOM:5000123457"
    assert connection["valid_from"] == "2024-01-15T00:00:00+05:30"
    assert result.rows[4]["attr.kind"] == "bidirectional"


def test_rows_are_accepted_by_the_registry_bulk_import_parser(tmp_path: Path) -> None:
    rows = _import(SAP, "bescom-sap-isu.yaml", tmp_path).rows
    rows += _import(CSV, "msedcl-csv.yaml", tmp_path).rows
    parsed = list(registry_rows.parse_rows((i + 2, dict(r)) for i, r in enumerate(rows)))
    errors = [item for _, item in parsed if isinstance(item, registry_rows.RowError)]
    assert errors == []
    assert len(parsed) == len(rows)


def test_cis_rows_import_into_a_real_registry_with_the_topology_and_personal_data_apart(
    tmp_path: Path, make_database
) -> None:
    from fastapi.testclient import TestClient

    from registry.app import RegistrySettings, create_app
    from tests.tokens import authorise_registry

    rows = _import(SAP, "bescom-sap-isu.yaml", tmp_path).rows
    ndjson = "\n".join(json.dumps(r) for r in rows) + "\n"
    url = make_database("registry:migrations")
    app = create_app(RegistrySettings(database_url=url, migrate_on_start=False))
    with TestClient(app) as client:
        authorise_registry(app, client)  # the discom's machine token: registry writes
        headers = {"content-type": "application/x-ndjson"}
        report = client.post("/imports", content=ndjson, headers=headers).json()
        assert report["failed"] == 0, report["errors"]
        assert report["created"] == 5  # one consumer, two connections, two meters
        again = client.post("/imports", content=ndjson, headers=headers).json()
        assert (again["created"], again["updated"]) == (0, 0)

        def resolve(scheme: str, value: str) -> str:
            params = {"scheme": scheme, "scope": "BESCOM", "value": value}
            response = client.get("/resolve", params=params)
            assert response.status_code == 200, response.text
            return str(response.json()["ies_id"])

        connection = resolve("sap_isu_installation", "4000123457")
        assert resolve("sap_isu_contract", "5000123457") == connection
        relations = client.get(f"/identities/{connection}/relations").json()
        consumer = next(r["parent"] for r in relations if r["parent_type"] == "consumer")
        assert client.get(f"/identities/{consumer}/personal").json()["name"] == "Meena R"
        assert "Meena" not in client.get(f"/identities/{consumer}").text
        meters = client.get("/identities", params={"under": connection, "type": "meter"}).json()
        assert len(meters["items"]) == 1
    app.state.engine.dispose()
