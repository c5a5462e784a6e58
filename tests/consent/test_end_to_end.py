"""The whole consent story over HTTP, every participant on its own uvicorn server:
the app asks, the consumer narrows and approves, the app fetches exactly the narrowed
slice, the consumer revokes, the next fetch is refused, and the audit chain verifies
and tells all of it."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from adapters.synthetic import IST
from consent.outbox import deliver_due
from tests.schemas import oracle

from .conftest import APP, CM, DAY0, DISCOM, assert_refused


def test_request_narrow_approve_fetch_revoke_refuse_and_audit(network):
    # 1. The app asks (signed with its directory key) for hourly import and export
    #    energy and bills over seven days, four fetches a day.
    asked = network.request_consent()
    assert asked.status_code == 201, asked.text
    consent = asked.json()
    consent_id = consent["id"]
    assert consent["status"] == "PENDING"
    again = network.request_consent(request_id=consent["id"])  # a different request id
    assert again.status_code == 201

    # 2. The consumer sees it pending, with a notice in English, Hindi and Marathi.
    pending = network.consumer_http.get(
        f"/consumers/{network.consumer}/consents", params={"status": "PENDING"}
    ).json()["items"]
    assert consent_id in [c["id"] for c in pending]
    hindi = network.consumer_http.get(
        f"/consumers/{network.consumer}/consents/{consent_id}/notice", params={"lang": "hi"}
    ).json()
    assert "बिजली" in hindi["text"]
    assert APP in hindi["text"]
    marathi = network.consumer_http.get(
        f"/consumers/{network.consumer}/consents/{consent_id}/notice", params={"lang": "mr"}
    ).json()
    assert "वीज" in marathi["text"]

    # 3. ... and approves less: consumption only, daily, three of the seven days.
    first, last = DAY0 + timedelta(days=1), DAY0 + timedelta(days=3)
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
    active = approved.json()
    assert active["status"] == "ACTIVE"
    assert active["scope"]["data_types"] == ["interval_consumption"]
    assert active["artefact"].count(".") == 2

    # 4. The app fetches: exactly the narrowed slice comes back, as valid MeterData.
    fetched = network.fetch(consent=consent_id, start=first, days=3, readings=["kWh imp block"])
    assert fetched.status_code == 200, fetched.text
    payload = fetched.json()
    assert oracle.official_errors(payload) == []
    descriptor, profile = payload
    assert [d["flowDirection"] for s in descriptor["payloadDescriptorSets"]
            for d in s["payloadDescriptors"]] == ["IMPORT"]  # fmt: skip
    assert profile["intervalPeriod"] == {
        "start": datetime(first.year, first.month, first.day, tzinfo=IST).isoformat(),
        "duration": "P1D",
    }
    assert [row["id"] for row in profile["intervals"]] == [0, 1, 2]
    consumer = network.synthetic.consumers[0]
    for row in profile["intervals"]:
        day = datetime(first.year, first.month, first.day, tzinfo=IST) + timedelta(days=row["id"])
        expected = sum(network.synthetic.meter_day(consumer, day).imports)
        assert len(row["payloads"]) == 1
        assert abs(row["payloads"][0] - expected) < 0.01 * 96

    # Asking for the export column or the bills it was not granted is refused outright.
    export = network.fetch(consent=consent_id, start=first, days=3, readings=["kWh exp block"])
    assert_refused(export, 403, "consent-outside-scope")

    # 5. The consumer withdraws in one call; the next fetch is refused, nothing leaks.
    revoked = network.consumer_post(consent_id, "revoke")
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "REVOKED"
    after = network.fetch(consent=consent_id, start=first, days=3, readings=["kWh imp block"])
    assert_refused(after, 403, "consent-not-active")

    # 6. Notifications: the app and the discom hear of every change, signed by the
    #    consent manager; the app is told to erase.
    with httpx.Client(timeout=5) as http:
        delivered = deliver_due(network.manager.engine, http, network.cm, now=network.clock())
    assert delivered.delivered == 5
    assert delivered.retried == 0
    to_app = [(n["kind"], n.get("status")) for n in network.app_receiver.received
              if n["consent_id"] == consent_id]  # fmt: skip
    assert to_app == [
        ("CONSENT_STATUS_CHANGED", "ACTIVE"),
        ("CONSENT_STATUS_CHANGED", "REVOKED"),
        ("ERASE_DATA", None),
    ]
    assert {n["signer"] for n in network.app_receiver.received} == {CM}
    to_discom = [n["body"] for n in network.discom_app.state.notifications]
    assert len(to_discom) == 2
    assert b'"REVOKED"' in to_discom[1]

    # 7. The audit chain verifies and tells the story, including who accessed what.
    report = network.audit_check()
    assert report["ok"] is True, report
    trail = network.consumer_http.get(f"/consumers/{network.consumer}/audit").json()
    story = [e["kind"] for e in trail if e["consent_id"] == consent_id]
    assert story == [
        "consent_requested",
        "consent_active",
        "data_accessed",
        "consent_revoked",
        "data_access_refused",
    ]
    accesses = network.consumer_http.get(
        f"/consumers/{network.consumer}/audit", params={"accesses_only": True}
    ).json()
    assert len(accesses) == 1
    access = accesses[0]
    assert access["actor"] == DISCOM
    assert access["details"]["app"] == APP
    assert access["details"]["granularity"] == "daily"
    assert access["details"]["data_types"] == ["interval_consumption"]
    assert access["details"]["fetch_id"] == fetched.headers["X-IES-Fetch"]

    # The receipt for the consumer carries the 27560 record and the artefact's digest.
    receipt = network.consumer_http.get(
        f"/consumers/{network.consumer}/consents/{consent_id}/receipt"
    )
    credential = receipt.json()
    assert credential["type"] == ["VerifiableCredential", "ConsentReceiptCredential"]
    assert credential["credentialSubject"]["record"]["pii_principal_id"] == network.consumer
