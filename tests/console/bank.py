"""The bank's side of a consented fetch, as the tests drive it through the bank's own
back-end API: ask the consumer's consent (signed with the bank's directory key), then
select/init/confirm a MeterDataRequest at the discom's BPP, whose consent gate answers
at ``confirm`` (ACTIVE with the slice released, or REJECTED with the reason)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from adapters.synthetic import IST
from sandbox.legacy import hes_window
from sandbox.participants.meter_data import OFFER
from sandbox.plan import DATA_NETWORK, METER_DATA, Plan
from sandbox.usecases.meter_exchange import CONTEXT


def window() -> tuple[date, date]:
    first, last = hes_window(datetime.now(IST).date())
    return first, last + timedelta(days=1)


def ask_consent(plan: Plan, http: httpx.Client, consumer_id: str, meter: str) -> str:
    discom, bank = plan.member("discom-mh"), plan.member("bank")
    first, last = window()
    asked = http.post(
        f"{bank.url}/app/consent/requests",
        json={
            "request_id": f"console-test-{time.time_ns()}",
            "data_provider": discom.host,
            "jurisdiction": discom.state,
            "consumer_id": consumer_id,
            "purpose": "energy_advice",
            "scope": {
                "meters": [meter],
                "data_types": ["interval_consumption", "net_export", "billing"],
                "date_range": {"from": first.isoformat(), "to": last.isoformat()},
                "granularity": "hourly",
                "fetch_type": "periodic",
                "frequency": {"value": 4, "unit": "day"},
                "data_life_days": 30,
                "expires_at": (datetime.now(IST) + timedelta(days=60)).isoformat(),
            },
            "languages": ["en", "hi", "mr"],
        },
    )
    assert asked.status_code == 201, asked.text
    return str(asked.json()["id"])


def _answers(http: httpx.Client, bank: str, transaction: str, action: str) -> list[Any]:
    deadline = time.monotonic() + 20
    while True:
        got = http.get(f"{bank}/app/beckn/received", params={"transactionId": transaction})
        items = [i for i in got.json() if i["action"] == action]
        if items or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def fetch(plan: Plan, http: httpx.Client, consent_id: str, meter: str) -> dict[str, Any]:
    """select/init/confirm one MeterDataRequest under the consent; the on_confirm
    contract's status (``{"code": "ACTIVE"}`` or ``{"code": "REJECTED", "name": why}``)
    and the transaction id."""
    discom, bank = plan.member("discom-mh"), plan.member("bank")
    first, last = window()
    request = {
        "@context": CONTEXT,
        "@type": "MeterDataRequest",
        "resources": [f"{discom.did}:assets:meter:{meter}"],
        "from": datetime(first.year, first.month, first.day, tzinfo=IST).isoformat(),
        "duration": f"P{(last - first).days + 1}D",
        "consumerConsent": [consent_id],
        "capabilitiesRequested": {
            "profiles": [
                {
                    "profileType": "IntervalProfile",
                    "readings": [{"value": "kWh imp block", "mode": "USAGE"}],
                },
                {"profileType": "MonthlyProfile"},
            ]
        },
        "maxRecordsShared": 2,
    }
    contract = {
        "commitments": [
            {
                "id": "meter-data-1",
                "status": {"descriptor": {"code": "DRAFT"}},
                "resources": [{"id": "meter-data", "quantity": {"value": "1"}}],
                "offer": {"id": OFFER, "resourceIds": ["meter-data"]},
                "commitmentAttributes": request,
            }
        ],
    }
    transaction: str | None = None
    answer: dict[str, Any] = {}
    for action in ("select", "init", "confirm"):
        sent = http.post(
            f"{bank.url}/app/beckn/send",
            json={
                "action": action,
                "url": discom.beckn_url,
                "receiver": discom.host,
                "networkId": DATA_NETWORK,
                "domain": METER_DATA,
                "message": {"contract": contract},
                "transactionId": transaction,
                "bppId": discom.host,
                "bppUri": discom.beckn_url,
            },
        )
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["acknowledged"], body
        transaction = body["transactionId"]
        assert transaction is not None
        got = _answers(http, bank.url, transaction, f"on_{action}")
        assert got, f"no on_{action} within 20 s"
        answer = got[0]["document"]["message"]["contract"]
    return {"status": answer.get("status") or {}, "transaction_id": transaction}
