"""``ies sandbox --check`` plays the network end to end over real HTTP and says so; what
crossed the network is held against the official IES schemas in ../shared."""

from __future__ import annotations

import json
import re

import pytest

from credentials.proofs import read_jwt
from sandbox.usecases import catalogue
from tests.credentials.samples import IES, OFFICIAL, official_errors
from tests.protocol import oracle as beckn
from tests.sandbox.conftest import SandboxRun
from tests.schemas import oracle as ies_schemas
from tests.tariffs.oracle import ies_policy_errors


@pytest.mark.slow
def test_sandbox_check_plays_every_built_use_case_and_exits_zero(sandbox_run: SandboxRun):
    result, data_dir = sandbox_run, sandbox_run.data_dir
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "FAIL" not in result.stdout
    # The run reports its start-up and play times (issue 9's budgets: up in 15 s, played
    # in 60 s). They are figures to read, not asserted: a shared machine's load is not
    # the sandbox's speed (benchmarks measure speed; see the closing notes' figures).
    figures = re.search(r"network up in ([0-9.]+) s.*played in ([0-9.]+) s", out)
    assert figures is not None, out
    assert all(float(f) > 0 for f in figures.groups()), out
    # Built use cases pass every point of the bar; the rest say "not built".
    assert "Consumer Energy" in result.stdout
    assert "Consumer Meter" in result.stdout
    assert "Smart Meter Data" in result.stdout
    for entry in catalogue():
        assert entry.name in result.stdout, entry.name
    # Every credential that crossed the network matches the official IES schema.
    evidence = sorted((data_dir / "evidence").glob("*.json"))
    kinds = {json.loads(p.read_text())["kind"] for p in evidence}
    assert {"ElectricityCredential", "MeterDataCredential"} <= kinds
    # Smart Meter Data Exchange: every Beckn message of the bank's exchange was kept.
    exchange = [json.loads(p.read_text()) for p in evidence]
    actions = [i["kind"].removeprefix("beckn:") for i in exchange if i["kind"].startswith("beckn:")]
    for action in ("discover", "select", "on_select", "init", "on_init", "confirm",
                   "on_confirm"):  # fmt: skip
        assert action in actions, actions
    # both discoms answer each discover (meter data, tariffs), through the gateway
    assert actions.count("on_discover") == 2 * actions.count("discover")
    assert actions.count("status") == actions.count("on_status") >= 2  # paginated
    assert {"MeterDataRequest", "MeterData"} <= kinds
    if not IES.is_dir():
        pytest.skip("../shared is not here: the official schemas are the oracle")
    for path in evidence:
        item = json.loads(path.read_text())
        if item["kind"] in OFFICIAL:
            credential = read_jwt(item["payload"]).payload
            assert official_errors(item["kind"], credential) == [], path.name
        elif item["kind"].startswith("beckn:"):
            # Each message against the Beckn v2.0.0 OpenAPI's request schema of its path.
            action = item["kind"].removeprefix("beckn:")
            assert beckn.request_errors(action, item["payload"]) == [], path.name
            _official_payloads(action, item["payload"], path.name)
        elif item["kind"] == "MeterDataRequest":
            assert ies_schemas.official_request_errors(item["payload"]) == [], path.name
        elif item["kind"] == "MeterData":
            assert item["payload"], path.name
            assert ies_schemas.official_errors(item["payload"]) == [], path.name


def _official_payloads(action: str, document: dict, name: str) -> None:
    """The IES payloads a Beckn message carries, against the official IES schemas: the
    MeterDataRequest in each commitment, the MeterData of each on_status page."""
    contract = document["message"].get("contract") or {}
    for commitment in contract.get("commitments") or []:
        request = commitment.get("commitmentAttributes")
        if isinstance(request, dict) and request.get("@type") == "MeterDataRequest":
            assert ies_schemas.official_request_errors(request) == [], name
    if action == "on_status":
        pages = [p.get("performanceAttributes") or {} for p in contract.get("performance") or []]
        for page in pages:
            payload = page.get("dataPayload")
            if isinstance(payload, dict) and payload.get("@type") == "IES_Policy":  # tariff
                assert ies_policy_errors(payload) == [], name
            elif "dataPayload" in page:  # a meter-data page (other use cases: their own)
                assert page["dataPayload"], name
                assert ies_schemas.official_errors(page["dataPayload"]) == [], name
