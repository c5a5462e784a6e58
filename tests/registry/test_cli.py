"""``ies registry import FILE`` and ``ies registry resolve ID`` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.registry.test_imports_api import BROKEN, GOOD, HEADER


def ies(*args, url):
    env = {**os.environ, "IES_DATABASE_URL": url, "IES_PROGRESS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_import_then_resolve_both_ways(tmp_path, registry_url):
    good = tmp_path / "grid.csv"
    good.write_text(HEADER + "\n".join(GOOD) + "\n")
    first = ies("registry", "import", str(good), url=registry_url)
    assert first.returncode == 0, first.stderr
    assert "5 created" in first.stderr
    assert "import" in first.stderr  # the progress bar ran
    again = ies("registry", "import", str(good), url=registry_url)
    assert "0 created" in again.stderr
    assert "5 unchanged" in again.stderr

    found = ies("registry", "resolve", "meter_serial:SECURE:SM0001", url=registry_url)
    assert found.returncode == 0, found.stderr
    meter = json.loads(found.stdout)["ies_id"]
    back = json.loads(ies("registry", "resolve", meter.lower(), url=registry_url).stdout)
    assert back["identity"]["id"] == meter
    assert back["legacy_ids"][0]["legacy"]["value"] == "SM0001"
    assert back["relations"][0]["parent_type"] == "connection"


def test_a_file_with_broken_rows_reports_lines_and_exits_non_zero(tmp_path, registry_url):
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(HEADER + "\n".join(GOOD + BROKEN) + "\n")
    report = tmp_path / "report.json"
    result = ies("registry", "import", str(mixed), "--report", str(report), url=registry_url)
    assert result.returncode == 1
    assert "line 7" in result.stderr
    body = json.loads(report.read_text())
    assert (body["created"], body["failed"]) == (5, 5)


def test_an_atomic_import_with_broken_rows_writes_nothing(tmp_path, registry_url):
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(HEADER + "\n".join(GOOD + BROKEN) + "\n")
    result = ies("registry", "import", str(mixed), "--atomic", url=registry_url)
    assert result.returncode == 1
    assert "rejected" in result.stderr
    missing = ies("registry", "resolve", "meter_serial:SECURE:SM0001", url=registry_url)
    assert missing.returncode == 2
    assert "not mapped" in missing.stderr


def test_a_mistyped_identifier_is_refused_with_a_clear_message(registry_url):
    result = ies("registry", "resolve", "MTR-1234-5678-9012-3456", url=registry_url)
    assert result.returncode == 2
    assert "check digit" in result.stderr
