"""The inbox over HTTP: signed filings decided by the state's pack, receipts signed by
the commission, corrections that supersede with history kept, and every refusal
leaving the inbox as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from protocol.filings.client import verify_receipt
from protocol.signing import sign
from tests.filings.conftest import COMMISSION, KA, MH, STRANGER, KeySigner, submission


def inbox(filer) -> list[dict]:
    return filer.client.get("/filings", params={"limit": 200}).json()["items"]


def problem(response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["type"].removeprefix("/problems/")


def test_a_balanced_filing_is_acknowledged_with_a_receipt_signed_by_the_commission(filer):
    response = filer.post(submission())
    assert response.status_code == 201, response.text
    filing = response.json()
    assert filing["status"] == "ACKNOWLEDGED"
    assert filing["decision"]["allow"]
    assert (filing["licensee"], filing["jurisdiction"], filing["version"]) == (MH, "IN-MH", 1)
    assert filing["decision"]["pack_id"] == "in-mh"
    # 1 - (1580/1800) x (11150/12000) = 18.44 %
    assert filing["atc_loss_pct"] == pytest.approx(18.44)
    verdict = verify_receipt(response, response.request_signature, filer.directory)
    assert verdict.params.subscriber_id == COMMISSION


def test_a_receipt_does_not_verify_for_another_request(filer):
    first = filer.post(submission("arr-1"))
    second = filer.post(submission("arr-2"))
    with pytest.raises(Exception, match="does not verify"):
        verify_receipt(first, second.request_signature, filer.directory)


def test_each_licensee_is_decided_by_its_own_states_pack(filer):
    response = filer.post(submission(licensee="BESCOM"), sender=KA)
    assert response.status_code == 201
    assert response.json()["decision"]["pack_id"] == "in-ka"


@pytest.mark.parametrize(
    ("tamper", "slug"),
    [
        ("unsigned", "beckn-signature-missing"),
        ("forged", "beckn-signature-invalid"),
        ("altered", "beckn-signature-invalid"),
        ("unknown key", "beckn-key-unknown"),
        ("revoked", "beckn-key-revoked"),
        ("stale", "beckn-signature-expired"),
        ("from the future", "beckn-signature-from-future"),
        ("garbled", "beckn-signature-malformed"),
    ],
)
def test_an_unauthenticated_filing_is_refused_and_nothing_is_stored(filer, tamper, slug):
    body = json.dumps(submission()).encode()
    now = int(datetime.now(UTC).timestamp())
    decided = filer.policy.calls
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if tamper == "forged":  # the stranger's key under the licensee's name
        header = sign(body, KeySigner(STRANGER), now, now + 300)
        headers["Authorization"] = header.replace(STRANGER, MH)
    elif tamper == "altered":
        headers["Authorization"] = sign(body, KeySigner(MH), now, now + 300)
        body = body.replace(b"900.0", b"990.0")
    elif tamper == "unknown key":
        headers["Authorization"] = sign(body, KeySigner(MH, "k9"), now, now + 300)
    elif tamper == "revoked":
        filer.directory.revoked.add(MH)
        headers["Authorization"] = sign(body, KeySigner(MH), now, now + 300)
    elif tamper == "stale":
        headers["Authorization"] = sign(body, KeySigner(MH), now - 900, now - 600)
    elif tamper == "from the future":
        headers["Authorization"] = sign(body, KeySigner(MH), now + 600, now + 900)
    elif tamper == "garbled":
        headers["Authorization"] = 'Signature keyId="x"'
    response = filer.client.post("/filings", content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert problem(response) == slug
    assert inbox(filer) == []
    assert filer.policy.calls == decided


def test_a_signer_the_commission_does_not_regulate_is_refused(filer):
    response = filer.post(submission(), sender=STRANGER)
    assert response.status_code == 403
    assert problem(response) == "filing-not-a-licensee"
    assert inbox(filer) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps({"arrFiling": {}}).encode(),
        json.dumps({**submission(), "extra": 1}).encode(),
        json.dumps(submission() | {"lossReductionPlan": 5}).encode(),
    ],
)
def test_a_body_that_is_not_a_submission_is_refused_with_every_error(filer, body):
    response = filer.post(body)
    assert response.status_code == 422
    assert problem(response) == "filing-invalid"
    assert response.json()["errors"]
    assert inbox(filer) == []


def test_a_filing_without_its_own_id_or_with_an_unreadable_year_is_refused(filer):
    no_id = submission()
    del no_id["arrFiling"]["id"]
    bad_year = submission()
    bad_year["arrFiling"]["fiscalYears"][0]["fiscalYear"] = "2027/28"
    no_input = submission(feeders=[{"feeder": "F1", "inputKwh": 0.0, "billedKwh": 0.0,
                                    "billedInr": 0.0, "collectedInr": 0.0}])  # fmt: skip
    for body in (no_id, bad_year, no_input):
        response = filer.post(body)
        assert response.status_code == 422, response.text
        assert problem(response) == "filing-invalid"
    assert inbox(filer) == []


def test_sending_the_same_filing_again_is_idempotent_and_other_content_under_its_id_is_not(filer):
    first = filer.post(submission())
    again = filer.post(submission())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    changed = submission()
    changed["energyAccount"]["salesForecastMu"] = 81.0
    reused = filer.post(changed)
    assert reused.status_code == 409
    assert problem(reused) == "filing-ref-reused"
    assert len(inbox(filer)) == 1


def test_a_unit_slip_is_sent_back_and_the_correction_supersedes_it_with_history_kept(filer):
    slipped = submission("arr-1", feeders=[
        {"feeder": "F1", "inputKwh": 1000.0, "billedKwh": 900.0, "billedInr": 7000.0,
         "collectedInr": 6650.0},
        {"feeder": "F2", "inputKwh": 800.0, "billedKwh": 680000.0, "billedInr": 5000.0,
         "collectedInr": 4500.0},
    ])  # fmt: skip
    first = filer.post(slipped).json()
    assert first["status"] == "CORRECTIONS_REQUESTED"
    (violation,) = first["decision"]["violations"]
    assert violation["code"] == "FIL-006"
    assert "F2" in violation["message"]
    assert violation["clause"]
    corrected = filer.post(submission("arr-2", supersedes=first["id"]))
    assert corrected.status_code == 201
    second = corrected.json()
    assert (second["status"], second["version"], second["supersedes"]) == (
        "ACKNOWLEDGED", 2, first["id"],
    )  # fmt: skip
    assert second["docket"] == first["id"]
    history = filer.client.get(f"/filings/{first['id']}/versions").json()["items"]
    assert [(v["version"], v["status"]) for v in history] == [
        (1, "SUPERSEDED"), (2, "ACKNOWLEDGED"),
    ]  # fmt: skip
    assert history[0]["superseded_by"] == second["id"]
    assert history[0]["decision"] == first["decision"]  # the first decision is kept
    assert filer.client.get(f"/filings/{second['id']}/versions").json()["items"] == history
    # A superseded version cannot be corrected again: history stays a line.
    again = filer.post(submission("arr-3", supersedes=first["id"]))
    assert again.status_code == 409
    assert problem(again) == "filing-correction-not-allowed"
    assert len(inbox(filer)) == 2


def test_a_correction_may_not_name_another_licensees_filing_or_an_unknown_one(filer):
    theirs = filer.post(submission(licensee="BESCOM"), sender=KA).json()
    for target in (theirs["id"], "0" * 32):
        response = filer.post(submission("arr-x", supersedes=target))
        assert response.status_code == 409
        assert problem(response) == "filing-correction-not-allowed"
    assert filer.client.get(f"/filings/{theirs['id']}").json()["status"] == "ACKNOWLEDGED"
    assert len(inbox(filer)) == 1


def test_the_inbox_is_paginated_and_filters_by_licensee_and_status(filer):
    for n in range(3):
        assert filer.post(submission(f"arr-{n}")).status_code == 201
    assert filer.post(submission(licensee="BESCOM"), sender=KA).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "licensee": MH, **({"cursor": cursor} if cursor else {})}
        page = filer.client.get("/filings", params=params).json()
        seen += [f["filing_ref"] for f in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == ["arr-0", "arr-1", "arr-2"]
    first = filer.client.get("/filings", params={"limit": 2, "licensee": MH}).json()
    other = filer.client.get("/filings", params={"limit": 2, "cursor": first["next_cursor"]})
    assert other.status_code == 400
    assert problem(other) == "invalid-cursor"
    acknowledged = filer.client.get("/filings", params={"status": "ACKNOWLEDGED"}).json()
    assert len(acknowledged["items"]) == 4
    assert filer.client.get("/filings", params={"status": "LOST"}).status_code == 422


def test_an_unknown_filing_is_a_problem(filer):
    for path in ("/filings/nope", "/filings/nope/versions"):
        response = filer.client.get(path)
        assert response.status_code == 404
        assert problem(response) == "filing-not-found"


def test_a_signature_valid_for_more_than_an_hour_is_refused(filer):
    body = json.dumps(submission()).encode()
    now = int(datetime.now(UTC).timestamp())
    header = sign(body, KeySigner(MH), now, now + int(timedelta(hours=2).total_seconds()))
    response = filer.client.post(
        "/filings",
        content=body,
        headers={"Authorization": header, "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert problem(response) == "beckn-signature-lifetime"
