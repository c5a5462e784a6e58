"""Outage Notification in the sandbox: what crossed the network, held against the oracles.

Every OutageNotification the subscribers received against the official v0.1 schema;
every Beckn ``on_status`` that carried one against the Beckn v2.0.0 OpenAPI; the
ALERT's service points against the registry's own downstream set at the trip; the
lifecycle (ALERT then UPDATEs referencing it, RESTORED last) and the indices the
regulator read.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from sandbox.usecases.outage import SUBSCRIBERS
from tests.protocol import oracle as beckn
from tests.sandbox.conftest import SandboxRun
from tests.telemetry.oracle import OUTAGES, official_errors

pytestmark = pytest.mark.slow


def _payloads(run: SandboxRun, kind: str) -> list[dict]:
    return [item["payload"] for item in run.evidence(kind)]


def test_the_use_case_passes(sandbox_run: SandboxRun):
    row = next(line for line in sandbox_run.stdout.splitlines() if "Outage Notification" in line)
    assert "not built" not in row
    assert "FAIL" not in row


def test_every_notice_received_is_a_valid_outage_notification(sandbox_run: SandboxRun):
    notices = _payloads(sandbox_run, "OutageNotification")
    assert len(notices) == 15  # 5 per subscriber (bank, consumer channel, regulator)
    if not OUTAGES.is_dir():
        pytest.skip("../shared is not here: the official schema is the oracle")
    for notice in notices:
        assert official_errors(notice) == [], notice["id"]


def test_every_on_status_that_carried_one_is_valid_beckn(sandbox_run: SandboxRun):
    messages = _payloads(sandbox_run, "outage:on_status")
    assert len(messages) == 15
    for document in messages:
        context = document["context"]
        assert context["action"] == "on_status"
        assert context["bppId"] == "discom-mh.sandbox.ies.local"
        assert context["bapId"] in {f"{name}.sandbox.ies.local" for name, _, _ in SUBSCRIBERS}
        assert "requestDigest" not in context  # unsolicited: it answers no request
        [performance] = document["message"]["contract"]["performance"]
        assert performance["performanceAttributes"]["@type"] == "OutageNotification"
        if OUTAGES.is_dir():  # ../shared holds the Beckn v2.0.0 OpenAPI too
            assert beckn.request_errors("on_status", document) == []


def test_the_alert_names_exactly_the_registry_downstream_set(sandbox_run: SandboxRun):
    [registry] = _payloads(sandbox_run, "outage:registry-downstream")
    expected = set(registry["connections"])
    alerts = [
        n
        for n in _payloads(sandbox_run, "OutageNotification")
        if n["outageClass"] == "BREAKDOWN" and n["msgType"] == "ALERT"
    ]
    assert len(alerts) == len(SUBSCRIBERS)  # one per subscriber
    for alert in alerts:
        named = {
            a["id"]["value"] for a in alert["affectedAssets"] if a["assetLevel"] == "SERVICE_POINT"
        }
        assert named == expected
        assert alert["impact"]["customersAffected"] == len(expected)
        assert datetime.fromisoformat(alert["timing"]["period"]["start"]) == datetime.fromisoformat(
            registry["at"]
        )
    # The date mattered: the set on the day is not today's (a DT was re-fed then).
    assert expected != set(registry["today"])


def test_updates_reference_the_alert_and_end_restored(sandbox_run: SandboxRun):
    notices = _payloads(sandbox_run, "OutageNotification")
    by_id: dict[str, list[dict]] = {}
    for notice in notices:
        by_id.setdefault(notice["id"]["value"], []).append(notice)
    assert {k.split("-")[0] for k in by_id} == {"OUT", "PLN"}  # no MOM-: the blink is silent
    for versions in by_id.values():
        each = len(versions) // len(SUBSCRIBERS)  # the same sequence went to every subscriber
        first, *rest = versions[:each]
        assert first["msgType"] == "ALERT"
        assert all(v["msgType"] == "UPDATE" and v["references"] == [first["id"]] for v in rest)
        assert rest[-1]["status"] == "RESTORED"
        assert "actualRestoration" in rest[-1]["timing"]


def test_the_regulator_reads_the_indices_of_the_day(sandbox_run: SandboxRun):
    [figures] = _payloads(sandbox_run, "outage:reliability")
    day = figures["all_days"]
    # 120 customers served; the trip 80 x 90 min, the shutdown 40 x 120 min; the blink 40.
    assert day["customers_served"] == 120
    assert day["customers_interrupted"] == 120
    assert day["saifi"] == pytest.approx(1.0)
    assert day["saidi"] == pytest.approx((80 * 90 + 40 * 120) / 120, abs=0.2)
    assert day["caidi"] == pytest.approx(100.0, abs=0.2)
    assert day["maifi"] == pytest.approx(40 / 120)
