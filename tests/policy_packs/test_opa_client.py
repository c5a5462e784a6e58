"""opa-python-client against this service over real HTTP on 127.0.0.1: the same client
code that talks to a real OPA gets the same decision contract as the embedded engine."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from opa_client import OpaClient

from policy_packs.app import create_app
from policy_packs.decision import decide_with
from policy_packs.engine import OpaEngine
from tests.tokens import TestIssuer

from .conftest import MIGRATIONS, make_settings


def test_opa_python_client_reads_decisions_and_policies(live_server, catalogue, engine):
    url = urlsplit(live_server)
    client = OpaClient(host=url.hostname, port=url.port)
    try:
        assert client.check_health() is True
        pack = catalogue.get("in-mh", "2.0.0")
        case = next(c for c in pack.cases if c.domain == "der_connection" and not c.allow)
        answer = client.query_rule(
            input_data=case.input, package_path="ies.mh.v2.der_connection", rule_name="decision"
        )
        assert answer == {
            "result": engine.document(pack, "ies.mh.v2.der_connection.decision", case.input)[1]
        }
        assert "in-mh/2.0.0/policy/der_connection.rego" in client.get_policies_list()
        info = client.get_policies_info()["in-mh/2.0.0/policy/der_connection.rego"]
        assert info["path"].endswith("/v1/data/ies/mh/v2/der_connection")
    finally:
        client.close_connection()


def test_the_opa_engine_gives_the_embedded_engines_contract_for_every_case(
    live_server, catalogue, engine
):
    remote = OpaEngine(live_server)
    try:
        for pack in catalogue.packs:
            for case in pack.cases:
                kwargs = {"jurisdiction": pack.manifest.jurisdiction, "as_of": dt.date(2025, 6, 1)}
                embedded = decide_with(pack, engine, case.domain, case.input, **kwargs)
                over_http = decide_with(pack, remote, case.domain, case.input, **kwargs)
                assert over_http == embedded, (pack.key, case.name)
    finally:
        remote.close()


def test_the_service_decides_through_opa_when_ies_opa_url_is_set(live_server, make_database):
    app = create_app(make_settings(make_database(MIGRATIONS), opa_url=live_server))
    body = {
        "jurisdiction": "IN-GJ",
        "domain": "consent",
        "as_of": "2025-06-01",
        "input": {
            "purpose": "marketing",
            "data_type": "meter_data",
            "granularity": "daily",
            "date_range": {"from": "2025-01-01", "to": "2025-01-31"},
            "data_life_days": 30,
            "requested_on": "2025-06-01",
            "notice_given": True,
        },
    }
    token = TestIssuer()
    token.install(app, "regulator.test")
    with TestClient(app) as client:
        # the regulator's own tooling: it logs, and reads its decision log (its back office)
        client.headers.update(
            token.headers("regulator.test", ["policy:evaluate"], subject="regulator.test")
        )
        decided = client.post("/policy/decisions", json=body).json()
        logged = client.get(f"/policy/decisions/{decided['id']}").json()
    app.state.engine.dispose()
    assert decided["engine"] == "opa"
    assert logged == decided
    assert [v["code"] for v in decided["violations"]] == ["CON-001"]
