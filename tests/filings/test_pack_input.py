"""What the inbox asks the pack: the ArrFiling's line items in crore, the AT&C loss the
regulator computed itself, every feeder's balance; and the year the filing is for."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.filings.models import FilingUnreadable, Submission, pack_input, year_start
from tests.filings.conftest import submission


def read(body: dict) -> Submission:
    return Submission.model_validate_json(json.dumps(body))


def test_the_filing_domain_input_is_read_from_the_filing_and_its_account():
    body = submission()
    document = pack_input(read(body), date(2026, 11, 24))
    fields = document["fields"]
    # ABSOLUTE rupees to crore: INR 1.2e7 is 1.2 crore; revenue credits change sign.
    assert fields["aggregate_revenue_requirement_inr_crore"] == 1.2
    assert fields["expected_revenue_inr_crore"] == 1.1
    assert fields["revenue_gap_inr_crore"] == 0.1
    assert fields["power_purchase_cost_inr_crore"] == 0.96
    assert fields["sales_forecast_mu"] == 80.5
    assert fields["loss_reduction_plan"] == "RDSS action plan"
    # 1 − (1580/1800) × (11150/12000) = 18.44 %
    assert document["metrics"] == {"atc_loss_pct": 18.44, "rpo_achieved_pct": 34.2}
    assert document["feeders"][1] == {"feeder": "F2", "input_kwh": 800.0, "billed_kwh": 680.0}
    assert document["filing_type"] == "arr"
    assert document["submitted_on"] == "2026-11-24"
    label = body["arrFiling"]["fiscalYears"][0]["fiscalYear"]
    assert document["year_start"] == f"{label[3:7]}-04-01"


def test_a_missing_line_item_becomes_an_empty_field_for_the_pack_to_cite():
    body = submission()
    items = body["arrFiling"]["fiscalYears"][0]["lineItems"]
    body["arrFiling"]["fiscalYears"][0]["lineItems"] = [
        i for i in items if i["lineItemId"] != "revenue-gap"
    ]
    document = pack_input(read(body), date(2026, 11, 24))
    assert document["fields"]["revenue_gap_inr_crore"] == ""


def test_a_crore_filing_is_not_scaled():
    body = submission()
    body["arrFiling"]["unitScale"] = "CRORE"
    document = pack_input(read(body), date(2026, 11, 24))
    assert document["fields"]["aggregate_revenue_requirement_inr_crore"] == 1.2e7


@given(st.integers(min_value=2000, max_value=2098))
def test_a_fiscal_year_label_dates_its_first_of_april(year):
    assert year_start(f"FY {year}-{(year + 1) % 100:02d}") == date(year, 4, 1)


@pytest.mark.parametrize("label", ["FY 2027-29", "2027-28", "FY 27-28", "FY 2027-2028", ""])
def test_a_label_not_of_the_indian_form_is_unreadable(label):
    with pytest.raises(FilingUnreadable):
        year_start(label)
