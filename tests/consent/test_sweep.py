"""``ies consent sweep``: consents past their expiry lapse without anyone reading them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from typer.testing import CliRunner

from sandbox.cli import app as ies

from .conftest import CM, DISCOM
from .test_attacks import active_consent


def statuses(engine, ids: list[str]) -> dict[str, str]:
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT id, status FROM consent_artefact WHERE id IN (:a, :b)"),
            {"a": ids[0], "b": ids[1]},
        )
        return {r[0]: r[1] for r in rows}


def test_the_sweep_expires_due_consents_with_audit_and_erase_notices(
    network, tmp_path, monkeypatch
):
    approved = active_consent(network)
    pending = network.request_consent().json()["id"]
    untouched = active_consent(network)
    engine = network.manager.engine
    # Their expiry passes (written as the clock would see it days later).
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_artefact SET expires_at = :t WHERE id IN (:a, :b)"),
            {"t": past, "a": approved, "b": pending},
        )
    trail = network.consumer_http.get(f"/consumers/{network.consumer}/audit").json()
    assert "consent_expired" not in {e["kind"] for e in trail}

    monkeypatch.setenv("IES_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("IES_KEY_PASSPHRASE", "sweep test passphrase")
    monkeypatch.setenv("IES_CONSENT_SUBSCRIBER_ID", CM)
    monkeypatch.setenv(
        "IES_CONSENT_PROVIDERS", json.dumps({DISCOM: f"{network.discom_url}/consent/notifications"})
    )
    url = engine.url.render_as_string(False)
    result = CliRunner().invoke(ies, ["consent", "sweep", "--database-url", url, "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "expired 2 consent(s)" in result.output

    assert statuses(engine, [approved, pending]) == {approved: "EXPIRED", pending: "EXPIRED"}
    assert statuses(engine, [untouched, untouched])[untouched] == "ACTIVE"
    trail = network.consumer_http.get(f"/consumers/{network.consumer}/audit").json()
    expired = [e for e in trail if e["kind"] == "consent_expired"]
    assert {e["consent_id"] for e in expired} == {approved, pending}
    assert all(e["actor"] == "clock" for e in expired)
    assert {e["details"]["from"] for e in expired} == {"ACTIVE", "PENDING"}

    kinds = {
        (n.recipient, n.kind, json.loads(n.body).get("status"))
        for n in network.manager.notifications(approved)
    }
    assert (network.app.subscriber_id, "ERASE_DATA", None) in kinds
    assert (network.app.subscriber_id, "CONSENT_STATUS_CHANGED", "EXPIRED") in kinds
    assert (DISCOM, "CONSENT_STATUS_CHANGED", "EXPIRED") in kinds
    # A request that was never approved holds no data: no erase notice for it.
    assert "ERASE_DATA" not in {n.kind for n in network.manager.notifications(pending)}
    assert network.audit_check()["ok"] is True

    again = CliRunner().invoke(ies, ["consent", "sweep", "--database-url", url])
    assert again.exit_code == 0, again.output
    assert "expired 0 consent(s)" in again.output
