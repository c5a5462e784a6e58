"""The consent's shapes: what an app may ask for, what a consumer approves, and the
rule that an approval may only ever narrow a request.

The fields follow India's Account Aggregator consent artefact (purpose, data
consumer, data provider, data types, date range, granularity, fetch type and
frequency, data life, expiry), recast for electricity. Pure: pydantic and stdlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class Status(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class DataType(StrEnum):
    INTERVAL_CONSUMPTION = "interval_consumption"
    BILLING = "billing"
    EVENTS = "events"
    NET_EXPORT = "net_export"

    @property
    def policy_data_type(self) -> str:
        """The policy packs' data type (docs/policy.md, consent domain)."""
        return "billing" if self is DataType.BILLING else "meter_data"


class Granularity(StrEnum):
    MIN15 = "15min"
    MIN30 = "30min"
    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def minutes(self) -> int | None:
        """Fixed length in minutes; None for calendar months."""
        return _MINUTES[self]

    @property
    def duration(self) -> str:
        """ISO 8601 duration, as MeterData's intervalPeriod.duration writes it."""
        return _DURATION[self]

    @property
    def policy_granularity(self) -> str:
        """The packs rank 15min < hourly < daily < monthly; 30-minute data is judged as
        15-minute data (the finer neighbour), so a pack never allows more than it says."""
        return "15min" if self is Granularity.MIN30 else self.value

    def at_least_as_coarse_as(self, other: Granularity) -> bool:
        return self.rank >= other.rank


_RANK = {
    Granularity.MIN15: 1,
    Granularity.MIN30: 2,
    Granularity.HOURLY: 3,
    Granularity.DAILY: 4,
    Granularity.MONTHLY: 5,
}
_MINUTES = {
    Granularity.MIN15: 15,
    Granularity.MIN30: 30,
    Granularity.HOURLY: 60,
    Granularity.DAILY: 1440,
    Granularity.MONTHLY: None,
}
_DURATION = {
    Granularity.MIN15: "PT15M",
    Granularity.MIN30: "PT30M",
    Granularity.HOURLY: "PT60M",
    Granularity.DAILY: "P1D",
    Granularity.MONTHLY: "P1M",
}


class FetchType(StrEnum):
    ONE_TIME = "one_time"
    PERIODIC = "periodic"


class FrequencyUnit(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def window(self) -> timedelta:
        return _WINDOW[self]


_WINDOW = {
    FrequencyUnit.HOUR: timedelta(hours=1),
    FrequencyUnit.DAY: timedelta(days=1),
    FrequencyUnit.WEEK: timedelta(days=7),
    FrequencyUnit.MONTH: timedelta(days=30),
    FrequencyUnit.YEAR: timedelta(days=365),
}


@dataclass(frozen=True, slots=True)
class Purpose:
    """One entry of the purpose list: a code the packs know and the words a consumer reads."""

    code: str
    category: str  # W3C DPV purpose the code is an instance of
    text: dict[str, str]  # language tag -> plain-language description


PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in (
        Purpose(
            "energy_advice",
            "dpv:ServiceProvision",
            {
                "en": "to advise you on how to use less electricity and lower your bill",
                "hi": "आपको बिजली की खपत और बिल कम करने की सलाह देने के लिए",
                "mr": "तुमचा वीजवापर आणि बिल कमी करण्याचा सल्ला देण्यासाठी",
            },
        ),
        Purpose(
            "solar_sizing",
            "dpv:ServiceProvision",
            {
                "en": "to size a rooftop solar system for your premises",
                "hi": "आपके परिसर के लिए छत पर सौर प्रणाली का आकार तय करने के लिए",
                "mr": "तुमच्या जागेसाठी छतावरील सौर यंत्रणेचा आकार ठरवण्यासाठी",
            },
        ),
        Purpose(
            "loan_underwriting",
            "dpv:CreditChecking",
            {
                "en": "to assess a loan you applied for",
                "hi": "आपके द्वारा आवेदित ऋण का आकलन करने के लिए",
                "mr": "तुम्ही अर्ज केलेल्या कर्जाचे मूल्यांकन करण्यासाठी",
            },
        ),
        Purpose(
            "p2p_settlement",
            "dpv:ServiceProvision",
            {
                "en": "to settle the electricity you trade with your neighbours",
                "hi": "आपके द्वारा पड़ोसियों से व्यापार की गई बिजली का निपटान करने के लिए",
                "mr": "तुम्ही शेजाऱ्यांशी व्यापार केलेल्या विजेचा हिशोब करण्यासाठी",
            },
        ),
        Purpose(
            "research",
            "dpv:ResearchAndDevelopment",
            {
                "en": "for research on electricity use",
                "hi": "बिजली उपयोग पर शोध के लिए",
                "mr": "वीजवापरावरील संशोधनासाठी",
            },
        ),
    )
}

# A meter serial or an IES/DID reference: printable, no separators that break a path.
MeterRef = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9:._\-]+$")]
PartyId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9:._\-/|]+$")]


class DateRange(BaseModel):
    """Inclusive calendar days, in the provider's local time (IST)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("the range ends before it starts")
        return self

    def within(self, other: DateRange) -> bool:
        return other.start <= self.start and self.end <= other.end

    def days(self) -> int:
        return (self.end - self.start).days + 1


class Frequency(BaseModel):
    """At most ``value`` fetches in any rolling ``unit``."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    value: int = Field(ge=1, le=1000)
    unit: FrequencyUnit


class Scope(BaseModel):
    """What a consent covers; the unit of narrowing."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)

    meters: tuple[MeterRef, ...] = Field(min_length=1, max_length=16)
    data_types: tuple[DataType, ...] = Field(min_length=1, max_length=4)
    date_range: DateRange
    granularity: Granularity
    fetch_type: FetchType
    frequency: Frequency
    data_life_days: int = Field(ge=1, le=3650)
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _canonical(self) -> Scope:
        if len(set(self.meters)) != len(self.meters):
            raise ValueError("meters repeat")
        if len(set(self.data_types)) != len(self.data_types):
            raise ValueError("data types repeat")
        if self.fetch_type is FetchType.ONE_TIME and self.frequency.value != 1:
            raise ValueError("a one-time fetch has a frequency of 1")
        return self

    def within(self, wider: Scope) -> bool:
        """True when every dimension of this scope is inside ``wider``'s."""
        return (
            set(self.meters) <= set(wider.meters)
            and set(self.data_types) <= set(wider.data_types)
            and self.date_range.within(wider.date_range)
            and self.granularity.at_least_as_coarse_as(wider.granularity)
            and _fetches(self) <= _fetches(wider)
            and self.data_life_days <= wider.data_life_days
            and self.expires_at <= wider.expires_at
        )


def _fetches(scope: Scope) -> tuple[int, float]:
    """An order on fetch allowances: one-time < any periodic; then fetches per second."""
    if scope.fetch_type is FetchType.ONE_TIME:
        return (0, 0.0)
    return (1, scope.frequency.value / scope.frequency.unit.window.total_seconds())


class Narrowing(BaseModel):
    """What a consumer may change when approving: each field only makes the scope smaller."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)

    meters: tuple[MeterRef, ...] | None = Field(default=None, min_length=1, max_length=16)
    data_types: tuple[DataType, ...] | None = Field(default=None, min_length=1, max_length=4)
    date_range: DateRange | None = None
    granularity: Granularity | None = None
    fetch_type: FetchType | None = None
    frequency: Frequency | None = None
    data_life_days: int | None = Field(default=None, ge=1, le=3650)
    expires_at: AwareDatetime | None = None


class NotNarrower(ValueError):
    """The approval would widen what the app asked for."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"an approval may only narrow the request; wider: {', '.join(fields)}")
        self.fields = fields


def narrow(requested: Scope, change: Narrowing) -> Scope:
    """The approved scope: ``requested`` with ``change`` applied, refused unless narrower."""
    values = requested.model_dump(by_alias=True)
    for name, value in change.model_dump(by_alias=True, exclude_none=True).items():
        values[name] = value
    if change.fetch_type is FetchType.ONE_TIME and change.frequency is None:
        values["frequency"] = {"value": 1, "unit": requested.frequency.unit}
    approved = Scope.model_validate(values, strict=False)
    wider = [name for name, ok in _dimension_checks(approved, requested) if not ok]
    if wider:
        raise NotNarrower(wider)
    return approved


def _dimension_checks(a: Scope, b: Scope) -> list[tuple[str, bool]]:
    return [
        ("meters", set(a.meters) <= set(b.meters)),
        ("data_types", set(a.data_types) <= set(b.data_types)),
        ("date_range", a.date_range.within(b.date_range)),
        ("granularity", a.granularity.at_least_as_coarse_as(b.granularity)),
        ("frequency", _fetches(a) <= _fetches(b)),
        ("data_life_days", a.data_life_days <= b.data_life_days),
        ("expires_at", a.expires_at <= b.expires_at),
    ]


class ConsentRequestBody(BaseModel):
    """What a registered app signs and sends to ask a consumer for consent."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    request_id: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9._\-]+$",
        description="The app's own id for this request; a retry with the same id is idempotent",
    )
    data_consumer: PartyId = Field(description="The app's subscriber id (must be the signer)")
    data_provider: PartyId = Field(description="The discom holding the data (subscriber id)")
    jurisdiction: str = Field(pattern=r"^IN(-[A-Z]{2})?$", description="The provider's state")
    consumer_id: PartyId = Field(description="The consumer (data principal) asked")
    purpose: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    scope: Scope
    languages: tuple[str, ...] = Field(
        default=("en", "hi"), min_length=1, max_length=4, description="Notice languages"
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
