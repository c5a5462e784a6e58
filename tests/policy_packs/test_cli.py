"""``ies policy test|eval|sign`` through typer's runner."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from policy_packs.cli import app

from .conftest import TEST_KEYS

runner = CliRunner()


def test_policy_test_runs_every_packs_cases():
    result = runner.invoke(app, ["test"])
    assert result.exit_code == 0, result.output
    for key in (
        "in-national@1.0.0",
        "in-mh@1.0.0",
        "in-mh@2.0.0",
        "in-ka@1.0.0",
        "in-up@1.0.0",
        "in-gj@1.0.0",
    ):
        assert key in result.output


def test_policy_test_of_one_altered_pack_folder_fails(pack_copy):
    folder = pack_copy("in-up", "1.0.0")
    path = folder / "data" / "params.json"
    path.write_text(path.read_text().replace('"max_kwh_per_block": 25', '"max_kwh_per_block": 26'))
    result = runner.invoke(app, ["test", str(folder)])
    assert result.exit_code == 1
    assert "differ from what was signed" in result.output


def test_policy_sign_makes_a_changed_pack_load_and_its_failing_case_shows(pack_copy):
    folder = pack_copy("in-up", "1.0.0")
    path = folder / "data" / "params.json"
    path.write_text(path.read_text().replace('"max_kwh_per_block": 25', '"max_kwh_per_block": 26'))
    signed = runner.invoke(
        app,
        [
            "sign",
            str(folder),
            "--key",
            str(TEST_KEYS / "uperc.pem"),
            "--key-id",
            "uperc-sandbox-2024",
        ],
    )
    assert signed.exit_code == 0, signed.output
    tested = runner.invoke(app, ["test", str(folder)])
    assert tested.exit_code == 1  # the pack's own case at 26 kWh now passes the cap
    assert "a trade above the per-block cap is refused" in tested.output


def test_policy_eval_prints_the_decision_and_exits_by_it(tmp_path):
    document: dict[str, Any] = {
        "connection": {"category": "domestic", "sanctioned_load_kw": 10, "phase": "three"},
        "der": {"type": "solar_pv", "capacity_kw": 12},
        "scheme": "net_metering",
        "transformer": {"rating_kva": 100, "connected_der_kw": 0},
    }
    path = tmp_path / "der.json"
    path.write_text(json.dumps(document))
    args = [
        "eval",
        "--jurisdiction",
        "IN-KA",
        "--domain",
        "der_connection",
        "--input",
        str(path),
        "--as-of",
        "2025-06-01",
    ]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1, refused.output
    decision = json.loads(refused.stdout)
    assert [v["code"] for v in decision["violations"]] == ["DER-003"]
    document["der"]["capacity_kw"] = 8
    path.write_text(json.dumps(document))
    allowed = runner.invoke(app, args)
    assert allowed.exit_code == 0
    assert json.loads(allowed.stdout)["allow"] is True
