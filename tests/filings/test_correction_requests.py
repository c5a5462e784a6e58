"""The commission sends an acknowledged filing back: signed with its own key, reasons
kept on the filing for the discom to read, a resend idempotent, and every refusal
(a licensee asking, no reasons, a superseded or already sent-back filing, a forged
signature) leaving the inbox exactly as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from protocol.filings.client import signed_headers, verify_receipt
from protocol.signing import parse_signature, sign
from tests.filings.conftest import COMMISSION, MH, STRANGER, KeySigner, submission

REASONS = [
    {"code": "energyAccount/feeders", "message": "F2's input does not match the SLDC's meter"},
    {"code": "FIL-003", "message": "Give the sales forecast per consumer category"},
]
OPERATOR = "regulator"  # the console session's subject: the member of staff who asks


def ask(filer, filing_id: str, body: dict | bytes, sender: str = COMMISSION):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = signed_headers(raw, KeySigner(sender))
    response = filer.client.post(f"/filings/{filing_id}/corrections", content=raw, headers=headers)
    response.request_signature = parse_signature(headers["Authorization"]).signature
    return response


def problem(response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["type"].removeprefix("/problems/")


def everything(filer) -> list[dict]:
    return filer.client.get("/filings", params={"limit": 200}).json()["items"]


def test_the_commission_sends_an_acknowledged_filing_back_and_the_discom_can_read_why(filer):
    filed = filer.post(submission()).json()
    assert filed["status"] == "ACKNOWLEDGED"
    assert filed["correction_request"] is None
    response = ask(filer, filed["id"], {"reasons": REASONS, "operator": OPERATOR})
    assert response.status_code == 201, response.text
    sent_back = response.json()
    assert sent_back["status"] == "CORRECTIONS_REQUESTED"
    request = sent_back["correction_request"]
    assert request["reasons"] == REASONS
    assert request["requested_by"] == COMMISSION
    assert request["operator"] == OPERATOR  # a person, not only the organisation
    assert sent_back["decision"] == filed["decision"]  # the pack's decision is kept
    verdict = verify_receipt(response, response.request_signature, filer.directory)
    assert verdict.params.subscriber_id == COMMISSION
    # What the discom reads: the filing and its docket's history.
    assert filer.client.get(f"/filings/{filed['id']}").json() == sent_back
    (version,) = filer.client.get(f"/filings/{filed['id']}/versions").json()["items"]
    assert version["correction_request"] == request
    # The same ask again is the same request: nothing changes.
    again = ask(filer, filed["id"], {"reasons": REASONS, "operator": OPERATOR})
    assert again.status_code == 200
    assert again.json() == sent_back
    # The discom answers as it answers the pack: a version that supersedes it.
    corrected = filer.post(submission("arr-2", supersedes=filed["id"]))
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["status"] == "ACKNOWLEDGED"
    history = filer.client.get(f"/filings/{filed['id']}/versions").json()["items"]
    assert [(v["version"], v["status"]) for v in history] == [
        (1, "SUPERSEDED"), (2, "ACKNOWLEDGED"),
    ]  # fmt: skip
    assert history[0]["correction_request"] == request  # the reasons stay in history
    assert history[1]["correction_request"] is None


@pytest.mark.parametrize(
    ("case", "status", "slug"),
    [
        ("a licensee", 403, "filing-not-the-commission"),
        ("a stranger", 403, "filing-not-the-commission"),
        ("forged", 401, "beckn-signature-invalid"),
        ("unsigned", 401, "beckn-signature-missing"),
        ("no reasons", 422, "filing-invalid"),
        ("an empty message", 422, "filing-invalid"),
        ("an unknown field", 422, "filing-invalid"),
        ("not json", 422, "filing-invalid"),
        ("no operator", 422, "filing-invalid"),
        ("an operator of nobody", 422, "filing-invalid"),
        ("unknown filing", 404, "filing-not-found"),
    ],
)
def test_a_request_that_may_not_be_made_changes_nothing(filer, case, status, slug):
    filed = filer.post(submission()).json()
    body: Any = {"reasons": REASONS, "operator": OPERATOR}
    target, sender = filed["id"], COMMISSION
    if case == "a licensee":
        sender = MH
    elif case == "a stranger":
        sender = STRANGER
    elif case == "no reasons":
        body = {"reasons": [], "operator": OPERATOR}
    elif case == "an empty message":
        body = {"reasons": [{"code": "FIL-003", "message": ""}], "operator": OPERATOR}
    elif case == "an unknown field":
        body = {"reasons": REASONS, "operator": OPERATOR, "status": "SUPERSEDED"}
    elif case == "not json":
        body = b"reasons"
    elif case == "no operator":  # the commission's key alone does not name who asked
        body = {"reasons": REASONS}
    elif case == "an operator of nobody":
        body = {"reasons": REASONS, "operator": ""}
    elif case == "unknown filing":
        target = "0" * 32
    before = everything(filer)
    if case == "forged":  # the stranger's key under the commission's name
        raw = json.dumps(body).encode()
        now = int(datetime.now(UTC).timestamp())
        header = sign(raw, KeySigner(STRANGER), now, now + 300).replace(STRANGER, COMMISSION)
        response = filer.client.post(
            f"/filings/{target}/corrections",
            content=raw,
            headers={"Authorization": header, "Content-Type": "application/json"},
        )
    elif case == "unsigned":
        response = filer.client.post(f"/filings/{target}/corrections", json=body)
    else:
        response = ask(filer, target, body, sender=sender)
    assert response.status_code == status, response.text
    assert problem(response) == slug
    assert everything(filer) == before


def test_a_superseded_or_already_sent_back_filing_is_refused_and_left_as_it_was(filer):
    slipped = submission("arr-1", feeders=[
        {"feeder": "F1", "inputKwh": 1000.0, "billedKwh": 900.0, "billedInr": 7000.0,
         "collectedInr": 6650.0},
        {"feeder": "F2", "inputKwh": 800.0, "billedKwh": 680000.0, "billedInr": 5000.0,
         "collectedInr": 4500.0},
    ])  # fmt: skip
    by_pack = filer.post(slipped).json()
    assert by_pack["status"] == "CORRECTIONS_REQUESTED"
    corrected = filer.post(submission("arr-2", supersedes=by_pack["id"])).json()
    asked = ask(filer, corrected["id"], {"reasons": REASONS[:1], "operator": OPERATOR})
    assert asked.status_code == 201
    before = everything(filer)
    for target, reasons in (
        (by_pack["id"], REASONS),  # superseded
        (corrected["id"], REASONS[1:]),  # already sent back, other reasons
    ):
        response = ask(filer, target, {"reasons": reasons, "operator": OPERATOR})
        assert response.status_code == 409, response.text
        assert problem(response) == "filing-correction-request-not-allowed"
    assert everything(filer) == before
    kept = filer.client.get(f"/filings/{corrected['id']}").json()["correction_request"]
    assert kept["reasons"] == REASONS[:1]


def test_the_operator_is_signed_and_a_tampered_name_fails_verification(filer):
    """The staff member's name is inside the body the commission's key signs: the
    signature verifies with it, the receipt carries it, and the same signature over a
    body naming someone else is refused (401) and changes nothing."""
    filed = filer.post(submission()).json()
    raw = json.dumps({"reasons": REASONS, "operator": "asha.rao"}).encode()
    headers = signed_headers(raw, KeySigner(COMMISSION))
    tampered = raw.replace(b"asha.rao", b"someone.else")
    before = everything(filer)
    refused = filer.client.post(
        f"/filings/{filed['id']}/corrections", content=tampered, headers=headers
    )
    assert refused.status_code == 401, refused.text
    assert problem(refused) == "beckn-signature-invalid"
    assert everything(filer) == before
    response = filer.client.post(
        f"/filings/{filed['id']}/corrections", content=raw, headers=headers
    )
    assert response.status_code == 201, response.text
    kept = response.json()["correction_request"]
    assert (kept["operator"], kept["requested_by"]) == ("asha.rao", COMMISSION)
    verdict = verify_receipt(
        response, parse_signature(headers["Authorization"]).signature, filer.directory
    )
    assert verdict.params.subscriber_id == COMMISSION
    assert filer.client.get(f"/filings/{filed['id']}").json()["correction_request"] == kept
