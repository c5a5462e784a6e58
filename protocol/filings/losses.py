"""Aggregate technical and commercial (AT&C) losses of a feeder and of a discom (pure).

The Ministry of Power's definition (RDSS, and the CEA's uniform methodology)::

    billing efficiency     BE  = billed energy (kWh) / input energy (kWh)
    collection efficiency  CE  = amount collected (INR) / amount billed (INR)
    AT&C loss              = 1 − BE × CE        (a fraction; × 100 for per cent)

Input energy is what entered the feeder at the substation (the feeder meter's or
SCADA's integrated totals, less any reverse flow), billed energy what the CIS billed
the consumers below it for the same period; both in kWh. Amounts are in rupees; only
their ratio enters, so any one currency scale would do. Collections may exceed the
period's billing (arrears recovered), so CE is not capped at 1 and AT&C loss can be
negative for a feeder; billed energy above input energy (BE > 1) is not physical and
is what the regulator's energy-balance rule refuses (a data error, never a gain).

A discom's figure is not the mean of its feeders': energies and amounts are summed
first, then the same formula applied (a small feeder must not weigh as a large one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class LossInputInvalid(ValueError):
    """A feeder account the formula cannot be applied to (no input, no billing, negative)."""


@dataclass(frozen=True, slots=True)
class FeederAccount:
    """One feeder's energy account for a period: kWh in and billed, INR billed and collected."""

    feeder: str
    input_kwh: float
    billed_kwh: float
    billed_inr: float
    collected_inr: float

    def __post_init__(self) -> None:
        for name in ("input_kwh", "billed_kwh", "billed_inr", "collected_inr"):
            value = getattr(self, name)
            if not value >= 0 or value == float("inf"):  # also refuses NaN
                raise LossInputInvalid(f"{self.feeder}: {name} must be a finite number >= 0")
        if self.input_kwh == 0:
            raise LossInputInvalid(f"{self.feeder}: no input energy, so no losses can be stated")
        if self.billed_inr == 0 and self.collected_inr > 0:
            raise LossInputInvalid(f"{self.feeder}: collections against no billing")


@dataclass(frozen=True, slots=True)
class AtcLoss:
    """The figures derived from an account (fractions, not per cent)."""

    billing_efficiency: float
    collection_efficiency: float
    atc_loss: float

    @property
    def atc_loss_pct(self) -> float:
        return round(self.atc_loss * 100, 2)


def atc_loss(account: FeederAccount) -> AtcLoss:
    """AT&C loss of one account: ``1 − (billed/input) × (collected/billed)``.

    With nothing billed, collection efficiency is taken as 1 (nothing was due): the
    whole input is then lost through billing, and the loss is 100 %.
    """
    billing = account.billed_kwh / account.input_kwh
    collection = account.collected_inr / account.billed_inr if account.billed_inr else 1.0
    return AtcLoss(billing, collection, 1 - billing * collection)


def combined(feeder: str, accounts: Sequence[FeederAccount]) -> FeederAccount:
    """The accounts summed into one (a discom's, a circle's): sums first, ratios after."""
    if not accounts:
        raise LossInputInvalid("no feeder accounts to combine")
    return FeederAccount(
        feeder,
        sum(a.input_kwh for a in accounts),
        sum(a.billed_kwh for a in accounts),
        sum(a.billed_inr for a in accounts),
        sum(a.collected_inr for a in accounts),
    )
