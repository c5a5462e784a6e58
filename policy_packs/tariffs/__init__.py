"""Tariffs as machine-readable policy: the IES ``IES_Policy`` pack a discom publishes
(:mod:`policy_packs.tariffs.models`) and the bill computed under it from a consumer's
15-minute interval data (:mod:`policy_packs.tariffs.billing`). Pure: no HTTP, no SQL."""

from policy_packs.tariffs.billing import Bill, BillLine, Interval, compute_bill, kwh
from policy_packs.tariffs.errors import BillingRefused, TariffInvalid
from policy_packs.tariffs.models import (
    EnergySlab,
    FixedCharge,
    TariffPolicy,
    TimeOfDayCharge,
)

__all__ = [
    "Bill",
    "BillLine",
    "BillingRefused",
    "EnergySlab",
    "FixedCharge",
    "Interval",
    "TariffInvalid",
    "TariffPolicy",
    "TimeOfDayCharge",
    "compute_bill",
    "kwh",
]
