"""The gate's entry point for a MeterDataRequest carried inside a message whose sender a
transport already authenticated (a Beckn receiver verified its signature): the verified
caller stands in for the body signature, and every other step still runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from consent.errors import ConsentNotFound, SignatureInvalid
from consent.gate import ConsentGate
from tests.schemas import oracle

from .conftest import APP, DAY0, LENDER, meter_data_request


def _approved(network) -> str:
    asked = network.request_consent()
    assert asked.status_code == 201, asked.text
    consent_id = str(asked.json()["id"])
    first, last = DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)
    approved = network.consumer_post(
        consent_id,
        "approve",
        {
            "data_types": ["interval_consumption"],
            "granularity": "daily",
            "date_range": {"from": first.isoformat(), "to": last.isoformat()},
        },
    )
    assert approved.status_code == 200, approved.text
    return consent_id


def test_an_authenticated_caller_gets_exactly_its_consented_slice(network):
    consent_id = _approved(network)
    gate: ConsentGate = network.discom_app.state.gate
    body = json.dumps(
        meter_data_request(
            consent=consent_id, start=DAY0 + timedelta(days=1), days=2, readings=["kWh imp block"]
        )
    ).encode()

    served = gate.serve_authenticated(body, APP)

    assert served.consent_id == consent_id
    assert oracle.official_errors(served.payload) == []
    assert [row["id"] for row in served.payload[1]["intervals"]] == [0, 1]
    assert set(served.steps) == {
        "parse", "caller", "artefact", "scope", "holder", "policy", "ledger", "slice"
    }  # fmt: skip


def test_a_mismatched_caller_is_refused_and_nothing_is_read(network):
    consent_id = _approved(network)
    gate: ConsentGate = network.discom_app.state.gate
    body = json.dumps(
        meter_data_request(consent=consent_id, start=DAY0 + timedelta(days=1), days=2)
    ).encode()

    def accesses() -> int:
        trail = network.manager.audit_for(
            network.consumer, accesses_only=True, after=None, limit=1000
        )
        return len(trail)

    before = accesses()

    # Another registered app (authenticated as itself) names the advisor's consent.
    with pytest.raises(ConsentNotFound):
        gate.serve_authenticated(body, LENDER)
    # No caller at all is no authentication.
    with pytest.raises(SignatureInvalid):
        gate.serve_authenticated(body, "")
    assert accesses() == before  # refused before the ledger: no access recorded
    # The consent's own app still gets its slice, and that one is counted.
    assert gate.serve_authenticated(body, APP).consent_id == consent_id
    assert accesses() == before + 1
