"""What can go wrong with a tariff pack or a bill, as problem details."""

from __future__ import annotations

from policy_packs.errors import PolicyProblem


class TariffInvalid(PolicyProblem):
    slug = "tariff-invalid"
    title = "The tariff pack is not a valid IES_Policy tariff"
    status = 422
    beckn_code = "40010"
    description = (
        "A required IES_Policy member is missing or malformed, the energy slabs do not "
        "tile 0 kWh upwards, or a time-of-day window or charge is out of range."
    )


class BillingRefused(PolicyProblem):
    slug = "tariff-billing-refused"
    title = "The bill cannot be computed from these readings"
    status = 422
    beckn_code = "40011"
    description = (
        "An interval lies outside the billing period, two intervals start at the same "
        "instant, a reading is negative, or the period is outside the tariff's validity."
    )
