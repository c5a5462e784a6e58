"""A retail tariff as a machine-readable policy, and its IES ``IES_Policy`` form.

IES publishes tariffs as policy (DEG ``ies-specs``, ``IES_Policy``: ``policyType``
TARIFF, ``samplingInterval`` an ISO 8601 recurrence, ``energySlabs`` and
``surchargeTariffs``). A tariff order has three more parts a bill needs and
``IES_Policy`` does not name yet: the fixed (demand) charge, the electricity duty and
the order's period. They travel as extra members of the same object,
``fixedCharges``, ``electricityDuty`` and ``validity`` (the schema does not close
``IES_Policy`` to extra members), so a reader that knows only ``IES_Policy`` still
reads slabs and surcharges as published.

How the members are read (the schema's words, made exact for billing):

* ``samplingInterval`` ``R/{anchor}/P1M``: slabs are per month of consumption; the
  anchor's UTC offset is the tariff's local time, in which the time-of-day windows
  (``IES_TimeOfDay`` ``T18:00:00``, written without ``Z`` because they are local) are
  read.
* ``energySlabs``: ``start`` inclusive, ``end`` exclusive, ``null`` for the open top
  slab; the slabs tile 0 kWh upwards without gap or overlap (telescopic: each slab's
  price applies to the units inside it).
* ``surchargeTariffs``: recurrence ``P1D`` (daily windows); ``INR_PER_KWH`` adds that
  much per kWh used in the window, ``PERCENT`` adds that share of the bill's average
  energy rate per kWh used in the window; a negative value is a rebate.
* ``targets``: ``TARIFF_CATEGORY`` names the consumer category the tariff is for.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from policy_packs.tariffs.errors import TariffInvalid

IES_POLICY_CONTEXT = (
    "https://raw.githubusercontent.com/beckn/DEG/ies-specs/specification/external/"
    "schema/ies/core/context.jsonld"
)
CATEGORY_TARGET = "TARIFF_CATEGORY"
_RECURRENCE = re.compile(r"^R/(?P<anchor>[0-9T:+\-.Z]+)/P1M$")
_TIME_OF_DAY = re.compile(r"^T(\d{2}):(\d{2}):(\d{2})$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnergySlab(_Frozen):
    """kWh per month in [start, end) priced at ``price`` INR/kWh."""

    id: str = Field(min_length=1, max_length=64)
    start: Decimal = Field(ge=0)
    end: Decimal | None = None
    price: Decimal = Field(ge=0, le=100)


class TimeOfDayCharge(_Frozen):
    """A daily window (local time) whose kWh carry a surcharge, or a rebate if negative."""

    id: str = Field(min_length=1, max_length=64)
    start: time
    duration: timedelta = Field(gt=timedelta(0), le=timedelta(hours=24))
    value: Decimal
    unit: Literal["PERCENT", "INR_PER_KWH"] = "PERCENT"

    @model_validator(mode="after")
    def _rebate_bounded(self) -> TimeOfDayCharge:
        # A rebate of 100 % or more would make energy free or paid for: no order does it.
        if self.unit == "PERCENT" and not Decimal(-100) < self.value <= Decimal(100):
            raise ValueError(f"{self.id}: a percentage in (-100, 100] only")
        return self

    def covers(self, at: time) -> bool:
        """Whether a block starting at local time ``at`` falls in the window (windows
        may run past midnight, as a night rebate from 22:00 does)."""
        start = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        moment = at.hour * 3600 + at.minute * 60 + at.second
        return (moment - start) % 86400 < self.duration.total_seconds()


class FixedCharge(_Frozen):
    """INR per month, per connection or per kW of sanctioned load."""

    id: str = Field(min_length=1, max_length=64)
    basis: Literal["PER_CONNECTION", "PER_KW"]
    value: Decimal = Field(ge=0, le=100_000)


class TariffPolicy(_Frozen):
    """One consumer category's retail tariff of one discom for its validity period."""

    id: str = Field(min_length=1, max_length=128)
    policy_id: str = Field(min_length=1, max_length=64)
    policy_name: str = Field(min_length=1, max_length=200)
    program_id: str = Field(min_length=1, max_length=128)
    category: str | None = Field(default=None, min_length=1, max_length=40)  # None: any
    valid_from: date
    valid_to: date
    utc_offset: timedelta  # the tariff's local time (IST: +05:30)
    slabs: tuple[EnergySlab, ...] = Field(min_length=1)
    time_of_day: tuple[TimeOfDayCharge, ...] = ()
    fixed: tuple[FixedCharge, ...] = ()
    duty_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    created: datetime

    @model_validator(mode="after")
    def _slabs_tile(self) -> TariffPolicy:
        expected = Decimal(0)
        for n, slab in enumerate(self.slabs):
            if slab.start != expected:
                raise ValueError(f"slab {slab.id} starts at {slab.start}, not {expected} kWh")
            last = n == len(self.slabs) - 1
            if slab.end is None:
                if not last:
                    raise ValueError(f"slab {slab.id} is open but not the last")
                break
            if slab.end <= slab.start:
                raise ValueError(f"slab {slab.id} ends at or before its start")
            if last:
                raise ValueError("the last slab must be open (end null)")
            expected = slab.end
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to before valid_from")
        return self

    @property
    def zone(self) -> timezone:
        return timezone(self.utc_offset)

    # ------------------------------------------------------------------ IES form

    def to_ies(self) -> dict[str, Any]:
        """The ``IES_Policy`` object (JSON numbers for kWh, INR and percentages)."""
        anchor = datetime.combine(self.valid_from, time(0), self.zone).isoformat()
        stamp = self.created.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {
            "@context": IES_POLICY_CONTEXT,
            "@type": "IES_Policy",
            "id": self.id,
            "objectType": "POLICY",
            "createdDateTime": stamp,
            "modificationDateTime": stamp,
            "programID": self.program_id,
            "policyID": self.policy_id,
            "policyName": self.policy_name,
            "policyType": "TARIFF",
            "samplingInterval": f"R/{anchor}/P1M",
            "energySlabs": [
                {
                    "id": s.id,
                    "@type": "EnergySlab",
                    "start": _number(s.start),
                    "end": None if s.end is None else _number(s.end),
                    "price": _number(s.price),
                }
                for s in self.slabs
            ],
            "surchargeTariffs": [
                {
                    "id": t.id,
                    "@type": "SurchargeTariff",
                    "recurrence": "P1D",
                    "interval": {
                        "start": f"T{t.start.isoformat()}",
                        "duration": _duration(t.duration),
                    },
                    "value": _number(t.value),
                    "unit": t.unit,
                }
                for t in self.time_of_day
            ],
            "targets": [{"type": CATEGORY_TARGET, "values": [self.category]}]
            if self.category
            else [],
            "validity": {
                "startDate": self.valid_from.isoformat(),
                "endDate": self.valid_to.isoformat(),
            },
            "fixedCharges": [
                {"id": f.id, "basis": f.basis, "value": _number(f.value), "unit": "INR_PER_MONTH"}
                for f in self.fixed
            ],
            "electricityDuty": {"value": _number(self.duty_percent), "unit": "PERCENT"},
        }

    @classmethod
    def from_ies(cls, policy: Any) -> TariffPolicy:
        """Read an ``IES_Policy`` tariff; :class:`TariffInvalid` names what is wrong."""
        try:
            return cls._from_ies(policy)
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            raise TariffInvalid(f"not a tariff this stack can bill under: {exc}") from exc

    @classmethod
    def _from_ies(cls, policy: Any) -> TariffPolicy:
        if not isinstance(policy, dict):
            raise TypeError("an IES_Policy is a JSON object")
        if policy.get("objectType") != "POLICY" or policy.get("policyType") != "TARIFF":
            raise ValueError("objectType POLICY and policyType TARIFF are required")
        found = _RECURRENCE.match(str(policy.get("samplingInterval", "")))
        if found is None:
            raise ValueError("samplingInterval must be a monthly recurrence R/{start}/P1M")
        anchor = datetime.fromisoformat(found["anchor"].replace("Z", "+00:00"))
        offset = anchor.utcoffset()
        if offset is None:
            raise ValueError("samplingInterval's start needs a UTC offset")
        categories = [
            v
            for t in policy.get("targets") or []
            if t.get("type") == CATEGORY_TARGET
            for v in t.get("values") or []
        ]
        if len(categories) > 1:
            raise ValueError(f"one {CATEGORY_TARGET} per tariff, not {categories}")
        validity = policy.get("validity") or {}
        duty = policy.get("electricityDuty") or {"value": 0, "unit": "PERCENT"}
        if duty.get("unit") != "PERCENT":
            raise ValueError("electricityDuty is a percentage")
        return cls(
            id=policy["id"],
            policy_id=policy["policyID"],
            policy_name=policy.get("policyName") or policy["policyID"],
            program_id=policy["programID"],
            category=str(categories[0]) if categories else None,
            valid_from=date.fromisoformat(validity.get("startDate") or anchor.date().isoformat()),
            valid_to=date.fromisoformat(validity.get("endDate") or date.max.isoformat()),
            utc_offset=offset,
            slabs=tuple(
                EnergySlab(
                    id=s["id"],
                    start=_decimal(s["start"]),
                    end=None if s.get("end") is None else _decimal(s["end"]),
                    price=_decimal(s["price"]),
                )
                for s in policy["energySlabs"]
            ),
            time_of_day=tuple(_surcharge(t) for t in policy.get("surchargeTariffs") or []),
            fixed=tuple(
                FixedCharge(id=f["id"], basis=f["basis"], value=_decimal(f["value"]))
                for f in policy.get("fixedCharges") or []
                if f.get("unit", "INR_PER_MONTH") == "INR_PER_MONTH"
            ),
            duty_percent=_decimal(duty["value"]),
            created=datetime.fromisoformat(str(policy["createdDateTime"]).replace("Z", "+00:00")),
        )


def _surcharge(raw: dict[str, Any]) -> TimeOfDayCharge:
    if raw.get("recurrence", "P1D") != "P1D":
        raise ValueError(f"{raw.get('id')}: only daily (P1D) windows are billed")
    at = _TIME_OF_DAY.match(str(raw["interval"]["start"]).removesuffix("Z"))
    length = _DURATION.match(str(raw["interval"]["duration"]))
    if at is None or length is None or not (length[1] or length[2]):
        raise ValueError(f"{raw.get('id')}: interval start Thh:mm:ss and duration PTnHnM")
    return TimeOfDayCharge(
        id=raw["id"],
        start=time(int(at[1]), int(at[2]), int(at[3])),
        duration=timedelta(hours=int(length[1] or 0), minutes=int(length[2] or 0)),
        value=_decimal(raw["value"]),
        unit=raw.get("unit", "PERCENT"),
    )


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{value!r} is not a number")
    # str() of a float is its shortest round-trip form: 5.58 reads as 5.58, not 5.5799…
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a price or quantity") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _duration(length: timedelta) -> str:
    minutes = int(length.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
