"""AT&C loss = 1 − billing efficiency × collection efficiency: a hand-worked example,
and the properties any energy account must keep."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.filings.losses import FeederAccount, LossInputInvalid, atc_loss, combined


def test_a_hand_worked_feeder():
    # 1,000 MWh in; 850 MWh billed (BE 0.85); INR 5.0 crore billed, 4.5 crore collected
    # (CE 0.90): AT&C = 1 − 0.85 × 0.90 = 0.235, i.e. 23.5 %.
    account = FeederAccount("F", 1_000_000, 850_000, 5.0e7, 4.5e7)
    loss = atc_loss(account)
    assert loss.billing_efficiency == pytest.approx(0.85)
    assert loss.collection_efficiency == pytest.approx(0.90)
    assert loss.atc_loss == pytest.approx(0.235)
    assert loss.atc_loss_pct == 23.5


def test_a_discom_is_summed_before_the_ratios_not_averaged():
    big = FeederAccount("big", 9000, 8100, 900, 900)  # 10 % loss
    small = FeederAccount("small", 1000, 500, 100, 100)  # 50 % loss
    total = atc_loss(combined("discom", [big, small]))
    # (8600 / 10000) x (1000 / 1000) = 0.86: 14 %, not the 30 % mean of the feeders.
    assert total.atc_loss_pct == 14.0


@pytest.mark.parametrize(
    "figures",
    [(0, 0, 0, 0), (-1, 0, 0, 0), (10, -1, 0, 0), (10, 5, float("nan"), 1), (10, 5, 0, 3),
     (float("inf"), 1, 1, 1)],
)  # fmt: skip
def test_an_account_the_formula_cannot_take_is_refused(figures):
    with pytest.raises(LossInputInvalid):
        FeederAccount("F", *figures)


def test_nothing_billed_is_a_total_loss():
    assert atc_loss(FeederAccount("F", 100, 0, 0, 0)).atc_loss == 1.0


def test_no_accounts_cannot_be_combined():
    with pytest.raises(LossInputInvalid):
        combined("discom", [])


energy = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False)
share = st.floats(min_value=0, max_value=1)
accounts = st.builds(
    lambda input_kwh, billed, rupees, paid: FeederAccount(
        "F", input_kwh, input_kwh * billed, rupees, rupees * paid
    ),
    energy, share, st.floats(min_value=1, max_value=1e10), share,
)  # fmt: skip


@given(accounts)
def test_efficiencies_are_ratios_and_the_loss_is_their_complement(account):
    loss = atc_loss(account)
    assert 0 <= loss.billing_efficiency <= 1 + 1e-12
    assert 0 <= loss.collection_efficiency <= 1 + 1e-12
    assert -1e-12 <= loss.atc_loss <= 1
    assert loss.atc_loss == pytest.approx(1 - loss.billing_efficiency * loss.collection_efficiency)
    # Losses are never smaller than the energy lost before billing.
    assert loss.atc_loss >= 1 - loss.billing_efficiency - 1e-9


@given(accounts, st.floats(min_value=0, max_value=1))
def test_collecting_less_never_lowers_the_loss(account, fraction):
    less = FeederAccount(account.feeder, account.input_kwh, account.billed_kwh,
                         account.billed_inr, account.collected_inr * fraction)  # fmt: skip
    assert atc_loss(less).atc_loss >= atc_loss(account).atc_loss - 1e-12


@given(st.lists(accounts, min_size=1, max_size=8))
def test_a_discom_loss_lies_between_its_feeders_when_all_is_collected(feeders):
    collected = [FeederAccount(f.feeder, f.input_kwh, f.billed_kwh, f.billed_inr, f.billed_inr)
                 for f in feeders]  # fmt: skip
    total = atc_loss(combined("discom", collected)).atc_loss
    each = [atc_loss(f).atc_loss for f in collected]
    assert min(each) - 1e-9 <= total <= max(each) + 1e-9


@given(accounts, st.floats(min_value=1e-3, max_value=1e3))
def test_the_loss_does_not_depend_on_the_units(account, scale):
    scaled = FeederAccount(account.feeder, account.input_kwh * scale, account.billed_kwh * scale,
                           account.billed_inr / scale, account.collected_inr / scale)  # fmt: skip
    assert atc_loss(scaled).atc_loss == pytest.approx(atc_loss(account).atc_loss, abs=1e-9)
