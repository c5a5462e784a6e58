"""Every way of getting more than the consumer consented to, refused with nothing leaked."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from consent import jws
from consent.artefact import TYP
from consent.gate import ConsentGate
from consent.policy import PolicyPoint
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from sandbox.cli import app as ies
from tests.policy_packs.conftest import resign

from .conftest import CM, DAY0, DISCOM, LENDER, assert_refused

FIRST = DAY0 + timedelta(days=1)


def active_consent(network, approve: dict | None = None, **request) -> str:
    asked = network.request_consent(**request)
    assert asked.status_code == 201, asked.text
    consent_id = asked.json()["id"]
    approved = network.consumer_post(consent_id, "approve", approve)
    assert approved.status_code == 200, approved.text
    return consent_id


def accesses(network) -> int:
    trail = network.consumer_http.get(
        f"/consumers/{network.consumer}/audit", params={"accesses_only": True}
    ).json()
    return len(trail)


def ok_fetch(network, consent_id, **overrides):
    params = {"consent": consent_id, "start": FIRST, "days": 2, "readings": ["kWh imp block"]}
    params.update(overrides)
    return network.fetch(**params)


def test_a_forged_artefact_signed_by_a_registered_app_is_refused(network):
    consent_id = active_consent(network)
    genuine = network.manager.artefact_for(consent_id, DISCOM)
    document = jws.json_payload(jws.parse_compact(genuine))
    document["consent"]["scope"]["granularity"] = "15min"
    # The app signs its own "artefact" claiming to be the consent manager.
    forged = jws.sign_compact(document, kid=f"{CM}|k1", typ=TYP, signer=network.app.sign)
    assert_refused(ok_fetch(network, forged, granularity="15min"), 401, "consent-artefact-invalid")
    # ... or under its own name: not a trusted consent manager.
    own = jws.sign_compact(document, kid=network.app.kid, typ=TYP, signer=network.app.sign)
    assert_refused(ok_fetch(network, own, granularity="15min"), 401, "consent-artefact-invalid")
    assert accesses(network) == 0


def test_an_altered_artefact_is_refused(network):
    consent_id = active_consent(network)
    genuine = network.manager.artefact_for(consent_id, DISCOM)
    header, payload, signature = genuine.split(".")
    document = json.loads(jws.unb64u(payload))
    document["consent"]["scope"]["date_range"]["from"] = (DAY0 - timedelta(days=300)).isoformat()
    altered = f"{header}.{jws.b64u(jws.canonical(document))}.{signature}"
    refused = ok_fetch(network, altered, start=DAY0 - timedelta(days=300))
    assert_refused(refused, 401, "consent-artefact-invalid")
    # The genuine one, presented inline, works: the alteration alone was refused.
    assert ok_fetch(network, genuine).status_code == 200


def test_someone_elses_consent_id_is_refused_to_apps_and_consumers(network):
    consent_id = active_consent(network)
    # Another registered app presents the first app's consent.
    stolen = network.fetch(
        network.lender, consent=consent_id, start=FIRST, days=2, readings=["kWh imp block"]
    )
    assert_refused(stolen, 404, "consent-not-found")
    # Another consumer can neither see, pause nor revoke it.
    other = network.other_consumer
    assert network.consumer_http.get(f"/consumers/{other}/consents/{consent_id}").status_code == 404
    for action in ("pause", "revoke", "approve"):
        refused = network.consumer_post(consent_id, action, consumer=other)
        assert refused.status_code == 404, refused.text
    mine = network.consumer_http.get(f"/consumers/{network.consumer}/consents/{consent_id}").json()
    assert mine["status"] == "ACTIVE"
    # The consent names another meter than the one asked for.
    refused = ok_fetch(network, consent_id, resources=[network.other_meter])
    assert_refused(refused, 403, "consent-outside-scope")
    assert accesses(network) == 0


def test_dates_outside_the_consent_and_finer_data_are_refused(network):
    consent_id = active_consent(network, {"granularity": "daily"})
    before = ok_fetch(network, consent_id, start=DAY0 - timedelta(days=1), days=2)
    assert assert_refused(before, 403, "consent-outside-scope")["reason"] == "date_range"
    beyond = ok_fetch(network, consent_id, start=DAY0 + timedelta(days=5), days=5)
    assert assert_refused(beyond, 403, "consent-outside-scope")["reason"] == "date_range"
    finer = ok_fetch(network, consent_id, granularity="hourly")
    assert assert_refused(finer, 403, "consent-outside-scope")["reason"] == "granularity"
    quarter = ok_fetch(network, consent_id, granularity="15min")
    assert assert_refused(quarter, 403, "consent-outside-scope")["reason"] == "granularity"
    events = ok_fetch(network, consent_id, profile="EventProfile", readings=None)
    assert assert_refused(events, 403, "consent-outside-scope")["reason"] == "data_type"
    assert accesses(network) == 0
    # Coarser than consented is fine: monthly sums of the two days.
    coarser = ok_fetch(network, consent_id, granularity="monthly")
    assert coarser.status_code == 200, coarser.text
    rows = coarser.json()[1]["intervals"]
    assert sum(len(r["payloads"]) for r in rows) == len(rows)


def test_after_expiry_the_consent_lets_nothing_out(network):
    expires = datetime.now(UTC) + timedelta(hours=1)
    consent_id = active_consent(network, scope={"expires_at": expires.isoformat()})
    assert ok_fetch(network, consent_id).status_code == 200
    network.clock.offset = timedelta(hours=2)
    assert_refused(ok_fetch(network, consent_id), 403, "consent-not-active")
    status = network.consumer_http.get(
        f"/consumers/{network.consumer}/consents/{consent_id}"
    ).json()
    assert status["status"] == "EXPIRED"
    assert accesses(network) == 1


def test_while_paused_nothing_flows_and_resuming_restores_it(network):
    consent_id = active_consent(network)
    assert network.consumer_post(consent_id, "pause").json()["status"] == "PAUSED"
    assert_refused(ok_fetch(network, consent_id), 403, "consent-not-active")
    assert network.consumer_post(consent_id, "resume").json()["status"] == "ACTIVE"
    assert ok_fetch(network, consent_id).status_code == 200
    assert accesses(network) == 1


def test_fetches_over_the_frequency_limit_are_refused(network):
    once = active_consent(network, {"fetch_type": "one_time"})
    assert ok_fetch(network, once).status_code == 200
    assert_refused(ok_fetch(network, once), 429, "consent-frequency-exceeded")
    twice = active_consent(network, {"frequency": {"value": 2, "unit": "day"}})
    assert ok_fetch(network, twice).status_code == 200
    assert ok_fetch(network, twice).status_code == 200
    assert_refused(ok_fetch(network, twice), 429, "consent-frequency-exceeded")
    network.clock.offset = timedelta(days=1, minutes=1)  # the rolling day has passed
    assert ok_fetch(network, twice).status_code == 200
    assert accesses(network) == 4


def test_a_purpose_the_states_pack_forbids_is_refused(network, tmp_path):
    # At request time: research may not see bills in any pack (CON-001).
    refused = network.request_consent(purpose="research", scope={"data_types": ["billing"]})
    body = assert_refused(refused, 403, "consent-policy-denied")
    assert [v["code"] for v in body["violations"]] == ["CON-001"]
    assert body["pack"]["id"] == "in-mh"
    # At fetch time: MERC's pack now withdraws energy advice from meter data; a consent
    # given before the change stops releasing data under it.
    consent_id = active_consent(network)
    packs = tmp_path / "packs"
    shutil.copytree(SHIPPED_PACKS, packs)
    for version in ("1.0.0", "2.0.0"):
        folder = packs / "in-mh" / version
        params = json.loads((folder / "data" / "params.json").read_text())
        del params["consent"]["allowed"]["meter_data"]["energy_advice"]
        (folder / "data" / "params.json").write_text(json.dumps(params, indent=2))
        resign(folder, "merc")
    stricter = PolicyPoint(load_catalogue(packs, FileKeyring(SHIPPED_KEYRING)), EmbeddedEngine())
    gate: ConsentGate = network.discom_app.state.gate
    network.discom_app.state.gate = ConsentGate(**{**gate.__dict__, "policy": stricter})
    body = assert_refused(ok_fetch(network, consent_id), 403, "consent-policy-denied")
    assert "CON-001" in [v["code"] for v in body["violations"]]
    assert accesses(network) == 0


def test_an_app_key_not_in_the_directory_cannot_ask(network):
    body, headers = network.signed(network.app, {"x": 1}, "ies-consent-request+jws")
    header, _, signature = headers["X-IES-Signature"].split(".")
    # The same signature over other bytes does not verify.
    tampered = json.dumps({"x": 2}).encode()
    refused = network.cm_http.post("/consent/requests", content=tampered, headers=headers)
    assert_refused(refused, 401, "consent-signature-invalid")
    # Signed by the lender while naming the advisor as data consumer.
    asked = network.request_consent(network.lender, data_consumer="advisor.example")
    assert_refused(asked, 403, "consent-signer-not-allowed")
    del body, header, signature


def test_an_approval_cannot_widen_the_request(network):
    asked = network.request_consent()
    consent_id = asked.json()["id"]
    wider = network.consumer_post(consent_id, "approve", {"granularity": "15min"})
    assert wider.status_code == 422
    assert wider.json()["fields"] == ["granularity"]
    more = network.consumer_post(consent_id, "approve", {"data_types": ["events"]})
    assert more.status_code == 422
    assert more.json()["fields"] == ["data_types"]
    assert (
        network.consumer_http.get(f"/consumers/{network.consumer}/consents/{consent_id}").json()[
            "status"
        ]
        == "PENDING"
    )


def test_a_tampered_audit_entry_is_detected_and_named(network):
    consent_id = active_consent(network)
    assert ok_fetch(network, consent_id).status_code == 200
    engine = network.manager.engine
    backend = engine.dialect.name
    with engine.begin() as connection:
        seqs = [r[0] for r in connection.execute(text(
            "SELECT seq FROM consent_audit WHERE kind = 'data_accessed'"))]  # fmt: skip
    target = seqs[0]
    # The database refuses the edit outright ...
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE consent_audit SET actor = 'nobody' WHERE seq = :s"),
                           {"s": target})  # fmt: skip
    # ... so an attacker with DDL rights drops the guard and rewrites who accessed what.
    with engine.begin() as connection:
        if backend == "postgresql":
            connection.execute(text("DROP TRIGGER consent_audit_append_only ON consent_audit"))
        else:
            connection.execute(text("DROP TRIGGER consent_audit_no_update"))
        connection.execute(
            text("UPDATE consent_audit SET actor = :a WHERE seq = :s"),
            {"a": LENDER, "s": target},
        )
    report = network.audit_check()
    assert report["ok"] is False, report
    assert report["first_bad_seq"] == target, report
    # The command line says the same and fails.
    result = CliRunner().invoke(
        ies,
        ["consent", "audit", "--verify", "--database-url", str(engine.url.render_as_string(False))],
    )
    assert result.exit_code == 1, result.output
    assert f"entry {target}" in result.output
