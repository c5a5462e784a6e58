"""DISCOM Regulatory Filing in the sandbox: what crossed the network, held against the
official ArrFiling v0.5 schema, and the supersession history the regulator kept."""

from __future__ import annotations

import pytest

from tests.filings.oracle import ARRFILING, official_errors
from tests.sandbox.conftest import SandboxRun

pytestmark = pytest.mark.slow


def _payloads(run: SandboxRun, kind: str) -> list[dict]:
    return [item["payload"] for item in run.evidence(kind)]


def test_the_use_case_passes(sandbox_run: SandboxRun):
    row = next(line for line in sandbox_run.stdout.splitlines() if "DISCOM Regulatory" in line)
    assert "not built" not in row
    assert "FAIL" not in row


def test_every_filing_sent_is_a_valid_arr_filing(sandbox_run: SandboxRun):
    filings = _payloads(sandbox_run, "ArrFiling")
    assert len(filings) == 3  # MSEDCL's first and its correction, BESCOM's
    if not ARRFILING.is_dir():
        pytest.skip("../shared is not here: the official schema is the oracle")
    for filing in filings:
        assert official_errors(filing) == [], filing["id"]
    submissions = _payloads(sandbox_run, "FilingSubmission")
    assert [s["arrFiling"] for s in submissions] == filings


def test_the_unit_slip_was_sent_back_and_its_correction_supersedes_it(sandbox_run: SandboxRun):
    first, corrected, bescom = _payloads(sandbox_run, "FilingReceipt")
    assert first["status"] == "CORRECTIONS_REQUESTED"
    assert [v["code"] for v in first["decision"]["violations"]] == ["FIL-006"]
    assert "MSEDCL-F2" in first["decision"]["violations"][0]["message"]
    assert (corrected["status"], corrected["version"]) == ("ACKNOWLEDGED", 2)
    assert corrected["supersedes"] == first["id"]
    assert corrected["docket"] == first["docket"] == first["id"]
    assert bescom["status"] == "ACKNOWLEDGED"
    assert (bescom["version"], bescom["decision"]["pack_id"]) == (1, "in-ka")
    sent = _payloads(sandbox_run, "FilingSubmission")
    assert sent[1]["arrFiling"]["filingType"] == "REVISED"
    assert sent[1]["supersedes"] == first["id"]
    # The slip: MSEDCL-F2 billed a thousand times what the corrected register says.
    slipped = {f["feeder"]: f["billedKwh"] for f in sent[0]["energyAccount"]["feeders"]}
    fixed = {f["feeder"]: f["billedKwh"] for f in sent[1]["energyAccount"]["feeders"]}
    assert slipped["MSEDCL-F2"] == pytest.approx(fixed["MSEDCL-F2"] * 1000, rel=1e-3)
    assert slipped["MSEDCL-F1"] == fixed["MSEDCL-F1"]


def test_the_regulator_recomputed_the_losses_from_the_energy_account(sandbox_run: SandboxRun):
    sent = _payloads(sandbox_run, "FilingSubmission")
    for submission, receipt in zip(sent, _payloads(sandbox_run, "FilingReceipt"), strict=True):
        for line, figures in zip(
            submission["energyAccount"]["feeders"], receipt["feeders"], strict=True
        ):
            billing = line["billedKwh"] / line["inputKwh"]
            collection = line["collectedInr"] / line["billedInr"]
            assert figures["atc_loss_pct"] == pytest.approx(
                round((1 - billing * collection) * 100, 2)
            )
