"""A consumer's bill under a :class:`~policy_packs.tariffs.models.TariffPolicy`, from
15-minute interval data.

The rules, in order (every figure a :class:`~decimal.Decimal`, nothing in floats):

1. Energy: each block's import is counted in whole Wh (what a meter's block-load
   register holds; :func:`kwh` rounds half-up to 0.001 kWh). The billing period is
   whole local days, ``first`` to ``last``; every block must start inside it, once.
2. Slabs are per month (``P1M``). A period of D days is billed against slabs
   pro-rated to D/30 of a month, each boundary rounded half-up to the Wh, as the
   tariff orders pro-rate slabs for billing periods other than a month. Telescopic:
   each slab's price applies to the units inside it.
3. Time of day: each window's kWh are the blocks that *start* inside it (local time).
   ``INR_PER_KWH`` adds value x kWh; ``PERCENT`` adds value % of the bill's average
   energy rate (energy charge / kWh, unrounded) x the window's kWh.
4. Fixed charges: the monthly charge (per connection, or per kW sanctioned) x D/30.
5. Electricity duty: its percentage of the sum of the rounded energy, time-of-day and
   fixed lines.

Rounding: every line is rounded half-up to the paisa once, from the exact figure; the
energy charge, time-of-day total, fixed total and the bill are sums of rounded lines,
so the bill is exactly the sum of its parts and two parties applying these rules to
the same blocks agree to the paisa.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from policy_packs.tariffs.errors import BillingRefused
from policy_packs.tariffs.models import TariffPolicy

WH = Decimal("0.001")
PAISA = Decimal("0.01")
MONTH_DAYS = 30


def kwh(value: float | Decimal | str) -> Decimal:
    """A reading in whole Wh (kWh to three places, half-up): the unit bills count in."""
    return Decimal(str(value)).quantize(WH, rounding=ROUND_HALF_UP)


def _text(value: Decimal) -> str:
    """One spelling per number (6.75, never 6.750 or 6.75E+0): whoever wrote a rate as
    a JSON number or a string, two bills that agree read the same."""
    return format(value.normalize(), "f") if value else "0"


def _paise(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Interval:
    """One block's import: its start (timezone-aware) and kWh."""

    start: datetime
    kwh: Decimal


@dataclass(frozen=True, slots=True)
class BillLine:
    code: str  # energy:{slab id}, tod:{window id}, fixed:{charge id}, duty
    quantity: Decimal  # kWh, or kW x months, or the INR the duty is levied on
    rate: Decimal  # INR per unit of quantity (a duty's as a fraction)
    amount: Decimal  # INR, to the paisa


@dataclass(frozen=True, slots=True)
class Bill:
    policy_id: str
    first: date
    last: date
    blocks: int
    kwh: Decimal
    lines: tuple[BillLine, ...]

    def _sum(self, prefix: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.code.startswith(prefix)), Decimal(0))

    @property
    def energy(self) -> Decimal:
        return self._sum("energy:")

    @property
    def time_of_day(self) -> Decimal:
        return self._sum("tod:")

    @property
    def fixed(self) -> Decimal:
        return self._sum("fixed:")

    @property
    def duty(self) -> Decimal:
        return self._sum("duty")

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def to_json(self) -> dict[str, object]:
        """Amounts as strings of paise-exact decimals (a float would lose the paisa),
        quantities and rates in their shortest exact spelling."""
        return {
            "policyID": self.policy_id,
            "period": {"from": self.first.isoformat(), "to": self.last.isoformat()},
            "blocks": self.blocks,
            "kwh": _text(self.kwh),
            "lines": [
                {
                    "code": x.code,
                    "quantity": _text(x.quantity),
                    "rate": _text(x.rate),
                    "amount": str(x.amount),
                }
                for x in self.lines
            ],
            "energy": str(self.energy),
            "timeOfDay": str(self.time_of_day),
            "fixed": str(self.fixed),
            "duty": str(self.duty),
            "total": str(self.total),
        }


def compute_bill(
    policy: TariffPolicy,
    intervals: Sequence[Interval],
    first: date,
    last: date,
    sanctioned_kw: Decimal,
) -> Bill:
    """The bill for the whole local days ``first``..``last`` (module docstring's rules)."""
    if last < first:
        raise BillingRefused(f"the period ends ({last}) before it starts ({first})")
    if first < policy.valid_from or last > policy.valid_to:
        raise BillingRefused(
            f"{first}..{last} is outside {policy.policy_id}'s validity "
            f"{policy.valid_from}..{policy.valid_to}"
        )
    if sanctioned_kw < 0:
        raise BillingRefused("a negative sanctioned load")
    zone = policy.zone
    opens = datetime.combine(first, datetime.min.time(), zone)
    closes = datetime.combine(last, datetime.min.time(), zone) + timedelta(days=1)
    seen: set[datetime] = set()
    blocks: list[tuple[datetime, Decimal]] = []
    for interval in intervals:
        if interval.start.tzinfo is None:
            raise BillingRefused(f"block {interval.start.isoformat()} has no UTC offset")
        if not opens <= interval.start < closes:
            raise BillingRefused(f"block {interval.start.isoformat()} is outside the period")
        if interval.start in seen:
            raise BillingRefused(f"two blocks start at {interval.start.isoformat()}")
        if interval.kwh < 0:
            raise BillingRefused(f"block {interval.start.isoformat()}: a negative reading")
        seen.add(interval.start)
        blocks.append((interval.start.astimezone(zone), kwh(interval.kwh)))
    days = (last - first).days + 1
    total = sum((k for _, k in blocks), Decimal(0))
    lines: list[BillLine] = []

    # 2. Telescopic slabs pro-rated to the period.
    energy_exact = Decimal(0)
    for slab in policy.slabs:
        low = (slab.start * days / MONTH_DAYS).quantize(WH, rounding=ROUND_HALF_UP)
        high = (
            None
            if slab.end is None
            else (slab.end * days / MONTH_DAYS).quantize(WH, rounding=ROUND_HALF_UP)
        )
        units = max(Decimal(0), (total if high is None else min(total, high)) - low)
        energy_exact += units * slab.price
        lines.append(BillLine(f"energy:{slab.id}", units, slab.price, _paise(units * slab.price)))

    # 3. Time-of-day surcharges and rebates.
    for window in policy.time_of_day:
        used = sum((k for at, k in blocks if window.covers(at.timetz())), Decimal(0))
        if window.unit == "INR_PER_KWH":
            rate = window.value
        else:
            average = energy_exact / total if total else Decimal(0)
            rate = window.value * average / 100
        lines.append(BillLine(f"tod:{window.id}", used, rate, _paise(used * rate)))

    # 4. Fixed charges for the days billed.
    for charge in policy.fixed:
        basis = sanctioned_kw if charge.basis == "PER_KW" else Decimal(1)
        months = basis * days / MONTH_DAYS
        lines.append(
            BillLine(f"fixed:{charge.id}", months, charge.value, _paise(charge.value * months))
        )

    # 5. Electricity duty on the rounded charges.
    if policy.duty_percent:
        base = sum((line.amount for line in lines), Decimal(0))
        fraction = policy.duty_percent / 100
        lines.append(BillLine("duty", base, fraction, _paise(base * fraction)))
    return Bill(policy.policy_id, first, last, len(blocks), total, tuple(lines))
